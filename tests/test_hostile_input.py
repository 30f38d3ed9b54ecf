"""Hostile and careless input: each case ends in one clean line (exit 2), or is accepted on purpose.

Every case runs `search` in-process as a user would type it. A traceback would escape as an
exception and fail the test; a clean error must be one short line that names the culprit, and
nothing may be left in runs/ that was not there before.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import yaml
from safetensors.torch import save_file

from search.cli import main
from search.store.checkpoint import CONFIG, WEIGHTS
from search.trainer.model import create_model
from tests.conftest import SMALL_STUDY, image_folder, write_study

BASE = yaml.safe_load(SMALL_STUDY)


def _study(workdir: Path, **changes) -> list[str]:
    data = {**BASE, **changes}
    write_study(workdir, "h", yaml.safe_dump(data, sort_keys=False))
    return ["run", "--study", "h", "--quiet"]


def _train_with(workdir: Path, **changes) -> list[str]:
    return _study(workdir, train={**BASE["train"], **changes})


def _raw_study(text: bytes) -> Callable[[Path], list[str]]:
    def setup(workdir: Path) -> list[str]:
        (workdir / "studies" / "h.yaml").write_bytes(text)
        return ["run", "--study", "h"]

    return setup


BOMB = b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n".encode()
    for i in range(8)
)


def _secret_file(workdir: Path) -> list[str]:
    (workdir / "shadow").write_text("root:SECRETLINE:19000:0:99999:7:::\n")
    return ["run", "--study", str(workdir / "shadow")]


def _folder_study(workdir: Path, build: Callable[[Path], None], **data) -> list[str]:
    root = image_folder(workdir / "imgs", {"a": 6, "b": 6}, mode="L", size=8)
    build(root)
    return _train_with(workdir, data={"path": str(root), "image_size": 8, **data})


def _undecodable_class(root: Path) -> None:
    for png in (root / "b").iterdir():
        png.write_bytes(b"not an image")


def _alias_to_root(root: Path) -> None:
    os.symlink(".", root / "dogs_alias")


def _rare_class(root: Path) -> None:
    image_folder(root, {"rare": 2}, mode="L", size=8)


def _file_in_the_way(workdir: Path, *argv: str) -> list[str]:
    (workdir / "afile").write_text("")
    return [*_study(workdir), *argv]


def _corrupt_sqlite(workdir: Path, argv: list[str]) -> list[str]:
    db = workdir / "runs" / "search.db"
    db.parent.mkdir()
    study = optuna.create_study(study_name="small", storage=f"sqlite:///{db}")
    for i in range(200):
        study.enqueue_trial({"x": i})
    with sqlite3.connect(db) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(db.read_bytes())
    page = len(data) // pages
    for p in range(2, pages):  # every page but the schema's: the header still opens
        data[p * page + 16 : (p + 1) * page - 16] = b"\xa5" * (page - 32)
    db.write_bytes(bytes(data))
    return argv


def _foreign_study(workdir: Path, argv: list[str]) -> list[str]:
    storage = f"sqlite:///{workdir / 'runs' / 'search.db'}"
    (workdir / "runs").mkdir()
    study = optuna.create_study(study_name="h", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    _study(workdir)
    return argv


def _checkpoint(workdir: Path, weights: bytes | None, model: str = "test_resnet") -> list[str]:
    ckpt = workdir / "ckpt"
    ckpt.mkdir()
    (ckpt / CONFIG).write_text(yaml.safe_dump({"model": model, "data": {"name": "mnist"}}))
    if weights is None:  # a real state_dict of test_resnet
        state = create_model("test_resnet", num_classes=10, in_chans=1).state_dict()
        save_file({k: v.contiguous() for k, v in state.items()}, str(ckpt / WEIGHTS))
    else:
        (ckpt / WEIGHTS).write_bytes(weights)
    return ["evaluate", "--checkpoint", str(ckpt)]


def _train_config(workdir: Path, text: str) -> list[str]:
    (workdir / "empty.yaml").write_text(text)
    return ["train", "--config", "empty.yaml"]


# (case, setup(workdir) -> argv, words the one line must hold, words it must not hold)
CASES = [
    ("nested-brackets", _raw_study(b"train: " + b"[" * 2000), "nested too deeply", ""),
    ("not-utf8", _raw_study(b"train: {model: \xff\xfe}\n"), "not UTF-8", ""),
    ("alias-bomb", _raw_study(BOMB), "expands to more than", ""),
    ("huge-value", lambda w: _train_with(w, opt="x" * 100_000), "unknown optimizer", "x" * 81),
    ("not-a-study-file", _secret_file, "must end in .yaml", "SECRETLINE"),
    ("lr-inf", lambda w: _train_with(w, lr=float("inf")), "train.lr: must be a finite", ""),
    ("seed-huge", lambda w: _train_with(w, seed=10**23), "train.seed", ""),
    ("seed-negative", lambda w: _train_with(w, seed=-1), "train.seed: must be >= 0", ""),
    (
        "sampler-option-type",
        lambda w: _study(w, sampler={"name": "tpe", "options": {"n_startup_trials": "abc"}}),
        "sampler.options",
        "",
    ),
    (
        "pruner-option-type",
        lambda w: _study(w, pruner={"name": "median", "options": {"n_warmup_steps": "x"}}),
        "pruner.options",
        "",
    ),
    (
        "over-memory-budget",
        lambda w: _train_with(w, data={"name": "mnist", "image_size": 1024, "memory_gb": 0.5}),
        "train.data.image_size: the decoded images would take 5.2 GB",
        "",
    ),
    ("class-all-undecodable", lambda w: _folder_study(w, _undecodable_class), "class b", ""),
    ("class-links-to-root", lambda w: _folder_study(w, _alias_to_root), "links to", ""),
    ("too-few-named", lambda w: _folder_study(w, _rare_class), "class rare has 2 images", ""),
    ("name-newline", lambda w: [*_study(w), "--name", "nl\n"], "not a safe study name", ""),
    ("name-empty", lambda w: [*_study(w), "--name", ""], "not a safe study name", ""),
    ("seed-arg-negative", lambda w: [*_study(w), "--seed", "-1"], "a seed must be 0 to", ""),
    ("timeout-nan", lambda w: [*_study(w), "--timeout", "nan"], "--timeout", ""),
    ("budget-words", lambda w: _study(w, budget="soon"), "budget: 'soon' is not a duration", ""),
    ("budget-zero", lambda w: _study(w, budget="0m"), "budget: must be > 0", ""),
    ("budget-arg-unit", lambda w: [*_study(w), "--budget", "2 weeks"], "--budget", ""),
    (
        "storage-in-proc",
        lambda w: [*_study(w), "--storage", "sqlite:////proc/nope/search.db"],
        "--storage",
        "",
    ),
    (
        "storage-under-a-file",
        lambda w: _file_in_the_way(w, "--storage", "sqlite:///afile/x.db"),
        "is a file",
        "",
    ),
    (
        "artifacts-under-a-file",
        lambda w: _file_in_the_way(w, "--artifacts", "afile/store"),
        "--artifacts afile/store",
        "",
    ),
    (
        "unreachable-postgres",
        lambda w: ["studies", "--storage", "postgresql+psycopg2://u:S3cret@127.0.0.1:1/db"],
        "cannot open storage",
        "S3cret",
    ),
    (
        "password-in-query",
        lambda w: [
            "studies",
            "--storage",
            "postgresql+psycopg2://u@127.0.0.1:1/db?password=S3cret",
        ],
        "password=***",
        "S3cret",
    ),
    ("corrupt-db-studies", lambda w: _corrupt_sqlite(w, ["studies"]), "storage", ""),
    ("corrupt-db-trials", lambda w: _corrupt_sqlite(w, ["trials", "--study", "small"]), "", ""),
    ("corrupt-db-best", lambda w: _corrupt_sqlite(w, ["best", "--study", "small"]), "", ""),
    ("foreign-study-run", lambda w: _foreign_study(w, _study(w)), "not created by", ""),
    (
        "foreign-study-export",
        lambda w: _foreign_study(w, ["export", "--study", "h", "-o", "x.yaml"]),
        "not created by",
        "",
    ),
    ("dashboard-empty-dir", lambda w: ["dashboard"], "no studies yet", ""),
    ("weights-empty", lambda w: _checkpoint(w, b""), "not a readable weights file", ""),
    ("weights-pickle", lambda w: _checkpoint(w, b"\x80\x04K\x01."), "not a readable weights", ""),
    (
        "weights-other-model",
        lambda w: _checkpoint(w, None, model="test_vit"),
        "do not fit the model",
        "",
    ),
    ("train-empty-config", lambda w: _train_config(w, ""), "empty.yaml: is empty", ""),
]


@pytest.mark.parametrize("case, setup, words, absent", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_clean_line(workdir, capsys, case, setup, words, absent):
    argv = setup(workdir)
    before = (
        sorted(str(p) for p in (workdir / "runs").rglob("*"))
        if (workdir / "runs").exists()
        else None
    )
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and len(err) < 500, err
    assert words in lines[0] and "Traceback" not in err
    assert not absent or absent not in err
    after = (
        sorted(str(p) for p in (workdir / "runs").rglob("*"))
        if (workdir / "runs").exists()
        else None
    )
    assert after == before  # nothing half-written


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("boto3") is not None, reason="boto3 is installed"
)
def test_s3_artifacts_without_boto3_fail_before_the_study_is_created(workdir, capsys):
    assert main([*_study(workdir), "--artifacts", "s3://bucket"]) == 2
    assert "boto3" in capsys.readouterr().err
    assert not (workdir / "runs").exists()


def test_output_paths_are_checked_before_any_work(finished_study, monkeypatch, capsys):
    monkeypatch.chdir(finished_study)
    before = sorted(p.name for p in finished_study.iterdir())
    for argv, words in [
        (["export", "--study", "small", "-o", "nodir/best.yaml"], "directory nodir does not exist"),
        (["export", "--study", "small", "-o", "cfg/"], "is a directory"),
        (["report", "--study", "small", "-o", "studies/small.yaml/r"], "Not a directory"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    assert sorted(p.name for p in finished_study.iterdir()) == before


@pytest.mark.parametrize("port, words", [("70000", "a port must be 1 to 65535"), ("-1", "a port")])
def test_dashboard_port_out_of_range(finished_study, monkeypatch, capsys, port, words):
    monkeypatch.chdir(finished_study)
    with pytest.raises(SystemExit) as exit:
        main(["dashboard", "--port", port])
    assert exit.value.code == 2 and words in capsys.readouterr().err


def test_dashboard_port_in_use(finished_study, monkeypatch, capsys):
    monkeypatch.chdir(finished_study)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot serve on 127.0.0.1:{port}" in err[0]


def test_trials_of_an_empty_study_says_so(workdir, capsys):
    storage = f"sqlite:///{workdir / 'runs' / 'search.db'}"
    (workdir / "runs").mkdir()
    optuna.create_study(study_name="empty", storage=storage)
    assert main(["trials", "--study", "empty"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "study 'empty' has no trials yet" and "DataFrame" not in out


def test_a_read_only_run_directory_is_one_line(workdir, capsys, monkeypatch):
    # Root (as CI runs) ignores permission bits, so the check's own view of the disk is faked.
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and p != str(workdir))
    assert main(_study(workdir)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not writable" in err[0]
    assert not (workdir / "runs").exists()
