"""Study files (`studies/<name>.yaml`) loaded into frozen, validated config objects.

Every error names the file and the dotted key, and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from search.errors import ConfigError, SearchError
from search.space import ParamSpec
from search.trainer.config import SEARCHABLE, DataConfig, TrainConfig
from search.typed import FieldError, from_mapping

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STUDIES_DIR = "studies"

METRICS = {
    "val_macro_f1": "maximize",
    "val_accuracy": "maximize",
    "val_macro_precision": "maximize",
    "val_macro_recall": "maximize",
    "val_loss": "minimize",
}


@dataclass(frozen=True)
class SamplerConfig:
    name: str = "tpe"
    """tpe, random, cmaes, gp or qmc (Optuna's samplers)."""
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the Optuna sampler, e.g. n_startup_trials for tpe."""


@dataclass(frozen=True)
class PrunerConfig:
    name: str = "successive_halving"
    """successive_halving, hyperband, median, percentile or none."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the Optuna pruner, e.g. min_resource, reduction_factor."""


@dataclass(frozen=True)
class HeartbeatConfig:
    """How a killed worker's RUNNING trial is detected and retried."""

    interval: int = 10
    """Seconds between heartbeats of a running trial."""
    grace_period: int = 30
    """Seconds without a heartbeat after which a trial is failed and retried."""
    max_retry: int = 2
    """How many times one trial's parameters are retried after its worker died."""

    def __post_init__(self) -> None:
        for name in ("interval", "grace_period"):
            if getattr(self, name) < 1:
                raise FieldError(name, f"must be >= 1 second, got {getattr(self, name)}")
        if self.grace_period <= self.interval:
            raise FieldError(
                "grace_period",
                f"must be longer than interval ({self.interval}), got {self.grace_period}",
            )
        if self.max_retry < 0:
            raise FieldError("max_retry", f"must be >= 0, got {self.max_retry}")


@dataclass(frozen=True)
class StudyConfig:
    """A study file: what to train, what to search, and how."""

    train: TrainConfig
    """The fixed training config; searched keys in `space` override it per trial."""
    space: dict[str, ParamSpec]
    description: str = ""
    objective: str = "classify"
    """An objective registered in the `objectives` package."""
    metric: str = "val_macro_f1"
    n_trials: int | None = 20
    """The study's total of finished (complete or pruned) trials, across runs and workers."""
    timeout: float | None = None
    """Stop starting trials after this many seconds of one run."""
    storage: str | None = None
    """An Optuna storage URL; the default is a SQLite file under runs/."""
    artifacts: str | None = None
    """Optuna artifact store for the best checkpoint: a shared directory or s3://bucket."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise FieldError(
                "metric", f"unknown metric {self.metric!r}; choose from: {', '.join(METRICS)}"
            )
        if self.n_trials is not None and self.n_trials < 1:
            raise FieldError("n_trials", f"must be >= 1, got {self.n_trials}")
        if self.timeout is not None and self.timeout <= 0:
            raise FieldError("timeout", f"must be > 0, got {self.timeout}")
        if not self.space:
            raise FieldError("space", "must name at least one parameter to search")

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    def with_overrides(self, **changes: Any) -> StudyConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def fingerprint(self) -> dict[str, Any]:
        """What a study's trials depend on: a resumed study must match it exactly."""
        from search.typed import to_mapping

        return to_mapping(
            {
                "objective": self.objective,
                "metric": self.metric,
                "train": self.train,
                "space": self.space,
            }
        )


def check_study_name(name: str, source: str = "--study") -> str:
    if not STUDY_NAME.match(name):
        raise SearchError(
            f"{source}: {name!r} is not a safe study name; use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def resolve_study_file(study: str, studies_dir: str = STUDIES_DIR) -> tuple[str, str]:
    """(name, path) for `--study NAME` (studies/NAME.yaml) or `--study path/to/file.yaml`."""
    if study.endswith((".yaml", ".yml")) or os.sep in study:
        path = study
        name = os.path.splitext(os.path.basename(study))[0]
    else:
        name = check_study_name(study)
        path = os.path.join(studies_dir, f"{study}.yaml")
    if not os.path.isfile(path):
        known = (
            sorted(f[:-5] for f in os.listdir(studies_dir) if f.endswith(".yaml"))
            if os.path.isdir(studies_dir)
            else []
        )
        listed = (
            f"; studies here: {', '.join(known)}" if known else f"; no studies in {studies_dir}/"
        )
        raise SearchError(f"{path}: no such study file{listed}")
    return check_study_name(name, path), path


def read_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(path, "", f"malformed YAML{where}: {problem}") from None
    except OSError as err:
        raise SearchError(f"{path}: cannot read ({err.strerror})") from None


def _check_space(config: StudyConfig, source: str) -> None:
    seen: dict[str, ParamSpec] = {}
    for name, spec in config.space.items():
        key = f"space.{name}"
        if name not in SEARCHABLE:
            from search.registry import did_you_mean

            raise ConfigError(
                source,
                key,
                f"not a searchable key{did_you_mean(name, list(SEARCHABLE))}; choose from: {', '.join(SEARCHABLE)}",
            )
        for i, value in enumerate(spec.bounds()):
            where = (
                f"{key}.choices[{i}]"
                if spec.type == "categorical"
                else f"{key}.{('low', 'high')[i]}"
            )
            try:
                config.train.replace(**{name: value})
            except FieldError as err:
                raise ConfigError(source, where, err.message) from None
            except TypeError:
                raise ConfigError(
                    source, where, f"{value!r} has the wrong type for {name}"
                ) from None
        for param, values in (spec.when or {}).items():
            if param not in seen or seen[param].type != "categorical":
                raise ConfigError(
                    source,
                    f"{key}.when.{param}",
                    "must name a categorical parameter listed earlier in space",
                )
            for value in spec.condition_values(param):
                if value not in (seen[param].choices or []):
                    raise ConfigError(
                        source,
                        f"{key}.when.{param}",
                        f"{value!r} is not one of its choices: {seen[param].choices}",
                    )
        seen[name] = spec


def load_study_config(path: str) -> StudyConfig:
    """Read, type-check and validate a study file, including names that need torch, timm, optuna."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            path, "", "expected a mapping of keys (train, space, sampler, ...) at the top level"
        )
    config = from_mapping(StudyConfig, data, source=path)
    _check_space(config, path)
    from search.trainer.model import check_model_name

    try:
        check_model_name(config.train.model)
    except ValueError as err:
        raise ConfigError(path, "train.model", str(err)) from None
    from objectives import OBJECTIVES
    from search.registry import UnknownNameError
    from search.study import check_pruner, check_sampler

    try:
        OBJECTIVES.get(config.objective)
    except UnknownNameError as err:
        raise ConfigError(path, "objective", str(err)) from None
    check_sampler(config.sampler, path)
    check_pruner(config.pruner, path)
    return config


def load_data(config: DataConfig, source: str, key: str = "train.data") -> Any:
    """Decode the dataset now (it is cached for the trials), naming the file and key on failure."""
    from search.trainer.data import DataError, load_dataset

    try:
        return load_dataset(config)
    except DataError as err:
        raise ConfigError(source, f"{key}.path" if config.path else key, str(err)) from None
