"""Create a study, or resume it when its study file is unchanged."""

from __future__ import annotations

import json
import time
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

from search.errors import SearchError
from search.store import attrs
from search.store.storage import storage_url
from search.store.urls import redact
from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler
from search.study.space import STARTS, starting_params
from search.yaml_dataclasses import to_mapping


def stored_fingerprint(study: optuna.Study) -> Any:
    stored = study.user_attrs
    return stored.get(attrs.FINGERPRINT, stored.get(attrs.LEGACY_FINGERPRINT))


def create_or_resume(
    name: str,
    config: StudyConfig,
    storage: optuna.storages.BaseStorage,
    *,
    seed: int | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
) -> optuna.Study:
    """Create the study, or resume it when its search space and training setup are unchanged.

    The sampler and pruner are the ones `check_study` built, or built here from the config."""
    fingerprint = json.loads(json.dumps(config.fingerprint()))
    sampler = sampler or create_sampler(config.sampler, seed=seed)
    pruner = pruner or create_pruner(config.pruner, epochs=config.train.epochs)
    try:
        existing = optuna.load_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner
        )
    except KeyError:
        existing = None
    if existing is not None:
        stored = _wait_for_fingerprint(existing)
        url = redact(storage_url(storage))
        if stored is None:
            raise SearchError(
                f"study {name!r} in {url} was not created by `search run` (it has no study-file "
                f"fingerprint); run yours under another name with --name {name}-2"
            )
        if stored != fingerprint:
            changed = sorted(_diff(stored, fingerprint))
            raise SearchError(
                f"study {name!r} in {url} was created from a different study file "
                f"(changed: {', '.join(changed[:5])}); run it as a new study with --name {name}-2, "
                f"or delete the old one with: optuna delete-study --study-name {name} --storage {url}"
            )
        existing.set_user_attr(attrs.PICK, to_mapping(config.pick))  # a rule, not a result
        return existing
    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            directions=config.directions,
        )
    except optuna.exceptions.DuplicatedStudyError:  # another worker created it a moment ago
        return create_or_resume(name, config, storage, sampler=sampler, pruner=pruner)
    study.set_user_attr(attrs.FINGERPRINT, fingerprint)
    study.set_user_attr(attrs.METRIC, config.metric)
    study.set_user_attr(attrs.PICK, to_mapping(config.pick))
    # The dashboard's axes then say val_macro_f1, not Objective 0.
    study.set_metric_names(
        [config.metric] + ([config.cost_objective] if config.cost_objective else [])
    )
    # After the fingerprint: a worker that sees a trial in the study expects to find it.
    if config.baseline_first:
        for params, start in zip(starting_params(config.space, config.train), STARTS):
            study.enqueue_trial(params, user_attrs={attrs.START: start}, skip_if_exists=True)
    return study


def _wait_for_fingerprint(study: optuna.Study, wait_s: float = 5.0) -> Any:
    """The study's fingerprint; a study created a moment ago by another worker gets it soon."""
    deadline = time.monotonic() + wait_s
    while True:
        stored = stored_fingerprint(study)
        if stored is not None or study.get_trials(deepcopy=False) or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)  # user_attrs reads the storage afresh each time


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            d for k in keys for d in _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        ]
    return [] if old == new else [prefix or "(all)"]
