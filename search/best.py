"""The best trial of a study as a plain record: what `search best` prints and export builds on."""

from __future__ import annotations

import os
from typing import Any

from search.errors import SearchError


def best_record(name: str, url: str, runs_dir: str | None = None) -> dict[str, Any]:
    import optuna
    from optuna.trial import TrialState

    from search.checkpoint import BestKeeper
    from search.runner import study_dir
    from search.study import load_existing_study, redact

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_existing_study(name, url)
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise SearchError(f"study {name!r} has no complete trial yet")
    best = study.best_trial
    keeper = BestKeeper(study_dir(name, runs_dir) if runs_dir else study_dir(name))
    checkpoint = None
    if keeper.current() == best.number:
        checkpoint = os.path.abspath(keeper.best_link)
    return {
        "study": name,
        "metric": study.user_attrs.get("metric", "value"),
        "value": best.value,
        "params": best.params,
        "trial": best.number,
        "checkpoint": checkpoint,
        "storage": redact(url),
        "train_config": best.user_attrs.get("train_config"),
    }
