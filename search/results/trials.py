"""One row per trial, from `study.trials_dataframe()`, with why each trial stopped."""

from __future__ import annotations

import datetime

import optuna
import pandas as pd

from search.store import attrs
from search.store.storage import trial_value

BASE_COLUMNS = ["number", "state", "value", "epochs", "duration_s", "reason"]
COST_COLUMNS = {
    "model": "model",
    "train_seconds": "train_s",
    "images_per_second": "img_per_s",
    "peak_memory_mb": "peak_mb",
    "parameters": "params",
}
"""The trial's `cost` user attribute, as columns."""


def _reasons(study: optuna.Study) -> dict[int, str]:
    trials = study.get_trials(deepcopy=False)
    retried_as = {
        t.system_attrs["failed_trial"]: t.number for t in trials if "failed_trial" in t.system_attrs
    }
    reasons: dict[int, str] = {}
    for t in trials:
        if t.state == optuna.trial.TrialState.PRUNED:
            reasons[t.number] = t.user_attrs.get(attrs.PRUNED_REASON, "pruned")
        elif t.state == optuna.trial.TrialState.FAIL:
            reason = t.user_attrs.get(attrs.FAIL_REASON)
            if reason is None:
                reason = "worker died (heartbeat stopped)"
            original = t.system_attrs.get("failed_trial", t.number)
            if original in retried_as and retried_as[original] != t.number:
                reason += f"; retried as trial {retried_as[original]}"
            reasons[t.number] = reason
    return reasons


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    frame = study.trials_dataframe(attrs=("number", "state", "duration", "params", "user_attrs"))
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    reasons = _reasons(study)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    # Named by the study's metric in trials_dataframe; "value" here whatever the metric.
    values = {n: trial_value(t) for n, t in trials.items()}
    out = pd.DataFrame(
        {
            "number": frame["number"],
            "state": frame["state"],
            "value": frame["number"].map(values),
            "epochs": frame.get(f"user_attrs_{attrs.EPOCHS_RUN}", pd.Series(0, index=frame.index))
            .fillna(0)
            .astype(int),
            # Per trial: with only RUNNING trials the frame's column is not datetime-like.
            "duration_s": frame["number"].map(lambda n: _seconds(trials[n].duration)),
            "reason": frame["number"].map(lambda number: reasons.get(number, "")),
        }
    )
    costs = {n: t.user_attrs.get(attrs.COST, {}) for n, t in trials.items()}
    for key, column in COST_COLUMNS.items():
        if column == "model" and "params_model" in frame:
            continue  # a searched model is already a parameter column
        out[column] = frame["number"].map(lambda n, key=key: costs.get(n, {}).get(key))
    started = {n: t.user_attrs.get(attrs.WEIGHTS) for n, t in trials.items()}
    if any(w and w.get("source") != "random" for w in started.values()):
        out["weights"] = frame["number"].map(lambda n: _weights(started.get(n)))
    params = frame[[c for c in frame.columns if c.startswith("params_")]]
    return pd.concat([out, params.rename(columns=lambda c: c.removeprefix("params_"))], axis=1)


def _seconds(duration: datetime.timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds(), 2)


def _weights(record: dict | None) -> str | None:
    """What the trial's model started from, in a few words: the file, tensors, a new head."""
    if not record:
        return None
    if record["source"] == "random":
        return "random"
    head = ", new head" if record.get("head") else ""
    return f"{record['source']} ({record['tensors']} tensors{head})"


def render(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", indent=2)
    return frame.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}")
