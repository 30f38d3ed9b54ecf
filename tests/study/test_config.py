"""Study files: every shipped one loads; every bad one gets one line naming file and key, exit 2."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from search.cli import main
from search.study.config import load_study_config
from tests.conftest import REPO, SMALL_STUDY, image_folder, write_study

BASE = yaml.safe_load(SMALL_STUDY)


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_study_loads(path: Path, monkeypatch):
    monkeypatch.chdir(REPO)  # data paths in study files are relative to the project
    config = load_study_config(str(path))
    assert config.space and config.direction == "maximize"
    assert config.train.model == "test_resnet"


def test_lr_sched_searches_all_five_dimensions():
    config = load_study_config(str(REPO / "studies" / "lr-sched.yaml"))
    for key in ("loss", "opt", "sched", "lr", "batch_size"):
        assert key in config.space
    assert set(config.space["sched"].choices) == {"step", "cosine", "plateau"}
    assert config.space["lr"].log
    assert config.space["decay_epochs"].when == {"sched": "step"}
    assert config.space["focal_gamma"].when == {"loss": "focal"}


def _set(data: dict, dotted: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

# (case id, mutation of the valid base study, dotted key the message must name, words it must say)
BAD_FILES = [
    ("unknown-top-key", ("n_trial", 3), "n_trial", "did you mean 'n_trials'"),
    ("unknown-train-key", ("train.epoch", 3), "train.epoch", "did you mean 'epochs'"),
    ("unknown-data-key", ("train.data.nmae", "mnist"), "train.data.nmae", "did you mean 'name'"),
    ("n-trials-string", ("n_trials", "ten"), "n_trials", "expected an integer"),
    ("epochs-float", ("train.epochs", 2.5), "train.epochs", "expected an integer"),
    ("lr-negative", ("train.lr", -1.0), "train.lr", "must be > 0"),
    ("n-trials-zero", ("n_trials", 0), "n_trials", "must be >= 1"),
    ("budget-words", ("budget", "a while"), "budget", "is not a duration"),
    ("budget-negative", ("budget", -5), "budget", "must be > 0"),
    (
        "low-above-high",
        ("space.lr", {"type": "float", "low": 0.1, "high": 0.01}),
        "space.lr.low",
        "must be <= high",
    ),
    (
        "log-low-zero",
        ("space.lr", {"type": "float", "low": 0.0, "high": 0.1, "log": True}),
        "space.lr.low",
        "log range",
    ),
    (
        "empty-choices",
        ("space.loss", {"type": "categorical", "choices": []}),
        "space.loss.choices",
        "at least one",
    ),
    (
        "unknown-param-type",
        ("space.lr", {"type": "loguniform", "low": 1, "high": 2}),
        "space.lr.type",
        "choose from",
    ),
    (
        "unknown-loss",
        ("space.loss", {"type": "categorical", "choices": ["ce", "focal", "focall"]}),
        "space.loss.choices[2]",
        "did you mean 'focal'",
    ),
    ("unknown-optimizer", ("train.opt", "adamx"), "train.opt", "unknown optimizer"),
    (
        "unknown-scheduler",
        ("space.sched", {"type": "categorical", "choices": ["cosine", "cyclic"]}),
        "space.sched.choices[1]",
        "unknown scheduler",
    ),
    ("unknown-sampler", ("sampler.name", "tpee"), "sampler.name", "did you mean 'tpe'"),
    ("unknown-pruner", ("pruner.name", "medain"), "pruner.name", "did you mean 'median'"),
    ("bad-sampler-option", ("sampler.options", {"n_startup": 3}), "sampler.options", "n_startup"),
    ("unknown-model", ("train.model", "resnet_9000"), "train.model", "unknown timm model"),
    ("unknown-dataset", ("train.data.name", "cifar"), "train.data.name", "unknown dataset"),
    (
        "missing-data-path",
        ("train.data", {"path": "/no/such/dir"}),
        "train.data.path",
        "no such directory",
    ),
    (
        "unsearchable-key",
        ("space.device", {"type": "categorical", "choices": ["cpu"]}),
        "space.device",
        "not a searchable key",
    ),
    (
        "unknown-searched-model",
        ("space.model", {"type": "categorical", "choices": ["test_resnet", "resnet_9000"]}),
        "space.model.choices[1]",
        "unknown timm model 'resnet_9000'",
    ),
    (
        "when-unknown-param",
        ("space.focal_gamma.when", {"los": "focal"}),
        "space.focal_gamma.when.los",
        "categorical parameter listed earlier",
    ),
    (
        "when-bad-value",
        ("space.focal_gamma.when", {"loss": "focus"}),
        "space.focal_gamma.when.loss",
        "not one of its choices",
    ),
    ("unknown-metric", ("metric", "val_f1"), "metric", "choose from"),
    (
        "heartbeat-grace",
        ("heartbeat", {"interval": 5, "grace_period": 5}),
        "heartbeat.grace_period",
        "longer than interval",
    ),
    ("empty-space", ("space", {}), "space", "at least one parameter"),
    ("val-fraction", ("train.data.val_fraction", 0.7), "train.data.val_fraction", "< 0.5"),
    (
        "choice-wrong-type",
        ("space.batch_size", {"type": "categorical", "choices": [32, "big"]}),
        "space.batch_size.choices[1]",
        "wrong type",
    ),
    ("missing-space", ("space", DELETE), "space", "is required"),
]


@pytest.mark.parametrize("case, mutation, key, words", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_study_file_gets_one_line_naming_file_and_key(
    workdir, capsys, case, mutation, key, words
):
    data = _set(BASE, *mutation)
    path = write_study(workdir, "bad", yaml.safe_dump(data, sort_keys=False))
    code = main(["run", "--study", "bad", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{path.relative_to(workdir)}: {key}:" in lines[0]
    assert words in lines[0]
    assert "Traceback" not in err
    assert not (workdir / "runs").exists()


@pytest.mark.parametrize(
    "text, words",
    [
        ("train: [unclosed\n", "malformed YAML at line"),
        ("- just\n- a list\n", "expected a mapping"),
        (
            "train: {model: test_resnet}\nspace: {lr: {type: float, low: 1, high: 2}\n",
            "malformed YAML",
        ),
    ],
    ids=["unclosed", "list", "unbalanced"],
)
def test_malformed_yaml(workdir, capsys, text, words):
    write_study(workdir, "bad", text)
    assert main(["run", "--study", "bad"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "studies/bad.yaml" in err[0] and words in err[0]
    assert not (workdir / "runs").exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "--study", "nope"], "no such study file"),
        (["run", "--study", "../x"], "no such study file"),
        (["run", "--study", "small", "--name", "../x"], "not a safe study name"),
        (["run", "--study", "small", "--n-trials", "0"], "--n-trials"),
        (["run", "--study", "small", "--n-trials", "abc"], "--n-trials"),
        (["run", "--study", "small", "--timeout", "-1"], "--timeout"),
        (["run", "--study", "small", "--frobnicate"], "unrecognized arguments"),
        (["run"], "--study"),
        (["best", "--study", "../etc"], "no such study file"),
        (["best", "--study", "bad name"], "not a safe study name"),
        (["best", "--study", "small"], "no studies yet"),
        (["studies"], "no studies yet"),
        (
            [
                "run",
                "--study",
                "small",
                "--storage",
                "postgresql+psycopg2://u:secret@127.0.0.1:1/db",
            ],
            "cannot open storage",
        ),
        (["run", "--study", "small", "--storage", "nosuchdb://x"], "cannot open storage"),
    ],
)
def test_bad_arguments_get_one_line(workdir, capsys, argv, words):
    write_study(workdir, "small")
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert words in err[0]
    assert "secret" not in err[0]
    assert not (workdir / "runs").exists()


def test_yaml_is_read_safely(workdir, capsys):
    marker = workdir / "pwned"
    write_study(workdir, "evil", f'train: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert main(["run", "--study", "evil"]) == 2
    assert "malformed YAML" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize("classes, modes, words", [(1, ("L",), "at least 2 class")])
def test_bad_image_folders_are_refused_before_anything_is_written(
    workdir, capsys, classes, modes, words
):
    root = image_folder(workdir / "imgs", {f"c{k}": 4 for k in range(classes)}, mode=modes, size=8)
    write_study(
        workdir,
        "bad",
        yaml.safe_dump(_set(BASE, "train.data", {"path": str(root)}), sort_keys=False),
    )
    assert main(["run", "--study", "bad"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "studies/bad.yaml: train.data.path:" in err[0] and words in err[0]
    assert not (workdir / "runs").exists()


def test_budget_makes_n_trials_an_optional_cap():
    def config(**keys):
        return load_study_config(str(write_study_from({**BASE, **keys})))

    assert config(budget="1h30m", n_trials=None).budget_s == 5400
    assert config(budget="1h30m", n_trials=None).trial_cap is None
    assert config(budget="10m", n_trials=7).trial_cap == 7
    assert config(budget=None, n_trials=None).trial_cap == 20


def test_sampler_and_pruner_options_default_by_name_and_an_explicit_empty_set_is_optuna_s():
    from search.study.config import (
        DEFAULT_PRUNER_OPTIONS,
        DEFAULT_SAMPLER_OPTIONS,
        PrunerConfig,
        SamplerConfig,
    )

    assert SamplerConfig().kwargs == DEFAULT_SAMPLER_OPTIONS.get("tpe", {})
    assert SamplerConfig(name="random").kwargs == {}
    assert SamplerConfig(options={}).kwargs == {}
    assert PrunerConfig().name == "hyperband"
    assert PrunerConfig().kwargs == DEFAULT_PRUNER_OPTIONS["hyperband"]
    assert PrunerConfig(name="successive_halving").kwargs == {
        "min_resource": 1,
        "reduction_factor": 3,
    }
    assert PrunerConfig(name="median").kwargs == {}
    assert PrunerConfig(options={"min_resource": 2}).kwargs == {"min_resource": 2}


_COUNTER = iter(range(10**6))


def write_study_from(data: dict) -> Path:
    import tempfile

    root = Path(tempfile.mkdtemp())
    return write_study(root, f"s{next(_COUNTER)}", yaml.safe_dump(data, sort_keys=False))
