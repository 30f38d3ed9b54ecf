"""The `search` command line: one small command per verb, listed in COMMANDS.

The commands (search/commands/) import torch, timm and optuna only when they need them, so
`--help` answers at once. Every error a user can fix prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from search.commands import data, final, results, run
from search.commands.common import add_storage
from search.exits import EXIT_USAGE, exit_code

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


def main(argv: list[str] | None = None) -> int:
    import warnings

    # Heartbeats and stale-trial retries are Optuna's "experimental" API; we use them on purpose.
    warnings.filterwarnings("ignore", message=".*experimental.*")
    args = build_parser().parse_args(argv)
    return exit_code(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
