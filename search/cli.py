"""The `search` command line: one small command per verb, listed in COMMANDS.

Heavy imports (torch, timm, optuna) happen inside the commands that need them, so `--help`
answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Callable

from search.errors import SearchError

EXIT_USAGE = 2


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _storage_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL (default: $SEARCH_STORAGE, then the study file's storage, then sqlite:///runs/search.db)",
    )


def _study_storage(study: str, storage: str | None) -> tuple[str, str]:
    """(name, storage URL) for commands that read a study that already ran."""
    from search.config import STUDIES_DIR, check_study_name, read_yaml
    from search.study import resolve_storage_url

    name = check_study_name(study)
    path = os.path.join(STUDIES_DIR, f"{name}.yaml")
    file_storage = None
    if os.path.isfile(path):
        data = read_yaml(path)
        file_storage = data.get("storage") if isinstance(data, dict) else None
    return name, resolve_storage_url(storage, file_storage)


def _check_sqlite_exists(url: str) -> None:
    # Reading must not create an empty database as a side effect.
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        raise SearchError(f"no studies yet: {url} does not exist (run `search run --study NAME` first)")


def cmd_run(args: argparse.Namespace) -> int:
    """Run (or resume) a study until it holds --n-trials finished trials.

    examples:
      search run --study lr-sched
      search run --study smoke --n-trials 4 --seed 1
      search run --study studies/mine.yaml --storage postgresql+psycopg2://user:pw@db/search
    """
    import optuna

    from search.checkpoint import BestKeeper
    from search.config import check_study_name, load_data, load_study_config, resolve_study_file
    from search.runner import run_study, study_dir
    from search.study import create_or_resume, open_storage, redact, resolve_storage_url

    name, path = resolve_study_file(args.study)
    config = load_study_config(path)
    load_data(config.train.data, path)  # bad images fail here, before anything is written
    if args.name:
        name = check_study_name(args.name, "--name")
    if args.seed is not None:
        config = config.with_overrides(train=config.train.replace(seed=args.seed))
    config = config.with_overrides(n_trials=args.n_trials, timeout=args.timeout)
    # Our own line per trial says what Optuna's log would, without its tracebacks.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = resolve_storage_url(args.storage, config.storage)
    storage = open_storage(url, config.heartbeat)
    study = create_or_resume(name, config, storage, seed=args.seed)
    keeper = BestKeeper(study_dir(name))
    print(f"study {name!r} in {redact(url)}: target {config.n_trials} finished trials", flush=True)
    summary = run_study(study, config, keeper, n_trials=config.n_trials, timeout=config.timeout, progress=not args.quiet)
    if summary.best_trial is None:
        print(f"{summary.finished} trials finished; none completed, so there is no best yet")
    else:
        print(
            f"{summary.finished} trials finished; best {config.metric}={summary.best_value:.4f} "
            f"(trial {summary.best_trial}), checkpoint {summary.checkpoint}"
        )
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    """List the studies in a storage with their trial counts and best values.

    examples:
      search studies
      search studies --storage sqlite:///runs/search.db
    """
    import optuna

    from search.study import resolve_storage_url

    url = resolve_storage_url(args.storage)
    _check_sqlite_exists(url)
    summaries = optuna.get_all_study_summaries(storage=url, include_best_trial=True)
    if not summaries:
        print(f"no studies in {url}")
        return 0
    print(f"{'study':<24} {'direction':<9} {'trials':>6} {'best':>8} {'best trial':>10}")
    for s in summaries:
        best = f"{s.best_trial.value:.4f}" if s.best_trial else "-"
        number = str(s.best_trial.number) if s.best_trial else "-"
        print(f"{s.study_name:<24} {s.direction.name.lower():<9} {s.n_trials:>6} {best:>8} {number:>10}")
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    """Show the best trial of a study: value, params and its checkpoint.

    examples:
      search best --study lr-sched
      search best --study lr-sched --json
    """
    from search.best import best_record

    name, url = _study_storage(args.study, args.storage)
    _check_sqlite_exists(url)
    record = best_record(name, url)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(f"study      {record['study']}  ({record['storage']})")
    print(f"best       {record['metric']}={record['value']:.4f}  trial {record['trial']}")
    for key, value in record["params"].items():
        print(f"  {key:<16} {value}")
    print(f"checkpoint {record['checkpoint'] or '(none: the best trial has no checkpoint here)'}")
    return 0


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME|PATH", help="studies/NAME.yaml, or a path to a study file")
    p.add_argument("--name", help="store the study under this name instead of the file's (to start afresh)")
    p.add_argument("--n-trials", type=_positive(int), metavar="N", help="the study's total of finished trials (not an increment)")
    p.add_argument("--timeout", type=_positive(float), metavar="S", help="stop starting new trials after S seconds")
    p.add_argument("--seed", type=int, metavar="N", help="seed of the sampler and of training")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _storage_arg(p)


def _add_studies(p: argparse.ArgumentParser) -> None:
    _storage_arg(p)


def _add_best(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME")
    p.add_argument("--json", action="store_true", help="value, params, trial, checkpoint and storage as JSON")
    _storage_arg(p)


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None]]] = {
    "run": (cmd_run, _add_run),
    "studies": (cmd_studies, _add_studies),
    "best": (cmd_best, _add_best),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="search",
        description="Hyperparameter search for PyTorch image classifiers: Optuna studies over timm models, "
        "pruned on validation macro-F1, with the best checkpoint of each study kept.",
        epilog="start with: search run --study smoke    then: search best --study smoke",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (func, add_args) in COMMANDS.items():
        doc = (func.__doc__ or "").strip()
        summary, _, details = doc.partition("\n")
        p = sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=details.strip("\n") and "\n".join(line[4:] if line.startswith("    ") else line for line in details.splitlines()),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_args(p)
        p.set_defaults(func=func)
    return parser


def _raise_interrupt_on_sigterm() -> dict[str, int]:
    received = {"signal": 0}

    def handler(signum: int, frame: object) -> None:
        received["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    return received


def main(argv: list[str] | None = None) -> int:
    import warnings

    # Heartbeats and stale-trial retries are Optuna's "experimental" API; we use them on purpose.
    warnings.filterwarnings("ignore", message=".*experimental.*")
    args = build_parser().parse_args(argv)
    received = _raise_interrupt_on_sigterm()
    try:
        return args.func(args)
    except SearchError as err:
        sys.stderr.write(f"search: error: {err}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        signum = received["signal"] or signal.SIGINT
        sys.stderr.write(f"search: interrupted ({signal.Signals(signum).name}); finished trials are kept, rerun to continue\n")
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
