"""`search data`: look at a study's images before searching them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--study", required=True, metavar="NAME|PATH", help="studies/NAME.yaml, or a path"
    )
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    p.add_argument(
        "-o", "--output", metavar="DIR", help="where the PNG goes (default runs/data/<study>)"
    )


def data(args: argparse.Namespace) -> int:
    """Summarise a study's data: classes per split, imbalance, sizes, duplicates, leaks, advice.

    Splits exactly as the study's trials will, reads image headers (not pixels), hashes files
    to find exact duplicates within and across splits, and draws the class balance.

    examples:
      search data --study lr-sched
      search data --study csv-example --json
    """
    from search.errors import ConfigError
    from search.results.data_summary import plot_balance, render, summarize
    from search.store.paths import data_report_dir
    from search.study.config import load_study_config
    from search.study.files import resolve_study_file
    from search.trainer.data.errors import DataError

    name, path = resolve_study_file(args.study)
    config = load_study_config(path)
    try:
        summary = summarize(config.train.data, config.train.model)
    except DataError as err:
        key = f"train.data.{err.key}" if err.key else "train.data"
        raise ConfigError(path, key, str(err)) from None
    out = Path(args.output) if args.output else data_report_dir(name)
    png = plot_balance(summary, out / "class_balance.png")
    if args.json:
        print(json.dumps({**summary, "plot": str(png)}, indent=2))
    else:
        print(render(summary))
        print(f"plot     {png}")
    return 0
