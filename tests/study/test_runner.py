"""The trial loop's own housekeeping, with objectives that train nothing."""

from __future__ import annotations

import gc
from pathlib import Path

import optuna
import pytest

from search.store.checkpoint import BestKeeper
from search.study.runner import run_study


def test_the_heap_is_frozen_while_trials_run_and_thawed_after_even_an_interrupt(tmp_path: Path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db", direction="maximize")
    keeper = BestKeeper(tmp_path / "runs")
    frozen_during: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        frozen_during.append(gc.get_freeze_count())
        return trial.suggest_float("x", 0, 1)

    assert gc.get_freeze_count() == 0
    run_study(study, objective, keeper, n_trials=2, timeout=None, progress=False)
    # The objects alive before the first trial (imports, the storage) are out of each
    # trial's final collection, and back in once the run ends.
    assert len(frozen_during) == 2 and min(frozen_during) > 1000
    assert gc.get_freeze_count() == 0

    def interrupted(trial: optuna.Trial) -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study, interrupted, keeper, n_trials=3, timeout=None, progress=False)
    assert gc.get_freeze_count() == 0
