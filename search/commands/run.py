"""`search run`: a study from its file, on one worker or several."""

from __future__ import annotations

import argparse
import sys

from search import faults
from search.commands.common import (
    add_artifacts,
    add_storage,
    artifact_mirror,
    artifacts_location,
    bounded_int,
    positive,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--study",
        required=True,
        metavar="NAME|PATH",
        help="studies/NAME.yaml, or a path to a study file",
    )
    p.add_argument(
        "--name", help="store the study under this name instead of the file's (to start afresh)"
    )
    p.add_argument(
        "--n-trials",
        type=positive(int),
        metavar="N",
        help="the study's total of finished trials (not an increment)",
    )
    p.add_argument(
        "--timeout",
        type=positive(float),
        metavar="S",
        help="stop starting new trials after S seconds",
    )
    p.add_argument(
        "--seed",
        type=bounded_int(0, 2**32 - 1, "a seed"),
        metavar="N",
        help="seed of the sampler and of training",
    )
    p.add_argument(
        "--workers",
        type=positive(int),
        default=1,
        metavar="N",
        help="worker processes on this machine, one study (one GPU each when there are several)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(argv=None)
    add_storage(p)
    add_artifacts(p)


def run(args: argparse.Namespace) -> int:
    """Run (or resume) a study until it holds --n-trials finished trials.

    examples:
      search run --study lr-sched
      search run --study smoke --n-trials 4 --seed 1
      search run --study lr-sched --workers 2
      search run --study studies/mine.yaml --storage postgresql+psycopg2://user:pw@db/search --artifacts /shared/artifacts
    """
    if args.workers > 1:
        from search.study.workers import run_workers

        return run_workers(sys.argv[1:] if args.argv is None else args.argv, args.workers)
    import optuna

    from objectives.classify import ClassifyObjective
    from search.store.checkpoint import BestKeeper
    from search.store.paths import study_dir
    from search.store.storage import open_storage, resolve_storage_url
    from search.store.urls import redact
    from search.study.checks import check_study
    from search.study.config import load_study_config
    from search.study.create import create_or_resume
    from search.study.files import check_study_name, resolve_study_file
    from search.study.runner import run_study

    name, path = resolve_study_file(args.study)
    if args.name is not None:
        name = check_study_name(args.name, "--name")
    config = load_study_config(path)
    if args.seed is not None:
        config = config.with_overrides(train=config.train.replace(seed=args.seed))
    config = config.with_overrides(n_trials=args.n_trials, timeout=args.timeout)
    # Our own line per trial says what Optuna's log would, without its tracebacks.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # Bad input fails here, before anything is written.
    dataset = check_study(config, path, seed=args.seed)
    artifacts_location(args, config.artifacts)
    url = resolve_storage_url(args.storage, config.storage)
    storage = open_storage(url, config.heartbeat)
    study = create_or_resume(name, config, storage, seed=args.seed)
    faults.reach("study-ready")
    keeper = BestKeeper(study_dir(name, url), artifact_mirror(args, storage, config.artifacts))
    print(f"study {name!r} in {redact(url)}: target {config.n_trials} finished trials")
    print(
        f"data: {dataset.num_classes} classes, {len(dataset.train)} training images, "
        f"{dataset.size} px, in {dataset.cache} ({dataset.cache_reason})",
        flush=True,
    )
    summary = run_study(
        study,
        ClassifyObjective(config, keeper),
        keeper,
        n_trials=config.n_trials,
        timeout=config.timeout,
        progress=not args.quiet,
    )
    if summary.best_trial is None:
        print(
            f"{summary.finished} trials finished; no best yet: none completed, "
            "or none meets the study's pick rule"
        )
    else:
        print(
            f"{summary.finished} trials finished; best {config.metric}={summary.best_value:.4f} "
            f"(trial {summary.best_trial}), checkpoint {summary.checkpoint}"
        )
    return 0
