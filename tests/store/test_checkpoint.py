"""The best-checkpoint keeper: atomic writes, and two processes racing on one study."""

from __future__ import annotations

import multiprocessing
import os
import random
from pathlib import Path

import optuna
import pytest
import torch
from safetensors.torch import load_file

from search.store.checkpoint import WEIGHTS, BestKeeper, read_checkpoint_dir, write_checkpoint_dir
from search.store.storage import open_storage


def test_checkpoint_dir_is_complete_or_absent(tmp_path, monkeypatch):
    target = tmp_path / "trials" / "3"
    write_checkpoint_dir(target, {"w": torch.ones(2)}, {"lr": 0.1}, {"value": 0.5})
    assert read_checkpoint_dir(target) == ({"lr": 0.1}, {"value": 0.5})
    assert torch.equal(load_file(str(target / WEIGHTS))["w"], torch.ones(2))

    def crash(*args, **kwargs):
        raise OSError("disk full")

    # A write that dies half-way leaves neither a torn target nor its temporary directory.
    monkeypatch.setattr("search.store.atomic.fsync_file", crash)
    with pytest.raises(OSError):
        write_checkpoint_dir(tmp_path / "trials" / "4", {"w": torch.ones(2)}, {}, {})
    assert sorted(p.name for p in (tmp_path / "trials").iterdir()) == ["3"]


def _race_worker(url: str, study_dir: str, seed: int, n: int) -> None:
    rng = random.Random(seed)
    storage = open_storage(url)
    study = optuna.load_study(study_name="race", storage=storage)
    keeper = BestKeeper(study_dir)
    for _ in range(n):
        trial = study.ask()
        value = rng.random()
        try:
            best = study.best_value
        except ValueError:
            best = None
        if best is None or value >= best:
            weights = {"w": torch.full((64,), float(trial.number))}
            keeper.stage(
                trial, weights, {"trial": trial.number}, {"trial": trial.number, "value": value}
            )
        study.tell(trial, value)
        keeper.promote(study)
        # Whatever `best` points at is whole at every moment.
        if keeper.current() is not None:
            config, metrics = read_checkpoint_dir(keeper.best_link)
            assert config["trial"] == metrics["trial"] == keeper.current()


def test_two_processes_racing_leave_only_the_study_best(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    optuna.create_study(study_name="race", storage=open_storage(url), direction="maximize")
    study_dir = tmp_path / "runs" / "race"
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_race_worker, args=(url, str(study_dir), seed, 25)) for seed in (1, 2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0]
    study = optuna.load_study(study_name="race", storage=url)
    assert len(study.trials) == 50
    keeper = BestKeeper(study_dir)
    best = study.best_trial.number
    assert keeper.current() == best
    assert os.listdir(study_dir / "trials") == [str(best)]  # disk use stays bounded
    weights = load_file(str(study_dir / "best" / WEIGHTS))
    assert torch.equal(weights["w"], torch.full((64,), float(best)))
    assert read_checkpoint_dir(Path(study_dir / "best"))[1]["value"] == study.best_value
