"""The `search` command line: one small command per verb, listed in COMMANDS.

The commands (search/commands.py) import torch, timm and optuna only when they need them, so
`--help` answers at once. Every error a user can fix prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from search.commands import (
    cmd_best,
    cmd_dashboard,
    cmd_evaluate,
    cmd_export,
    cmd_report,
    cmd_run,
    cmd_studies,
    cmd_train,
    cmd_trials,
)
from search.errors import SearchError

EXIT_USAGE = 2


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _storage_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL (default: $SEARCH_STORAGE, then the study file's storage, then sqlite:///runs/search.db)",
    )


def _artifacts_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--artifacts",
        metavar="PATH",
        help="artifact store: a directory shared by all machines, or s3://bucket "
        "(default: $SEARCH_ARTIFACTS, then the study file's artifacts, then runs/artifacts)",
    )


def _add_run(p: argparse.ArgumentParser) -> None:
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
        type=_positive(int),
        metavar="N",
        help="the study's total of finished trials (not an increment)",
    )
    p.add_argument(
        "--timeout",
        type=_positive(float),
        metavar="S",
        help="stop starting new trials after S seconds",
    )
    p.add_argument("--seed", type=int, metavar="N", help="seed of the sampler and of training")
    p.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        metavar="N",
        help="worker processes on this machine, one study (one GPU each when there are several)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(argv=None)
    _storage_arg(p)
    _artifacts_arg(p)


def _add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME")
    _storage_arg(p)


def _add_best(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument(
        "--json", action="store_true", help="value, params, trial, checkpoint and storage as JSON"
    )
    _artifacts_arg(p)


def _add_export(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument(
        "-o",
        "--output",
        default="best.yaml",
        metavar="FILE",
        help="where to write it (default best.yaml; - for stdout)",
    )
    _artifacts_arg(p)


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", required=True, metavar="FILE", help="a config written by `search export`"
    )
    p.add_argument(
        "--epochs", type=_positive(int), metavar="N", help="override the config's epochs"
    )
    p.add_argument(
        "--out", metavar="DIR", help="output directory (default runs/train/<config name>)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from OUT/last after an interruption"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="DIR",
        help="a directory with model.safetensors and config.yaml",
    )
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--json", action="store_true")


def _add_trials(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def _add_report(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument(
        "-o", "--output", metavar="DIR", help="output directory (default runs/<study>/report)"
    )


def _add_dashboard(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", metavar="NAME", help="print the URL of this study's page")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080)
    _storage_arg(p)
    _artifacts_arg(p)


COMMANDS: dict[
    str, tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None]]
] = {
    "run": (cmd_run, _add_run),
    "studies": (cmd_studies, _storage_arg),
    "best": (cmd_best, _add_best),
    "trials": (cmd_trials, _add_trials),
    "export": (cmd_export, _add_export),
    "train": (cmd_train, _add_train),
    "evaluate": (cmd_evaluate, _add_evaluate),
    "report": (cmd_report, _add_report),
    "dashboard": (cmd_dashboard, _add_dashboard),
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
        description="Hyperparameter search for PyTorch image classifiers: Optuna studies over timm models, "
        "pruned on validation macro-F1, with the best checkpoint of each study kept.",
        epilog="workflow:\n  search run --study lr-sched\n  search dashboard --study lr-sched\n"
        "  search export --study lr-sched -o best.yaml\n  search train --config best.yaml\n"
        "  search evaluate --checkpoint runs/train/best/best",
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
    except KeyboardInterrupt:
        signum = received["signal"] or signal.SIGINT
        sys.stderr.write(
            f"search: interrupted ({signal.Signals(signum).name}); finished trials are kept, rerun to continue\n"
        )
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
