"""Optuna parts from config: storage (with heartbeat and retry), sampler, pruner, and the study."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler

from search.config import HeartbeatConfig, PrunerConfig, SamplerConfig, StudyConfig
from search.errors import ConfigError, SearchError
from search.pruners import TopKAfterEpochPruner
from search.registry import Registry, UnknownNameError

RUNS_DIR = "runs"
STORAGE_ENV = "SEARCH_STORAGE"

SAMPLERS: Registry[Callable[..., BaseSampler]] = Registry("sampler")
SAMPLERS.register("tpe", optuna.samplers.TPESampler)
SAMPLERS.register("random", optuna.samplers.RandomSampler)
SAMPLERS.register("cmaes", optuna.samplers.CmaEsSampler)
SAMPLERS.register("gp", optuna.samplers.GPSampler)
SAMPLERS.register("qmc", optuna.samplers.QMCSampler)

PRUNERS: Registry[Callable[..., BasePruner]] = Registry("pruner")
PRUNERS.register("successive_halving", optuna.pruners.SuccessiveHalvingPruner)
PRUNERS.register("hyperband", optuna.pruners.HyperbandPruner)
PRUNERS.register("median", optuna.pruners.MedianPruner)
PRUNERS.register("percentile", optuna.pruners.PercentilePruner)
PRUNERS.register("none", optuna.pruners.NopPruner)
PRUNERS.register("top_k", TopKAfterEpochPruner)


def _build(registry: Registry, name: str, kwargs: dict[str, Any], source: str, key: str):
    try:
        factory = registry.get(name)
    except UnknownNameError as err:
        raise ConfigError(source, f"{key}.name", str(err)) from None
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            source, f"{key}.options", f"{registry.kind} {name!r} rejects them: {err}"
        ) from None


def worker_seed(seed: int | None) -> int | None:
    """Worker i of `--workers N` samples with seed + i: the same seed would repeat the same trials."""
    if seed is None:
        return None
    return seed + int(os.environ.get("SEARCH_WORKER", "0") or 0)


def create_sampler(
    config: SamplerConfig, *, seed: int | None = None, source: str = "sampler"
) -> BaseSampler:
    kwargs = dict(config.options)
    kwargs.setdefault("seed", worker_seed(seed if seed is not None else config.seed))
    return _build(SAMPLERS, config.name, kwargs, source, "sampler")


def create_pruner(config: PrunerConfig, *, source: str = "pruner") -> BasePruner:
    return _build(PRUNERS, config.name, dict(config.options), source, "pruner")


def check_sampler(config: SamplerConfig, source: str) -> None:
    create_sampler(config, source=source)


def check_pruner(config: PrunerConfig, source: str) -> None:
    create_pruner(config, source=source)


def default_storage_url(runs_dir: str = RUNS_DIR) -> str:
    return f"sqlite:///{os.path.join(runs_dir, 'search.db')}"


def resolve_storage_url(cli_value: str | None, file_value: str | None = None) -> str:
    """--storage, then $SEARCH_STORAGE, then the study file's `storage`, then runs/search.db."""
    return cli_value or os.environ.get(STORAGE_ENV) or file_value or default_storage_url()


def open_storage(url: str, heartbeat: HeartbeatConfig | None = None) -> optuna.storages.BaseStorage:
    """An RDB storage with heartbeats, whose stale trials are retried with the same parameters."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        # Workers wait for SQLite's lock instead of failing with "database is locked".
        engine_kwargs["connect_args"] = {"timeout": 120}
    elif url.startswith("postgresql"):
        # A worker needs few connections: one in use, one spare for the heartbeat thread.
        engine_kwargs.update(pool_size=2, max_overflow=2, pool_pre_ping=True)
    hb = heartbeat or HeartbeatConfig()
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=hb.interval,
                grace_period=hb.grace_period,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=hb.max_retry
                ),
            )
        except Exception as err:  # sqlalchemy raises many kinds; all mean "cannot use this URL"
            text = str(err)
            # Workers that start together on an empty database race to create its tables.
            if attempt < 4 and (
                "already exists" in text or "UniqueViolation" in text or "IntegrityError" in text
            ):
                time.sleep(0.5 * (attempt + 1))
                continue
            first = text.strip().splitlines()[0] if text.strip() else err.__class__.__name__
            raise SearchError(f"cannot open storage {redact(url)}: {first}") from None
    raise AssertionError("unreachable")


def redact(url: str) -> str:
    """The URL without its password, for messages and JSON."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def load_existing_study(name: str, storage: str | optuna.storages.BaseStorage) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SearchError(f"no study named {name!r} in {redact(_url(storage))}") from None


def _url(storage: str | optuna.storages.BaseStorage) -> str:
    return storage if isinstance(storage, str) else getattr(storage, "url", str(storage))


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
        stored = existing.user_attrs.get("search_config")
        if stored is not None and stored != fingerprint:
            changed = sorted(_diff(stored, fingerprint))
            raise SearchError(
                f"study {name!r} in {redact(_url(storage))} was created from a different study file "
                f"(changed: {', '.join(changed[:5])}); run it as a new study with --name {name}-2, "
                f"or delete the old one with: optuna delete-study --study-name {name} --storage {redact(_url(storage))}"
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
    study.set_user_attr("search_config", fingerprint)
    study.set_user_attr("metric", config.metric)
    study.set_metric_names(
        [config.metric]
    )  # the dashboard's axes say val_macro_f1, not Objective 0
    return study


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [
            d for k in keys for d in _diff(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else k)
        ]
    return [] if old == new else [prefix or "(all)"]
