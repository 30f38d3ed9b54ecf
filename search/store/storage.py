"""The Optuna storage of a study: which URL, opened with heartbeats and retries, shown safely."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.env import STORAGE_ENV
from search.errors import SearchError
from search.store import attrs
from search.store.paths import check_creatable_dir, default_storage_url
from search.store.urls import redact, redact_text
from search.yaml_dataclasses import FieldError


@dataclass(frozen=True)
class HeartbeatConfig:
    """How a killed worker's RUNNING trial is detected and retried (a study file's `heartbeat`)."""

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


def resolve_storage_url(cli_value: str | None, file_value: str | None = None) -> str:
    """--storage, then $SEARCH_STORAGE, then the study file's `storage`, then runs/search.db."""
    return cli_value or os.environ.get(STORAGE_ENV) or file_value or default_storage_url()


def require_existing(url: str) -> None:
    """Reading a study must not create an empty SQLite database as a side effect."""
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        raise SearchError(
            f"no studies yet: {url} does not exist (run `search run --study NAME` first)"
        )


def open_storage(url: str, heartbeat: HeartbeatConfig | None = None) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats, whose stale trials are retried with the same parameters."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        folder = os.path.dirname(url[len("sqlite:///") :])
        if folder:
            check_creatable_dir(folder, f"--storage {redact(url)}")
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as err:
                raise SearchError(
                    f"--storage {redact(url)}: cannot create {folder} ({err.strerror})"
                ) from None
        # Workers wait for SQLite's lock instead of failing with "database is locked". No
        # implicit transactions from pysqlite: _begin_immediate opens each one itself.
        engine_kwargs["connect_args"] = {"timeout": 120, "isolation_level": None}
    elif url.startswith("postgresql"):
        # A worker needs few connections: one in use, one spare for the heartbeat thread.
        engine_kwargs.update(pool_size=2, max_overflow=2, pool_pre_ping=True)
    hb = heartbeat or HeartbeatConfig()
    for attempt in range(5):
        try:
            storage = optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=hb.interval,
                grace_period=hb.grace_period,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=hb.max_retry
                ),
            )
            if url.startswith("sqlite:///"):
                from sqlalchemy import event

                event.listen(storage.engine, "begin", _begin_immediate)
            return storage
        except Exception as err:  # sqlalchemy raises many kinds; all mean "cannot use this URL"
            text = str(err)
            # Workers that start together on an empty database race to create its tables.
            if attempt < 4 and (
                "already exists" in text or "UniqueViolation" in text or "IntegrityError" in text
            ):
                time.sleep(0.5 * (attempt + 1))
                continue
            first = text.strip().splitlines()[0] if text.strip() else err.__class__.__name__
            raise SearchError(
                f"cannot open storage {redact(url)}: {redact_text(first, url)}"
            ) from None
    raise AssertionError("unreachable")


def _begin_immediate(connection: Any) -> None:
    """Open an SQLite transaction with the database's write lock already taken.

    Optuna takes a waiting (enqueued or retried) trial with SELECT ... FOR UPDATE, which
    SQLite ignores, then an UPDATE; pysqlite starts no transaction before a SELECT. So two
    workers could both read the trial as waiting and both run it (optuna#4002); the second
    then fails with "Cannot tell a COMPLETE trial". Under the write lock the second worker
    waits, sees the trial running and takes the next one.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def storage_url(storage: str | optuna.storages.BaseStorage) -> str:
    return storage if isinstance(storage, str) else getattr(storage, "url", str(storage))


def load_existing_study(name: str, storage: str | optuna.storages.BaseStorage) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SearchError(f"no study named {name!r} in {redact(storage_url(storage))}") from None


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The study's chosen trial, or None before any trial completed (Optuna raises then).

    In a single-objective study, its best. In a study that also minimises training seconds,
    the best value on the Pareto front among the trials within the `pick` rule's budget
    (kept in the study, so every worker and machine applies the same rule).
    """
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    if len(study.directions) == 1:
        return study.best_trial
    budget = (study.user_attrs.get(attrs.PICK) or {}).get("max_train_seconds")
    front = [t for t in study.best_trials if budget is None or t.values[1] <= budget]
    if not front:
        return None
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    return (max if maximize else min)(front, key=lambda t: t.values[0])


def trial_value(trial: FrozenTrial) -> float | None:
    """The trial's value of the study's metric (its first objective), or None."""
    return trial.values[0] if trial.values else None
