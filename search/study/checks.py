"""Everything checked before a study starts, in one place, so that bad input writes nothing."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

from search.errors import ConfigError
from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler
from search.study.space import suggest
from search.trainer.checks import check_names, check_starting_weights, check_train_config
from search.trainer.data.augment import IMAGE_AUGMENT_KEYS, image_augmented
from search.trainer.data.dataset import Dataset
from search.trainer.data.load import Datasets
from search.trainer.model import check_model_name
from search.yaml_dataclasses import FieldError


@dataclass(frozen=True)
class CheckedStudy:
    """What the checks built, so that nothing is built twice: the sampler and pruner the
    study runs with, and the datasets its trials read (the `train:` model's already loaded)."""

    sampler: BaseSampler
    pruner: BasePruner
    datasets: Datasets
    dataset: Dataset


def check_study(config: StudyConfig, source: str, *, seed: int | None = None) -> CheckedStudy:
    """Build the sampler and pruner and try them, check every name the space can choose, look
    the models up in timm, decode the images.

    Each failure is a ConfigError naming `source` and the key.
    """
    sampler = create_sampler(config.sampler, seed=seed, source=source)
    pruner = create_pruner(config.pruner, epochs=config.train.epochs, source=source)
    _try_one_trial(config, sampler, pruner, source)
    _check_space_names(config, source)
    datasets = Datasets()
    augments = image_augmented(config.train) or any(k in config.space for k in IMAGE_AUGMENT_KEYS)
    dataset = check_train_config(
        config.train, source, "train", datasets=datasets, whole=augments
    )
    _check_weights_per_model(config, source, dataset)
    return CheckedStudy(sampler, pruner, datasets, dataset)


def _models(config: StudyConfig) -> list[str]:
    """Every model a trial of the study can train."""
    spec = config.space.get("model")
    if spec is None or spec.type != "categorical":
        return [config.train.model]
    return [str(choice) for choice in spec.choices or []]


def _check_weights_per_model(config: StudyConfig, source: str, dataset: Dataset) -> None:
    """One weights file cannot serve several architectures; a mapping names every model the
    study trains, and no other; each model's weights load strictly (check_starting_weights)."""
    models = _models(config)
    train = config.train
    if isinstance(train.pretrained_path, str) and len(models) > 1:
        listed = ", ".join(models)
        raise ConfigError(
            source,
            "train.pretrained_path",
            f"one file for {len(models)} models ({listed}): give each its own, "
            f"pretrained_path: {{{models[0]}: path/to/file, {models[1]}: null}} (null: random)",
        )
    for key in ("pretrained_path", "pretrained"):
        mapping = getattr(train, key)
        if not isinstance(mapping, dict):
            continue
        missing = [m for m in models if m not in mapping]
        extra = [m for m in mapping if m not in models]
        if key == "pretrained_path" and missing:
            raise ConfigError(
                source,
                f"train.{key}",
                f"no entry for model {', '.join(missing)}: give its file, or null to start "
                "it from random",
            )
        if extra:
            raise ConfigError(
                source,
                f"train.{key}.{extra[0]}",
                f"the study trains no model {extra[0]} (it trains {', '.join(models)})",
            )
    for model in models:
        check_starting_weights(train.replace(model=model), dataset, source, "train")


def _check_space_names(config: StudyConfig, source: str) -> None:
    """Each end of each searched range, and each choice, as `check_names` sees it."""
    for name, spec in config.space.items():
        for i, value in enumerate(spec.bounds()):
            where = (
                f"space.{name}.choices[{i}]"
                if spec.type == "categorical"
                else f"space.{name}.{('low', 'high')[i]}"
            )
            if name == "model":
                try:
                    check_model_name(value)
                except ValueError as err:
                    raise ConfigError(source, where, str(err)) from None
                continue
            try:
                check_names(config.train.replace(**{name: value}))
            except FieldError as err:
                # A rule between keys (a loss that cannot take Mixup) names the key it is on.
                key = where if err.field == name else f"train.{err.field}"
                raise ConfigError(source, key, err.message) from None


def _try_one_trial(
    config: StudyConfig, sampler: BaseSampler, pruner: BasePruner, source: str
) -> None:
    """One trial of a throw-away in-memory study.

    Optuna checks few options when it builds a sampler or pruner: `n_startup_trials: "abc"`
    fails only when sampling. Found here, it is one line; found in the study, every trial
    would fail.
    """
    study = optuna.create_study(direction=config.direction, sampler=sampler, pruner=pruner)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = study.ask()
        for key, action in (
            ("sampler", lambda: suggest(trial, config.space)),
            ("pruner", lambda: (trial.report(0.5, 1), trial.should_prune())),
        ):
            try:
                action()
            except Exception as err:  # an option of the wrong type fails anywhere inside
                name = getattr(config, key).name
                detail = " ".join(str(err).split())[:120]
                raise ConfigError(
                    source, f"{key}.options", f"{key} {name!r} fails with them: {detail}"
                ) from None
