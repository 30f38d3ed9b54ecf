"""Every user attribute `search` keeps on an Optuna trial or study, named once.

Facts about a trial live in its user attributes (Optuna owns its state), so the dashboard and
the stock `optuna` CLI show them too. The objective writes them, the runner and `results/`
read them: both go through these names.
"""

from __future__ import annotations

from typing import Any

# Trial attributes.
TRAIN_CONFIG = "train_config"
"""The trial's complete TrainConfig, as plain data: what `search export` writes."""
START = "start"
"""What a starting trial is (trial 0 and 1): they train to the end unpruned."""
WORKER = "worker"
"""Which host, process, worker and device ran it."""
DATA = "data"
"""Which pipeline held the images (memory or stream) and why."""
DATA_WARNING = "data_warning"
"""Images that could not be decoded and were left out."""
WEIGHTS = "weights"
"""What the model started from: the file, tensors loaded, head replaced."""
EPOCHS_RUN = "epochs_run"
HISTORY = "history"
"""One row per epoch: lr, train loss, every val metric, seconds."""
COST = "cost"
"""Training seconds, images per second, peak memory, parameters."""
OOM_RETRIES = "oom_retries"
LIVE = "live"
"""A running trial's epoch, batch, images/s and last val value, every few seconds
(study/live.py); on a finished trial, where it last was."""
BEST_EPOCH = "best_epoch"
VALUE_SE = "value_se"
"""The value's bootstrap standard error on the val split, from the best epoch's confusion."""
PRUNED_REASON = "pruned_reason"
FAIL_REASON = "fail_reason"

# Study attributes.
FINGERPRINT = "search_fingerprint"
"""`StudyConfig.fingerprint()`: a resumed study must match it."""
LEGACY_FINGERPRINT = "search_config"
"""The fingerprint's name before 0.2; still read on resume."""
METRIC = "metric"
PICK = "search_pick"
"""The study file's `pick` rule (cost studies), so every worker applies the same one."""
RUN_TIME_PREFIX = "run_time:"
"""A run's span of wall-clock, `[start, end]`, one attribute per run (store/clock.py)."""


def record_start(trial: Any, worker: dict, data: Any, weights: Any) -> None:
    """What a trial's run is about to train on: where, which pipeline (`data`: a Dataset's
    cache, cache_reason, skipped), which images it left out, which weights it starts from
    (`weights.record()`)."""
    trial.set_user_attr(WORKER, worker)
    trial.set_user_attr(WEIGHTS, weights.record())
    trial.set_user_attr(DATA, {"cache": data.cache, "why": data.cache_reason})
    if data.skipped:
        trial.set_user_attr(DATA_WARNING, f"skipped undecodable images: {list(data.skipped)}")


def record_epoch(
    trial: Any, epoch: int, history: list[dict], cost: dict, oom_retries: list[dict]
) -> None:
    """A trial's state after each epoch, so a killed trial still shows how far it got."""
    trial.set_user_attr(EPOCHS_RUN, epoch)
    trial.set_user_attr(HISTORY, history)
    trial.set_user_attr(COST, cost)
    if oom_retries:
        trial.set_user_attr(OOM_RETRIES, oom_retries)


def record_best(trial: Any, epoch: int, se: float | None) -> None:
    """A complete trial's best epoch, and how finely its val split measures the value."""
    trial.set_user_attr(BEST_EPOCH, epoch)
    if se is not None:
        trial.set_user_attr(VALUE_SE, se)
