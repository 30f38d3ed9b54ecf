"""Everything checked before a study starts, in one place, so that bad input writes nothing."""

from __future__ import annotations

import warnings

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

from search.errors import ConfigError
from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler
from search.study.space import suggest
from search.trainer.checks import check_train_config
from search.trainer.data.dataset import Dataset
from search.trainer.model import check_model_name


def check_study(config: StudyConfig, source: str, *, seed: int | None = None) -> Dataset:
    """Build the sampler and pruner and try them, look the model up in timm, decode the images.

    Each failure is a ConfigError naming `source` and the key. Returns the dataset, loaded.
    """
    sampler = create_sampler(config.sampler, seed=seed, source=source)
    pruner = create_pruner(config.pruner, epochs=config.train.epochs, source=source)
    _try_one_trial(config, sampler, pruner, source)
    searched_models = config.space.get("model")
    for i, model in enumerate(searched_models.choices if searched_models else []):
        try:
            check_model_name(model)
        except ValueError as err:
            raise ConfigError(source, f"space.model.choices[{i}]", str(err)) from None
    return check_train_config(config.train, source, "train")


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
