"""`search run`: a study from its file, on one worker or several."""

from __future__ import annotations

import argparse

from search.commands.common import add_artifacts, add_storage, bounded_int, positive
from search.store.clock import parse_duration


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
    from search.api import run as run_study

    run_study(
        args.study,
        budget=args.budget,
        n_trials=args.n_trials,
        timeout=args.timeout,
        seed=args.seed,
        name=args.name,
        workers=args.workers,
        storage=args.storage,
        artifacts=args.artifacts,
        progress=not args.quiet,
    )
    return 0
