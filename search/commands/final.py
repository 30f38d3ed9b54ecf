"""Commands after the search: train the final model, evaluate a checkpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from search.commands.common import positive


def _print_metrics(title: str, metrics, classes) -> None:
    from search.results.plots import per_class_report

    print(f"\n{title}: macro-F1 {metrics.macro_f1:.4f}  accuracy {metrics.accuracy:.4f}")
    print(per_class_report(metrics, classes))


def add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", required=True, metavar="FILE", help="a config written by `search export`"
    )
    p.add_argument("--epochs", type=positive(int), metavar="N", help="override the config's epochs")
    p.add_argument(
        "--out", metavar="DIR", help="output directory (default runs/train/<config name>)"
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from OUT/last after an interruption"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def train(args: argparse.Namespace) -> int:
    """Train a final model from an exported config, without pruning; resumable.

    Keeps the best-on-validation checkpoint (OUT/best) and the last one (OUT/last), then prints
    validation and test metrics per class and writes OUT/confusion_test.png.

    examples:
      search train --config best.yaml
      search train --config best.yaml --epochs 30 --out runs/final
      search train --config best.yaml --out runs/final --resume
    """
    from search.results.final import load_train_config, train_final
    from search.results.plots import plot_confusion
    from search.store.paths import train_dir

    config = load_train_config(args.config)
    if args.epochs is not None:
        config = config.replace(epochs=args.epochs)
    out = Path(args.out) if args.out else train_dir(args.config)
    result = train_final(config, out, resume=args.resume, progress=not args.quiet)
    _print_metrics(f"validation (best epoch {result.best_epoch})", result.val, result.classes)
    _print_metrics("test", result.test, result.classes)
    png = plot_confusion(
        result.test, result.classes, out / "confusion_test.png", "test confusion matrix"
    )
    print(f"\ncheckpoint {out / 'best'}\nconfusion matrix {png}")
    return 0


def add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="DIR",
        help="a directory with model.safetensors and config.yaml",
    )
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--json", action="store_true")


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint directory (a study's best/ or a `search train` output).

    examples:
      search evaluate --checkpoint runs/lr-sched/best
      search evaluate --checkpoint runs/train/best/best --split test --json
    """
    from search.results.final import evaluate_checkpoint

    metrics, classes = evaluate_checkpoint(args.checkpoint, args.split)
    if args.json:
        per_class = dict(zip(classes, metrics.per_class()))
        print(
            json.dumps({"split": args.split, **metrics.as_dict(), "per_class": per_class}, indent=2)
        )
    else:
        _print_metrics(f"{args.split} ({args.checkpoint})", metrics, classes)
    return 0
