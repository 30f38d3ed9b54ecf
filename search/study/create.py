"""Create a study, or resume it when its study file is unchanged."""

from __future__ import annotations

import json
from typing import Any

import optuna

from search.errors import SearchError
from search.store.storage import redact, storage_url
from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler

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
    pruner = create_pruner(config.pruner)
    try:
        existing = optuna.load_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner
        )
    except KeyError:
        existing = None
    if existing is not None:
        if any(
            t.state == optuna.trial.TrialState.RUNNING for t in existing.get_trials(deepcopy=False)
        ):
            # Another worker (another machine, say) is sampling with the same seed: diverge from it.
            sampler.reseed_rng()
        stored = stored_fingerprint(existing)
        if stored is not None and stored != fingerprint:
            url = redact(storage_url(storage))
            changed = sorted(_diff(stored, fingerprint))
            raise SearchError(
                f"study {name!r} in {url} was created from a different study file "
                f"(changed: {', '.join(changed[:5])}); run it as a new study with --name {name}-2, "
                f"or delete the old one with: optuna delete-study --study-name {name} --storage {url}"
            )
        return existing
    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            direction=config.direction,
        )
    except optuna.exceptions.DuplicatedStudyError:  # another worker created it a moment ago
        return create_or_resume(name, config, storage, seed=seed)
    study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
    study.set_user_attr("metric", config.metric)
    # The dashboard's axes then say val_macro_f1, not Objective 0.
    study.set_metric_names([config.metric])
    return study


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            d for k in keys for d in _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        ]
    return [] if old == new else [prefix or "(all)"]
