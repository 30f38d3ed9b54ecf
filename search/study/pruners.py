"""Optuna pruners by the names a study file uses, and one that Optuna does not ship."""

from __future__ import annotations

import math
from collections.abc import Callable

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from search.registry import Registry
from search.study.config import PrunerConfig
from search.study.samplers import build_from_registry
from search.yaml_dataclasses import from_mapping


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
PRUNERS.register("patient", optuna.pruners.PatientPruner)
SHARE_OF_EPOCHS = ("successive_halving", "hyperband")


def create_pruner(
    config: PrunerConfig, *, epochs: int | None = None, source: str = "pruner", key: str = "pruner"
) -> BasePruner:
    """The study's pruner. A `min_resource` below 1 for successive halving or Hyperband is a
    share of the trial's `epochs` (0.25 of 8 epochs: first judged after 2), so one setting
    suits short and long trials alike."""
    options = config.kwargs
    share = options.get("min_resource")
    if (
        config.name in SHARE_OF_EPOCHS
        and isinstance(share, float)
        and 0 < share < 1
        and epochs is not None
    ):
        options["min_resource"] = max(1, math.ceil(share * epochs))
    if config.name == "patient":
        # Optuna's PatientPruner prunes only where the pruner it wraps would and the trial has
        # not improved for `patience` epochs; the wrapped one is written as a study file's.
        wrapped = options.pop("wrapped", None)
        options["wrapped_pruner"] = (
            None
            if wrapped is None
            else create_pruner(
                from_mapping(PrunerConfig, wrapped, source=source, prefix=f"{key}.options.wrapped"),
                epochs=epochs,
                source=source,
                key=f"{key}.options.wrapped",
            )
        )
    return build_from_registry(PRUNERS, config.name, options, source, key)
