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

    Keeps the best checkpoint by the study's metric on validation (OUT/best) and the last one
    (OUT/last), then prints
    validation and test metrics per class and writes OUT/confusion_test.png.

    examples:
      search train --config best.yaml
      search train --config best.yaml --epochs 30 --out runs/final
      search train --config best.yaml --out runs/final --resume
    """
    from search.api import train as train_final
    from search.results.plots import plot_confusion
    from search.store.paths import train_dir

    out = Path(args.out) if args.out else train_dir(args.config)
    result = train_final(
        args.config, out=out, epochs=args.epochs, resume=args.resume, progress=not args.quiet
    )
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
        help="a directory with model.safetensors, config.yaml and metrics.json",
    )
    p.add_argument(
        "--split",
        choices=("val", "test"),
        default="test",
        help="a split of the data the checkpoint was trained on (default test)",
    )
    p.add_argument(
        "--data",
        metavar="PATH|CSV",
        help="a labelled set it never saw instead: an ImageFolder, or a CSV with the "
        "checkpoint's path and label columns",
    )
    p.add_argument("-o", "--output", metavar="DIR", help="confusion PNG (default runs/evaluate)")
    p.add_argument("--json", action="store_true")


def evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint: per-class precision, recall, F1, confusion matrix, ROC-AUC.

    On a split of its own data (--split), or on a labelled set it never saw (--data).

    examples:
      search evaluate --checkpoint runs/lr-sched/best
      search evaluate --checkpoint runs/train/best/best --split test --json
      search evaluate --checkpoint runs/train/best/best --data new/labels.csv
    """
    from search.results.plots import plot_confusion
    from search.store.paths import evaluation_dir

    if args.data:
        from search.results.predict import Predictor, evaluate_files

        predictor = Predictor(args.checkpoint)
        files, labels = _labelled(args.data, predictor)
        metrics, unreadable = evaluate_files(predictor, files, labels)
        classes, title = predictor.classes, args.data
    else:
        from search.results.final import evaluate_checkpoint

        metrics, classes = evaluate_checkpoint(args.checkpoint, args.split)
        unreadable, title = [], args.split
    out = Path(args.output) if args.output else evaluation_dir()
    out.mkdir(parents=True, exist_ok=True)
    png = plot_confusion(metrics, classes, out / "confusion.png", f"confusion: {title}")
    if args.json:
        per_class = dict(zip(classes, metrics.per_class()))
        print(
            json.dumps(
                {
                    "data": title,
                    **metrics.as_dict(),
                    "per_class": per_class,
                    "unreadable": unreadable,
                    "confusion_png": str(png),
                },
                indent=2,
            )
        )
    else:
        _print_metrics(f"{title} ({args.checkpoint})", metrics, classes)
        print(f"ROC-AUC (macro, one-vs-rest) {metrics.roc_auc:.4f}\nconfusion matrix {png}")
        if unreadable:
            print(f"unreadable {len(unreadable)}: {', '.join(unreadable[:5])}")
    return 0


def _labelled(data: str, predictor) -> tuple[list[str], list[int]]:
    """Files and labels (as the checkpoint's class indices) of an external labelled set."""
    import dataclasses

    from search.errors import SearchError
    from search.trainer.data.config import DataConfig
    from search.trainer.data.sources import list_samples

    own = predictor.config.data
    columns = {
        "path_column": own.path_column,
        "label_columns": own.label_columns,
    }
    if data.endswith((".csv", ".tsv", ".tab")):
        config = DataConfig(csv=data, **columns)
    else:
        config = dataclasses.replace(DataConfig(path=data), **columns)
    samples = list_samples(config)
    unknown = sorted(set(samples.classes) - set(predictor.classes))
    if unknown:
        raise SearchError(
            f"--data {data}: classes the checkpoint does not know: {', '.join(unknown[:5])}; "
            f"it knows: {', '.join(predictor.classes)}"
        )
    index = {name: k for k, name in enumerate(predictor.classes)}
    return samples.files, [index[samples.classes[label]] for label in samples.labels]


def add_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="DIR", help="a checkpoint directory")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", metavar="DIR", help="every image under DIR")
    source.add_argument(
        "--csv", metavar="FILE", help="the images a CSV lists (paths relative to it)"
    )
    p.add_argument("--path-column", default="path", help="the CSV's path column (default path)")
    p.add_argument(
        "-o",
        "--output",
        default="predictions.csv",
        metavar="FILE",
        help="(default predictions.csv)",
    )
    p.add_argument("--top-k", type=positive(int), default=1, metavar="K", help="classes per row")
    p.add_argument("--tta", choices=("hflip",), help="average with the mirrored image")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def predict(args: argparse.Namespace) -> int:
    """Predict classes of new images with a checkpoint; writes one CSV row per image.

    Images stream through the checkpoint's own eval transform, so they need not fit in memory;
    unreadable files get a row with an error, not a crash.

    examples:
      search predict --checkpoint runs/train/best/best --images new/ -o predictions.csv
      search predict --checkpoint runs/lr-sched/best --csv test.csv --top-k 3 --tta hflip
    """
    from search.api import predict as predict_images
    from search.commands.common import output_file
    from search.results.predict import list_images

    target = output_file(args.output)
    if args.images:
        files = list_images(args.images)
    else:
        from search.trainer.data.manifest import read_manifest

        _, files = read_manifest(args.csv, {"--path-column": args.path_column})
    if not files:
        from search.errors import SearchError

        raise SearchError(f"no images in {args.images or args.csv}")
    table = predict_images(
        args.checkpoint,
        files,
        output=target,
        top_k=args.top_k,
        tta=args.tta,
        progress=not args.quiet,
    )
    bad = list(table.loc[table["error"] != "", "path"])
    print(
        f"wrote {target}: {len(table) - len(bad)} predictions"
        + (f", {len(bad)} unreadable: {', '.join(bad[:5])}" if bad else "")
    )
    return 0
