"""A model search from local weights: each model its own file, all checked before any trial."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
import timm
import torch
import yaml
from safetensors.torch import save_file

from search.store import attrs
from tests.conftest import image_folder, run_cli, write_study

MODELS = ("test_resnet", "test_vit")


def _study(pretrained: object, key: str = "pretrained_path", n_trials: int = 3) -> str:
    return yaml.safe_dump(
        {
            "objective": "classify",
            "n_trials": n_trials,
            "train": {
                "data": {"path": "portraits", "image_size": 32, "val_fraction": 0.25},
                "epochs": 1,
                "batch_size": 8,
                key: pretrained,
            },
            "space": {
                "model": {"type": "categorical", "choices": list(MODELS)},
                "lr": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True},
            },
            "sampler": {"name": "random", "seed": 1},
        }
    )


@pytest.fixture
def project(workdir: Path) -> Path:
    image_folder(workdir / "portraits", {"a": 8, "b": 8, "c": 8}, size=(40, 30))
    (workdir / "w").mkdir()
    for name in MODELS:
        state = timm.create_model(name, num_classes=5).state_dict()
        save_file(
            {k: v.contiguous() for k, v in state.items()}, str(workdir / f"w/{name}.safetensors")
        )
    return workdir


def _refused(workdir: Path, text: str, words: str, env: dict | None = None) -> None:
    write_study(workdir, "ft", text)
    done = run_cli("run", "--study", "ft", "--quiet", cwd=workdir, env=env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, lines
    assert not (workdir / "runs" / "search.db").exists()  # nothing stored
    assert not list((workdir / "runs").glob("ft-*")) if (workdir / "runs").exists() else True


def test_one_file_for_two_architectures_is_refused_before_any_trial(project):
    _refused(project, _study("w/test_resnet.safetensors"), "one file for 2 models")


def test_a_mapping_must_name_every_searched_model(project):
    _refused(
        project, _study({"test_resnet": "w/test_resnet.safetensors"}), "no entry for model test_vit"
    )


def _unsafe(path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"x": Payload()}, path)


@pytest.mark.parametrize(
    "name, write, words",
    [
        (
            "bad.safetensors",
            lambda p: p.write_bytes((p.parent / "test_resnet.safetensors").read_bytes()),
            "another arch",
        ),
        ("bad.pth", lambda p: p.write_bytes(b"\x00garbage" * 50), "not a readable weights file"),
        ("bad.pth", _unsafe, "refused"),
        (
            "bad.safetensors",
            lambda p: save_file(
                {
                    **{
                        k: v.contiguous()
                        for k, v in timm.create_model("test_vit", num_classes=5)
                        .state_dict()
                        .items()
                    },
                    "cls_token": torch.zeros(1, 1, 7),
                },
                str(p),
            ),
            "cls_token",
        ),
    ],
    ids=["other-architecture", "garbage", "unsafe-pickle", "wrong-shape"],
)
def test_bad_weights_for_one_model_are_one_line_and_store_nothing(project, name, write, words):
    bad = project / "w" / name
    write(bad)
    mapping = {"test_resnet": "w/test_resnet.safetensors", "test_vit": str(bad)}
    _refused(project, _study(mapping), words)


def test_pretrained_with_no_hub_and_no_cache_fails_in_seconds(project):
    start = time.monotonic()
    _refused(
        project,
        _study({"test_resnet": True, "test_vit": False}, key="pretrained"),
        "pretrained: true needs timm's weights",
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert time.monotonic() - start < 30


def test_each_trial_starts_from_its_models_file_and_records_it(project):
    mapping = {"test_resnet": "w/test_resnet.safetensors", "test_vit": None}
    write_study(project, "ft", _study(mapping, n_trials=4))
    done = run_cli("run", "--study", "ft", "--quiet", cwd=project)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="ft", storage=f"sqlite:///{project}/runs/search.db")
    seen = set()
    for trial in study.trials:
        model = trial.params["model"]
        started = trial.user_attrs[attrs.WEIGHTS]
        seen.add(model)
        if model == "test_resnet":
            assert started["source"] == "w/test_resnet.safetensors" and started["head"] == "new"
            assert started["tensors"] > 50
        else:
            assert started == {"source": "random", "tensors": 0, "head": ""}
    assert seen == set(MODELS)
    shown = run_cli("trials", "--study", "ft", cwd=project)
    assert "w/test_resnet.safetensors (" in shown.stdout and "random" in shown.stdout
