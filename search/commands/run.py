"""`search run`: a study from its file, on one worker or several."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from search import faults
from search.commands.common import (
    add_artifacts,
    add_storage,
    artifact_mirror,
    artifacts_location,
    bounded_int,
    positive,
)
from search.store.clock import format_duration, parse_duration

if TYPE_CHECKING:
    from search.store.clock import StudyClock
    from search.study.config import StudyConfig


def duration(text: str) -> float:
    """An argparse type: 90s, 30m, 2h, 1h30m, or seconds."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


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
        help="a cap on the study's finished trials, a total, not an increment "
        "(default: the study file's; 20 when it sets neither n_trials nor budget)",
    )
    p.add_argument(
        "--budget",
        type=duration,
        metavar="TIME",
        help="the study's total wall-clock across resumes and workers: 90s, 30m, 2h, 1h30m; "
        "running trials stop at their next epoch when it is spent",
    )
    p.add_argument(
        "--timeout",
        type=positive(float),
        metavar="S",
        help="stop starting new trials after S seconds of this run (--budget counts every run)",
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
    """Run (or resume) a study until its budget is spent or it holds --n-trials finished trials.

    examples:
      search run --study lr-sched
      search run --study lr-sched --budget 30m
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
    from search.store.clock import StudyClock
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
    config = config.with_overrides(n_trials=args.n_trials, timeout=args.timeout, budget=args.budget)
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
    clock = StudyClock(study, config.budget_s)
    print(f"study {name!r} in {redact(url)}: {_target(config, clock)}")
    print(
        f"data: {dataset.num_classes} classes, {len(dataset.train)} training images, "
        f"{dataset.size} px, in {dataset.cache} ({dataset.cache_reason})",
        flush=True,
    )
    summary = run_study(
        study,
        ClassifyObjective(config, keeper, out_of_time=clock.exhausted),
        keeper,
        n_trials=config.trial_cap,
        timeout=config.timeout,
        clock=clock,
        progress=not args.quiet,
    )
    spent = format_duration(summary.spent_s)
    why = {
        "budget": f"budget spent ({spent})",
        "n_trials": f"{summary.finished} trials finished",
        "timeout": f"--timeout reached; the study has spent {spent}",
    }[summary.stopped_by]
    if summary.best_trial is None:
        print(
            f"{why}; {summary.finished} trials finished; no best yet: none completed, "
            "or none meets the study's pick rule"
        )
    else:
        print(
            f"{why}; best {config.metric}={summary.best_value:.4f} "
            f"(trial {summary.best_trial}), checkpoint {summary.checkpoint}"
        )
    if summary.progress:
        print(summary.progress)
    return 0


def _target(config: StudyConfig, clock: StudyClock) -> str:
    """What ends this run: the budget (with what earlier runs spent), the trial cap, or both."""
    parts = []
    if clock.budget_s is not None:
        spent = clock.spent_before()
        parts.append(
            f"budget {format_duration(clock.budget_s)}"
            + (f" ({format_duration(spent)} spent by earlier runs)" if spent else "")
        )
    if config.trial_cap is not None:
        parts.append(f"at most {config.trial_cap} finished trials")
    return " or ".join(parts) or "until stopped"
