"""The `search` command line: one small command per verb, listed in COMMANDS.

Heavy imports (torch, timm, optuna) happen inside the commands that need them, so `--help`
answers at once. Every error a user can fix prints one line and exits 2.
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


def _study_file_setting(name: str, key: str) -> str | None:
    from search.config import STUDIES_DIR, read_yaml

    path = os.path.join(STUDIES_DIR, f"{name}.yaml")
    if not os.path.isfile(path):
        return None
    data = read_yaml(path)
    return data.get(key) if isinstance(data, dict) else None


def _study_storage(study: str, storage: str | None) -> tuple[str, str]:
    """(name, storage URL) for commands that read a study that already ran."""
    from search.config import check_study_name
    from search.study import resolve_storage_url

    name = check_study_name(study)
    url = resolve_storage_url(storage, _study_file_setting(name, "storage"))
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        # Reading must not create an empty database as a side effect.
        raise SearchError(f"no studies yet: {url} does not exist (run `search run --study NAME` first)")
    return name, url


def _open_study(args: argparse.Namespace):
    """(study, storage, url) of a study that already ran."""
    import optuna

    from search.study import load_existing_study, open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    name, url = _study_storage(args.study, args.storage)
    storage = open_storage(url)
    return load_existing_study(name, storage), storage, url


def _mirror(args: argparse.Namespace, storage, file_value: str | None = None):
    from search.artifacts import ArtifactMirror, create_artifact_store, resolve_artifacts_location

    return ArtifactMirror(create_artifact_store(resolve_artifacts_location(args.artifacts, file_value)), storage)


def cmd_run(args: argparse.Namespace) -> int:
    """Run (or resume) a study until it holds --n-trials finished trials.

    examples:
      search run --study lr-sched
      search run --study smoke --n-trials 4 --seed 1
      search run --study lr-sched --workers 2
      search run --study studies/mine.yaml --storage postgresql+psycopg2://user:pw@db/search --artifacts /shared/artifacts
    """
    if args.workers > 1:
        from search.workers import run_workers

        return run_workers(sys.argv[1:] if args.argv is None else args.argv, args.workers)
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
    keeper = BestKeeper(study_dir(name), _mirror(args, storage, config.artifacts))
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
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        raise SearchError(f"no studies yet: {url} does not exist (run `search run --study NAME` first)")
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


def _best(args: argparse.Namespace) -> dict:
    from search.best import best_record

    study, storage, url = _open_study(args)
    return best_record(study, url, _mirror(args, storage, _study_file_setting(study.study_name, "artifacts")))


def cmd_best(args: argparse.Namespace) -> int:
    """Show the best trial of a study: value, params and its checkpoint.

    examples:
      search best --study lr-sched
      search best --study lr-sched --json
    """
    record = _best(args)
    if args.json:
        print(json.dumps({k: v for k, v in record.items() if k != "train_config"}, indent=2))
        return 0
    print(f"study      {record['study']}  ({record['storage']})")
    print(f"best       {record['metric']}={record['value']:.4f}  trial {record['trial']}")
    for key, value in record["params"].items():
        print(f"  {key:<16} {value}")
    print(f"checkpoint {record['checkpoint'] or '(none: the best trial has no checkpoint here)'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the best trial's complete training config, for `search train` (and timm's train.py).

    examples:
      search export --study lr-sched -o best.yaml
      search train --config best.yaml
    """
    from search.export import export_text

    text = export_text(_best(args))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        tmp = f"{args.output}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.output)
        print(f"wrote {args.output}")
    return 0


def _print_metrics(title: str, metrics, classes) -> None:
    from search.fit import per_class_report

    print(f"\n{title}: macro-F1 {metrics.macro_f1:.4f}  accuracy {metrics.accuracy:.4f}")
    print(per_class_report(metrics, classes))


def cmd_train(args: argparse.Namespace) -> int:
    """Train a final model from an exported config, without pruning; resumable.

    Keeps the best-on-validation checkpoint (OUT/best) and the last one (OUT/last), then prints
    validation and test metrics per class and writes OUT/confusion_test.png.

    examples:
      search train --config best.yaml
      search train --config best.yaml --epochs 30 --out runs/final
      search train --config best.yaml --out runs/final --resume
    """
    from pathlib import Path

    from search.fit import load_train_config, plot_confusion, train_final

    config = load_train_config(args.config)
    if args.epochs is not None:
        config = config.replace(epochs=args.epochs)
    out = Path(args.out or os.path.join("runs", "train", os.path.splitext(os.path.basename(args.config))[0]))
    result = train_final(config, out, resume=args.resume, progress=not args.quiet)
    _print_metrics(f"validation (best epoch {result.best_epoch})", result.val, result.classes)
    _print_metrics("test", result.test, result.classes)
    png = plot_confusion(result.test, result.classes, out / "confusion_test.png", "test confusion matrix")
    print(f"\ncheckpoint {out / 'best'}\nconfusion matrix {png}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint directory (a study's best/ or a `search train` output).

    examples:
      search evaluate --checkpoint runs/lr-sched/best
      search evaluate --checkpoint runs/train/best/best --split test --json
    """
    from search.fit import evaluate_checkpoint

    metrics, _, classes = evaluate_checkpoint(args.checkpoint, args.split)
    if args.json:
        print(json.dumps({"split": args.split, **metrics.as_dict(), "per_class": dict(zip(classes, metrics.per_class()))}, indent=2))
    else:
        _print_metrics(f"{args.split} ({args.checkpoint})", metrics, classes)
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    """One row per trial: state, value, epochs, duration, why it stopped, and its params.

    examples:
      search trials --study lr-sched
      search trials --study lr-sched --format csv > trials.csv
    """
    from search.trials import render, trials_frame

    study, _, _ = _open_study(args)
    print(render(trials_frame(study), args.format))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write PNG plots, trials.csv and an index.html for a study.

    examples:
      search report --study lr-sched
      search report --study lr-sched -o report/ && xdg-open report/index.html
    """
    from pathlib import Path

    from search.report import write_report

    study, _, _ = _open_study(args)
    out = Path(args.output or os.path.join("runs", study.study_name, "report"))
    written = write_report(study, out)
    print(f"wrote {len(written)} plots, trials.csv and {out / 'index.html'}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard on the storage (and artifact store); works while studies run.

    examples:
      search dashboard
      search dashboard --study lr-sched --port 8081
    """
    from search.config import check_study_name
    from search.dashboard import serve
    from search.study import resolve_storage_url

    if args.study:
        check_study_name(args.study)
    url = resolve_storage_url(args.storage, _study_file_setting(args.study, "storage") if args.study else None)
    from search.artifacts import create_artifact_store, resolve_artifacts_location

    store = create_artifact_store(resolve_artifacts_location(args.artifacts))
    serve(url, store, host=args.host, port=args.port, study=args.study)
    return 0


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME|PATH", help="studies/NAME.yaml, or a path to a study file")
    p.add_argument("--name", help="store the study under this name instead of the file's (to start afresh)")
    p.add_argument("--n-trials", type=_positive(int), metavar="N", help="the study's total of finished trials (not an increment)")
    p.add_argument("--timeout", type=_positive(float), metavar="S", help="stop starting new trials after S seconds")
    p.add_argument("--seed", type=int, metavar="N", help="seed of the sampler and of training")
    p.add_argument("--workers", type=_positive(int), default=1, metavar="N",
                   help="worker processes on this machine, one study (one GPU each when there are several)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(argv=None)
    _storage_arg(p)
    _artifacts_arg(p)


def _add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME")
    _storage_arg(p)


def _add_best(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument("--json", action="store_true", help="value, params, trial, checkpoint and storage as JSON")
    _artifacts_arg(p)


def _add_export(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument("-o", "--output", default="best.yaml", metavar="FILE", help="where to write it (default best.yaml; - for stdout)")
    _artifacts_arg(p)


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, metavar="FILE", help="a config written by `search export`")
    p.add_argument("--epochs", type=_positive(int), metavar="N", help="override the config's epochs")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/train/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last after an interruption")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="DIR", help="a directory with model.safetensors and config.yaml")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--json", action="store_true")


def _add_trials(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def _add_report(p: argparse.ArgumentParser) -> None:
    _add_study(p)
    p.add_argument("-o", "--output", metavar="DIR", help="output directory (default runs/<study>/report)")


def _add_dashboard(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", metavar="NAME", help="print the URL of this study's page")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    _storage_arg(p)
    _artifacts_arg(p)


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None]]] = {
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
    return "\n".join(line[4:] if line.startswith("    ") else line for line in text.splitlines())


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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (func, add_args) in COMMANDS.items():
        summary, _, details = (func.__doc__ or "").strip().partition("\n")
        p = sub.add_parser(name, help=summary, description=summary, epilog=_dedent(details.strip("\n")),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
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
        sys.stderr.write(f"search: interrupted ({signal.Signals(signum).name}); finished trials are kept, rerun to continue\n")
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
