"""Optuna samplers by the names a study file uses, and the one way to build them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from search.env import worker_index
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


def worker_seed(seed: int | None) -> int | None:
    """Worker i of `--workers N` samples with seed + i: the same seed would repeat the same trials."""
    if seed is None:
        return None
    return seed + (worker_index() or 0)


def create_sampler(
    config: SamplerConfig, *, seed: int | None = None, source: str = "sampler"
) -> BaseSampler:
    kwargs = dict(config.options)
    kwargs.setdefault("seed", worker_seed(seed if seed is not None else config.seed))
    return build_from_registry(SAMPLERS, config.name, kwargs, source, "sampler")
