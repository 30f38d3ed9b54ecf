"""Create a study, or resume it when its study file is unchanged."""

from __future__ import annotations

import json
import time
from typing import Any

import optuna

from search.errors import SearchError
from search.store.storage import PICK_ATTR, storage_url
from search.store.urls import redact
from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler
from search.study.space import START_ATTR, STARTS, starting_params
from search.yaml_dataclasses import to_mapping

FINGERPRINT_ATTR = "search_fingerprint"
"""The study user attribute that holds `StudyConfig.fingerprint()`."""
LEGACY_FINGERPRINT_ATTR = "search_config"  # its name before 0.2; still read on resume


def stored_fingerprint(study: optuna.Study) -> Any:
    attrs = study.user_attrs
    return attrs.get(FINGERPRINT_ATTR, attrs.get(LEGACY_FINGERPRINT_ATTR))


def create_or_resume(
    name: str, config: StudyConfig, storage: optuna.storages.BaseStorage, *, seed: int | None = None
) -> optuna.Study:
    """Create the study, or resume it when its search space and training setup are unchanged."""
    fingerprint = json.loads(json.dumps(config.fingerprint()))
    sampler = create_sampler(config.sampler, seed=seed)
    pruner = create_pruner(config.pruner, epochs=config.train.epochs)
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
        existing.set_user_attr(PICK_ATTR, to_mapping(config.pick))  # a rule, not a result
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
        return create_or_resume(name, config, storage, seed=seed)
    study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
    study.set_user_attr("metric", config.metric)
    study.set_user_attr(PICK_ATTR, to_mapping(config.pick))
    # The dashboard's axes then say val_macro_f1, not Objective 0.
    study.set_metric_names(
        [config.metric] + ([config.cost_objective] if config.cost_objective else [])
    )
    # After the fingerprint: a worker that sees a trial in the study expects to find it.
    if config.baseline_first:
        for params, start in zip(starting_params(config.space, config.train), STARTS):
            study.enqueue_trial(params, user_attrs={START_ATTR: start}, skip_if_exists=True)
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
