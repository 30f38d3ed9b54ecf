"""A study's run directory is its own: unique per storage, never torn, never deleted through."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import optuna
import pytest
from safetensors.torch import load_file

from search.cli import main
from search.store.checkpoint import WEIGHTS
from search.store.paths import study_dir
from tests.conftest import SMALL_STUDY, write_study

ONE = SMALL_STUDY.replace("n_trials: 3", "n_trials: 1").replace("epochs: 2", "epochs: 1")


def _best(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["best", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_dir_is_unique_per_storage_and_study(tmp_path):
    default = study_dir("s", "sqlite:///runs/search.db")
    assert default == Path("runs/s")
    other = study_dir("s", "sqlite:///runs/a.db")
    assert other.parent == Path("runs") and other.name.startswith("s-") and len(other.name) == 10
    assert study_dir("s", "sqlite:///runs/b.db") != other
    # One database, two spellings: one directory.
    assert study_dir("s", f"sqlite:///{os.path.abspath('runs/a.db')}") == other
    # A password is not part of a database's identity.
    pg = "postgresql+psycopg2://u:{}@db/search"
    assert study_dir("s", pg.format("one")) == study_dir("s", pg.format("two"))


def test_same_name_in_two_storages_keeps_two_checkpoints(workdir, capsys):
    write_study(workdir, "coll", ONE)
    a, b = "sqlite:///runs/a.db", "sqlite:///runs/b.db"
    assert main(["run", "--study", "coll", "--quiet", "--storage", a]) == 0
    record_a = _best(capsys, "--study", "coll", "--storage", a)
    weights_a = load_file(str(Path(record_a["checkpoint"]) / WEIGHTS))
    assert main(["run", "--study", "coll", "--quiet", "--storage", b, "--seed", "1"]) == 0
    # A read with the other storage must not touch a's directory either.
    record_b = _best(capsys, "--study", "coll", "--storage", b)
    record_a2 = _best(capsys, "--study", "coll", "--storage", a)
    assert record_a2["checkpoint"] == record_a["checkpoint"] != record_b["checkpoint"]
    for record in (record_a2, record_b):
        metrics = json.loads((Path(record["checkpoint"]) / "metrics.json").read_text())
        assert metrics["value"] == record["value"]
    again = load_file(str(Path(record_a2["checkpoint"]) / WEIGHTS))
    assert all((again[k] == weights_a[k]).all() for k in weights_a)


def test_train_refuses_a_study_run_dir_and_a_copied_runs_dir_still_works(workdir, capsys):
    write_study(workdir, "coll", ONE)
    assert main(["run", "--study", "coll", "--quiet"]) == 0
    assert main(["export", "--study", "coll", "-o", "best.yaml"]) == 0
    capsys.readouterr()
    assert main(["train", "--config", "best.yaml", "--out", "runs/coll", "--quiet"]) == 2
    assert "is a study's run directory" in capsys.readouterr().err
    best = workdir / "runs" / "coll" / "best"
    assert best.is_symlink()
    # `cp -rL runs` turns the link into a directory; best and run still work on the copy.
    target = best.resolve()
    best.unlink()
    shutil.copytree(target, best)
    record = _best(capsys, "--study", "coll")
    assert Path(record["checkpoint"]).is_symlink() or Path(record["checkpoint"]).is_dir()
    assert main(["run", "--study", "coll", "--quiet", "--n-trials", "2"]) == 0
    assert best.is_symlink()
    assert not list((workdir / "runs" / "coll").glob(".old-*"))
    study = optuna.load_study(study_name="coll", storage="sqlite:///runs/search.db")
    assert _best(capsys, "--study", "coll")["trial"] == study.best_trial.number


def test_nothing_is_deleted_through_a_planted_link(workdir, capsys):
    write_study(workdir, "coll", ONE)
    assert main(["run", "--study", "coll", "--quiet"]) == 0
    outside = workdir / "precious"
    (outside / "7").mkdir(parents=True)
    (outside / "7" / "keep.txt").write_text("mine")
    (outside / "notes.txt").write_text("mine too")
    trials = workdir / "runs" / "coll" / "trials"
    shutil.rmtree(trials)
    trials.symlink_to(outside)
    capsys.readouterr()
    # A resumed run would clean up stale checkpoints under trials/: it refuses instead.
    assert main(["run", "--study", "coll", "--quiet", "--n-trials", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a link" in err[0]
    assert (outside / "7" / "keep.txt").read_text() == "mine"
    assert (outside / "notes.txt").read_text() == "mine too"


@pytest.mark.parametrize("planted", ["/etc", "../../elsewhere/trials/0"])
def test_a_planted_best_link_is_not_taken_for_ours(workdir, planted):
    from search.store.checkpoint import BestKeeper

    keeper = BestKeeper(workdir / "runs" / "x")
    keeper.dir.mkdir(parents=True)
    keeper.best_link.symlink_to(planted)
    assert keeper.current() is None
