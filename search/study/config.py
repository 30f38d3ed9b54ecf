"""A study file (`studies/<name>.yaml`) as frozen config objects: pure data and field checks.

Checks that need the world (the sampler and pruner built, the model known to timm, the images
decoded) run in one place before a study starts: `search/study/checks.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from search.errors import ConfigError, shown
from search.registry import UnknownNameError, did_you_mean
from search.store.clock import parse_duration
from search.store.storage import HeartbeatConfig
from search.study.space import ParamSpec
from search.trainer.config import SEARCHABLE, TrainConfig
from search.trainer.metric_registry import METRICS
from search.yaml_dataclasses import FieldError, check_seed, from_mapping, to_mapping
from search.yaml_read import read_yaml

DEFAULT_N_TRIALS = 20


DEFAULT_SAMPLER_OPTIONS: dict[str, dict[str, Any]] = {}
"""Options a sampler gets when the study file gives none: TPE keeps Optuna's own; every
alternative tried ended lower on the benchmark suite (docs/benchmarks.md)."""

DEFAULT_PRUNER_OPTIONS: dict[str, dict[str, Any]] = {
    "hyperband": {"min_resource": 1, "reduction_factor": 3},
    "successive_halving": {"min_resource": 1, "reduction_factor": 3},
}
"""Options a pruner gets when the study file gives none. Hyperband, the default, runs
successive halving in brackets, the best third going on at each rung: with 8 epochs a trial is
first judged after 1, 3 or 9 epochs. Chosen on the benchmark suite, where it is the one
candidate at least level with `pruner: none` at 1x (docs/benchmarks.md, with where it loses)."""


@dataclass(frozen=True)
class SamplerConfig:
    name: str = "tpe"
    """tpe, random, cmaes, gp or qmc (Optuna's samplers)."""
    seed: int | None = None
    options: dict[str, Any] | None = None
    """Keyword arguments of the Optuna sampler, e.g. n_startup_trials for tpe; unset, the
    defaults in DEFAULT_SAMPLER_OPTIONS."""

    def __post_init__(self) -> None:
        check_seed("seed", self.seed)

    @property
    def kwargs(self) -> dict[str, Any]:
        return _options(self.options, DEFAULT_SAMPLER_OPTIONS, self.name)


@dataclass(frozen=True)
class PrunerConfig:
    name: str = "hyperband"
    """hyperband, successive_halving, median, percentile, top_k, patient or none."""
    options: dict[str, Any] | None = None
    """Keyword arguments of the Optuna pruner, e.g. min_resource, reduction_factor; unset, the
    defaults in DEFAULT_PRUNER_OPTIONS."""

    @property
    def kwargs(self) -> dict[str, Any]:
        return _options(self.options, DEFAULT_PRUNER_OPTIONS, self.name)


def _options(
    given: dict[str, Any] | None, defaults: dict[str, dict[str, Any]], name: str
) -> dict[str, Any]:
    """The options the file gives (even none: `{}`), else search's defaults for that name."""
    return dict(defaults.get(name, {}) if given is None else given)


@dataclass(frozen=True)
class PickConfig:
    """Which trial of a cost study's Pareto front is its best (checkpoint, best, export)."""

    max_train_seconds: float | None = None
    """The best metric among the front's trials that trained within this many seconds;
    unset, the best metric on the front."""


@dataclass(frozen=True)
class StudyConfig:
    """A study file: what to train, what to search, and how."""

    train: TrainConfig
    """The fixed training config; searched keys in `space` override it per trial."""
    space: dict[str, ParamSpec]
    description: str = ""
    objective: str = "classify"
    """The objective in `objectives/` (its OBJECTIVES registry): classify trains an image
    classifier."""
    metric: str = "val_macro_f1"
    budget: str | float | None = None
    """The study's total wall-clock, across resumes and workers: 90s, 30m, 2h, 1h30m (or
    seconds). Trials still running when it is spent stop at their next epoch, as pruned."""
    n_trials: int | None = None
    """A cap on the study's finished (complete or pruned) trials, across runs and workers;
    with neither budget nor n_trials, 20."""
    timeout: float | None = None
    """Stop starting trials after this many seconds of this run (budget counts every run)."""
    storage: str | None = None
    """An Optuna storage URL; the default is a SQLite file under runs/."""
    artifacts: str | None = None
    """Optuna artifact store for the best checkpoint: a shared directory or s3://bucket."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    cost_objective: Literal["train_seconds"] | None = None
    """Minimise this too: an Optuna multi-objective study whose Pareto front `pick` chooses
    from. Optuna cannot prune such a study, so it needs pruner: {name: none}."""
    pick: PickConfig = field(default_factory=PickConfig)
    baseline_first: bool = True
    """Trials 0 and 1 train known-strong configurations before the sampler starts, unpruned:
    `train:`'s own values for the searched keys it sets, `space.STARTING_RECIPE` for the
    others (trial 1 with `space.CLASS_WEIGHTED`'s changes). false: every trial is the
    sampler's."""

    def __post_init__(self) -> None:
        try:
            METRICS.get(self.metric)
        except UnknownNameError as err:
            raise FieldError("metric", str(err)) from None
        if self.n_trials is not None and self.n_trials < 1:
            raise FieldError("n_trials", f"must be >= 1, got {self.n_trials}")
        if self.budget is not None:
            try:
                parse_duration(self.budget)
            except ValueError as err:
                raise FieldError("budget", str(err)) from None
        if self.timeout is not None and self.timeout <= 0:
            raise FieldError("timeout", f"must be > 0, got {self.timeout}")
        if not self.space:
            raise FieldError("space", "must name at least one parameter to search")
        _check_space(self.space, self.train)
        if self.cost_objective is not None and self.pruner.name != "none":
            raise FieldError(
                "pruner.name",
                f"{self.pruner.name!r} cannot prune a study with a cost_objective: Optuna reports "
                "intermediate values for one objective only; set pruner: {name: none}",
            )
        if self.cost_objective is None and self.pick != PickConfig():
            raise FieldError("pick", "applies to studies with a cost_objective")

    @property
    def budget_s(self) -> float | None:
        return None if self.budget is None else parse_duration(self.budget)

    @property
    def trial_cap(self) -> int | None:
        """How many finished trials end the study: n_trials, else none under a budget, else 20."""
        if self.n_trials is not None or self.budget is not None:
            return self.n_trials
        return DEFAULT_N_TRIALS

    @property
    def directions(self) -> list[str]:
        """Optuna's directions: the metric's, then minimise the cost when there is one."""
        return [self.direction] + (["minimize"] if self.cost_objective else [])

    @property
    def direction(self) -> str:
        return METRICS.get(self.metric).direction

    def with_overrides(self, **changes: Any) -> StudyConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def fingerprint(self) -> dict[str, Any]:
        """What a study's trials depend on: a resumed study must match it exactly."""
        # cost_objective only when set: studies from before it existed keep their fingerprint.
        cost = {"cost_objective": self.cost_objective} if self.cost_objective else {}
        return to_mapping(
            {
                "objective": self.objective,
                "metric": self.metric,
                **cost,
                "train": self.train,
                "space": self.space,
            }
        )


def _check_space(space: dict[str, ParamSpec], train: TrainConfig) -> None:
    """Every searched key exists, both ends of its range are valid, and conditions are sound."""
    seen: dict[str, ParamSpec] = {}
    for name, spec in space.items():
        key = f"space.{name}"
        if name not in SEARCHABLE:
            raise FieldError(
                key,
                f"not a searchable key{did_you_mean(name, list(SEARCHABLE))}; "
                f"choose from: {', '.join(SEARCHABLE)}",
            )
        for i, value in enumerate(spec.bounds()):
            where = (
                f"{key}.choices[{i}]"
                if spec.type == "categorical"
                else f"{key}.{('low', 'high')[i]}"
            )
            try:
                train.replace(**{name: value})
            except FieldError as err:
                raise FieldError(where, err.message) from None
            except TypeError:
                raise FieldError(where, f"{shown(value)} has the wrong type for {name}") from None
        for param in spec.when or {}:
            where = f"{key}.when.{param}"
            if param not in seen or seen[param].type != "categorical":
                raise FieldError(where, "must name a categorical parameter listed earlier in space")
            for value in spec.condition_values(param):
                if value not in (seen[param].choices or []):
                    raise FieldError(
                        where,
                        f"{shown(value)} is not one of its choices: {shown(seen[param].choices)}",
                    )
        seen[name] = spec


def load_study_config(path: str) -> StudyConfig:
    """Read a study file and map it onto StudyConfig; errors name the file and the key."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            path, "", "expected a mapping of keys (train, space, sampler, ...) at the top level"
        )
    return from_mapping(StudyConfig, data, source=path)
