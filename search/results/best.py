"""The best trial of a study as a plain record: what `search best` prints and export builds on."""

from __future__ import annotations

import os
from typing import Any

import optuna
from optuna.trial import TrialState

from search.errors import SearchError
from search.store import attrs
from search.store.anytime import describe_progress, improvements, value_se
from search.store.checkpoint import BestKeeper
from search.store.paths import study_dir
from search.store.storage import best_trial, trial_value
from search.store.urls import redact


def best_record(study: optuna.Study, url: str, mirror: Any = None) -> dict[str, Any]:
    """Value, params, trial, checkpoint (fetched from the artifact store if need be), storage."""
    best = best_trial(study)
    if best is None:
        if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            rule = study.user_attrs.get(attrs.PICK) or {}
            shown = ", ".join(f"{k}={v}" for k, v in rule.items())
            raise SearchError(f"study {study.study_name!r}: no trial meets its pick rule ({shown})")
        raise SearchError(f"study {study.study_name!r} has no complete trial yet")
    keeper = BestKeeper(study_dir(study.study_name, url), mirror)
    if keeper.current() != best.number and mirror is not None:
        keeper.promote(study)  # on another machine: fetch the best from the artifact store
    checkpoint = os.path.abspath(keeper.best_link) if keeper.current() == best.number else None
    progress = improvements(study)
    se = value_se(best)
    return {
        "study": study.study_name,
        "metric": study.user_attrs.get(attrs.METRIC, "value"),
        "value": trial_value(best),
        "value_se": se,
        "values": best.values,
        "params": best.params,
        "trial": best.number,
        "checkpoint": checkpoint,
        "storage": redact(url),
        "train_config": best.user_attrs.get(attrs.TRAIN_CONFIG),
        "progress": describe_progress(progress, se=se),
        "spent_s": progress.spent,
    }
