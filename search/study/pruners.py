"""Optuna pruners by the names a study file uses, and one that Optuna does not ship."""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from search.registry import Registry
from search.study.config import PrunerConfig
from search.study.samplers import build_from_registry


class TopKAfterEpochPruner(BasePruner):
    """Train every trial `epoch` epochs; continue only those in the top `k` at that epoch.

    The one-epoch baseline of Egele et al. (2023), which they report matches multi-fidelity
    methods: a trial is judged once, against every trial that reached the same epoch.
    """

    def __init__(self, k: int = 3, epoch: int = 1) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k=}")
        if epoch < 1:
            raise ValueError(f"epoch must be >= 1, got {epoch=}")
        self.k = k
        self.epoch = epoch

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.last_step != self.epoch:
            return False
        value = trial.intermediate_values[self.epoch]
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        others = [
            t.intermediate_values[self.epoch]
            for t in study.get_trials(deepcopy=False, states=states)
            if t.number != trial.number and self.epoch in t.intermediate_values
        ]
        maximize = study.direction == StudyDirection.MAXIMIZE
        better = sum((v > value) if maximize else (v < value) for v in others)
        return better >= self.k


PRUNERS: Registry[Callable[..., BasePruner]] = Registry("pruner")
PRUNERS.register("successive_halving", optuna.pruners.SuccessiveHalvingPruner)
PRUNERS.register("hyperband", optuna.pruners.HyperbandPruner)
PRUNERS.register("median", optuna.pruners.MedianPruner)
PRUNERS.register("percentile", optuna.pruners.PercentilePruner)
PRUNERS.register("none", optuna.pruners.NopPruner)
PRUNERS.register("top_k", TopKAfterEpochPruner)


def create_pruner(config: PrunerConfig, *, source: str = "pruner") -> BasePruner:
    return build_from_registry(PRUNERS, config.name, dict(config.options), source, "pruner")
