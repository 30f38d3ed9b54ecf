"""Optuna samplers by the names a study file uses, and the one way to build them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial

from search.errors import ConfigError
from search.registry import Registry, UnknownNameError
from search.study.config import SamplerConfig

SAMPLERS: Registry[Callable[..., BaseSampler]] = Registry("sampler")
SAMPLERS.register("tpe", optuna.samplers.TPESampler)
SAMPLERS.register("random", optuna.samplers.RandomSampler)
SAMPLERS.register("cmaes", optuna.samplers.CmaEsSampler)
SAMPLERS.register("gp", optuna.samplers.GPSampler)
SAMPLERS.register("qmc", optuna.samplers.QMCSampler)


def build_from_registry(
    registry: Registry, name: str, kwargs: dict[str, Any], source: str, key: str
) -> Any:
    """`registry[name](**kwargs)`, with a bad name or option named by file and key."""
    try:
        factory = registry.get(name)
    except UnknownNameError as err:
        raise ConfigError(source, f"{key}.name", str(err)) from None
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            source, f"{key}.options", f"{registry.kind} {name!r} rejects them: {err}"
        ) from None


class TrialSeededSampler(BaseSampler):
    """A seeded sampler whose random state is set anew for each trial from its number.

    Trial numbers are unique within a storage, so processes that start on one study at the
    same moment (workers, machines) propose different trials, while one process alone stays
    reproducible: its trials get the same numbers every time. Each trial gets a fresh inner
    sampler; Optuna's samplers keep their state in the study, not in the sampler object.
    """

    def __init__(
        self,
        factory: Callable[..., BaseSampler],
        kwargs: dict[str, Any],
        seed: int,
        first: BaseSampler,
    ) -> None:
        self._factory = factory
        self._kwargs = kwargs
        self._seed = seed
        self._inner = first

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._inner = self._factory(seed=(self._seed + trial.number) % 2**32, **self._kwargs)
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict:
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict) -> dict:
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, distribution: Any
    ) -> Any:
        return self._inner.sample_independent(study, trial, param_name, distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()


def create_sampler(
    config: SamplerConfig, *, seed: int | None = None, source: str = "sampler"
) -> BaseSampler:
    """The study's sampler; seeded per trial (TrialSeededSampler) when it has a seed."""
    kwargs = config.kwargs
    seed = kwargs.pop("seed", seed if seed is not None else config.seed)
    sampler = build_from_registry(
        SAMPLERS, config.name, {**kwargs, "seed": seed}, source, "sampler"
    )
    # QMC's seed scrambles one sequence that every trial indexes by number: it must not vary.
    if seed is None or config.name == "qmc":
        return sampler
    return TrialSeededSampler(SAMPLERS.get(config.name), kwargs, seed, sampler)
