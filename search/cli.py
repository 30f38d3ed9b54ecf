"""The `search` command line: one small command per verb, listed in COMMANDS.

The commands (search/commands/) import torch, timm and optuna only when they need them, so
`--help` answers at once. Every error a user can fix prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from search.commands import data, final, results, run
from search.commands.common import add_storage
from search.env import DEBUG_ENV
from search.errors import SearchError

EXIT_USAGE = 2

Command = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]

COMMANDS: dict[str, tuple[Command, AddArguments]] = {
    "data": (data.data, data.add_arguments),
    "run": (run.run, run.add_arguments),
    "studies": (results.studies, add_storage),
    "best": (results.best, results.add_best),
    "trials": (results.trials, results.add_trials),
    "export": (results.export, results.add_export),
    "train": (final.train, final.add_train),
    "evaluate": (final.evaluate, final.add_evaluate),
    "predict": (final.predict, final.add_predict),
    "report": (results.report, results.add_report),
    "dashboard": (results.dashboard, results.add_dashboard),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def _dedent(text: str) -> str:
    return "\n".join(line.removeprefix("    ") for line in text.splitlines())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="search",
        description="Hyperparameter search for PyTorch image classifiers: Optuna studies over "
        "timm models, pruned on validation macro-F1, with the best checkpoint of each study kept.",
        epilog="workflow:\n  search data --study lr-sched\n  search run --study lr-sched\n  search dashboard --study lr-sched\n"
        "  search export --study lr-sched -o best.yaml\n  search train --config best.yaml\n"
        "  search evaluate --checkpoint runs/train/best/best\n"
        "  search predict --checkpoint runs/train/best/best --images new/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name, (func, add_args) in COMMANDS.items():
        summary, _, details = (func.__doc__ or "").strip().partition("\n")
        p = sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_dedent(details.strip("\n")),
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


def _environment_error(err: Exception) -> str | None:
    """One line for a failure of the world around `search` (a file, the database), else None.

    Only these are told in one line; anything else is a bug and keeps its traceback.
    """
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or err}{where}"
    if type(err).__module__.split(".")[0] == "sqlalchemy":
        detail = " ".join(str(getattr(err, "orig", None) or err).split())
        return f"the storage failed: {type(err).__name__}: {detail[:200]}"
    return None


def main(argv: list[str] | None = None) -> int:
    import warnings

    # Heartbeats and stale-trial retries are Optuna's "experimental" API; we use them on purpose.
    warnings.filterwarnings("ignore", message=".*experimental.*")
    args = build_parser().parse_args(argv)
    if getattr(args, "argv", 0) is None:
        args.argv = list(argv) if argv is not None else sys.argv[1:]
    received = _raise_interrupt_on_sigterm()
    try:
        return args.func(args)
    except SearchError as err:
        sys.stderr.write(f"search: error: {err}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # `search trials | head`: the reader left, which is no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as err:
        message = _environment_error(err)
        if message is None or os.environ.get(DEBUG_ENV):
            raise
        sys.stderr.write(f"search: error: {message}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        signum = received["signal"] or signal.SIGINT
        sys.stderr.write(
            f"search: interrupted ({signal.Signals(signum).name}); "
            "finished trials are kept, rerun to continue\n"
        )
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
