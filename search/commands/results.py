"""Commands that read a study: studies, best, trials, export, report, dashboard."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from search.commands.common import add_artifacts, add_storage, add_study, bounded_int, output_file


def studies(args: argparse.Namespace) -> int:
    """List the studies in a storage with their trial counts and best values.

    examples:
      search studies
      search studies --storage sqlite:///runs/search.db
    """
    import optuna

    from search.store.storage import open_storage, require_existing, resolve_storage_url
    from search.store.urls import redact

    url = resolve_storage_url(args.storage)
    require_existing(url)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    summaries = optuna.get_all_study_summaries(storage=open_storage(url), include_best_trial=True)
    if not summaries:
        print(f"no studies in {redact(url)}")
        return 0
    print(f"{'study':<24} {'direction':<9} {'trials':>6} {'best':>8} {'best trial':>10}")
    for s in summaries:
        best = f"{s.best_trial.value:.4f}" if s.best_trial else "-"
        number = str(s.best_trial.number) if s.best_trial else "-"
        print(
            f"{s.study_name:<24} {s.direction.name.lower():<9} {s.n_trials:>6} {best:>8} {number:>10}"
        )
    return 0


def add_best(p: argparse.ArgumentParser) -> None:
    add_study(p)
    p.add_argument(
        "--json", action="store_true", help="value, params, trial, checkpoint and storage as JSON"
    )
    add_artifacts(p)


def best(args: argparse.Namespace) -> int:
    """Show the best trial of a study: value, params, its checkpoint, and how the best evolved
    over the study's time (so you can tell whether a larger --budget would help). The value's
    "± x" is its bootstrap standard error on the val split: on a small split, trials closer
    than that are not clearly apart.

    examples:
      search best --study lr-sched
      search best --study lr-sched --json
    """
    from search.api import best as best_record

    record = best_record(args.study, storage=args.storage, artifacts=args.artifacts)
    if args.json:
        print(json.dumps({k: v for k, v in record.items() if k != "train_config"}, indent=2))
        return 0
    print(f"study      {record['study']}  ({record['storage']})")
    se = f" ± {record['value_se']:.3f}" if record["value_se"] is not None else ""
    print(f"best       {record['metric']}={record['value']:.4f}{se}  trial {record['trial']}")
    for key, value in record["params"].items():
        print(f"  {key:<16} {value}")
    print(f"checkpoint {record['checkpoint'] or '(none: the best trial has no checkpoint here)'}")
    if record["progress"]:
        print(f"progress   {record['progress']}")
    return 0


def add_export(p: argparse.ArgumentParser) -> None:
    add_study(p)
    p.add_argument(
        "-o",
        "--output",
        default="best.yaml",
        metavar="FILE",
        help="where to write it (default best.yaml; - for stdout)",
    )
    add_artifacts(p)


def export(args: argparse.Namespace) -> int:
    """Write the best trial's complete training config, for `search train` (and timm's train.py).

    examples:
      search export --study lr-sched -o best.yaml
      search train --config best.yaml
    """
    from search.api import export as export_config

    target = None if args.output == "-" else output_file(args.output)
    text = export_config(args.study, target, storage=args.storage, artifacts=args.artifacts)
    if target is None:
        sys.stdout.write(text)
    else:
        print(f"wrote {target}")
    return 0


def add_trials(p: argparse.ArgumentParser) -> None:
    add_study(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def trials(args: argparse.Namespace) -> int:
    """One row per trial: state, value, epochs, duration, why it stopped, and its params.

    examples:
      search trials --study lr-sched
      search trials --study lr-sched --format csv > trials.csv
    """
    from search.api import open_study
    from search.results.trials import render, trials_frame

    study = open_study(args.study, args.storage)[0]
    frame = trials_frame(study)
    if frame.empty and args.format == "table":
        print(f"study {study.study_name!r} has no trials yet")
    else:
        print(render(frame, args.format))
    return 0


def add_report(p: argparse.ArgumentParser) -> None:
    add_study(p)
    p.add_argument(
        "-o", "--output", metavar="DIR", help="output directory (default runs/<study>/report)"
    )


def report(args: argparse.Namespace) -> int:
    """Write PNG plots, trials.csv and an index.html for a study.

    examples:
      search report --study lr-sched
      search report --study lr-sched -o report/ && xdg-open report/index.html
    """
    from search.api import open_study
    from search.results.report import write_report
    from search.store.paths import report_dir

    study, _, url, _ = open_study(args.study, args.storage)
    out = Path(args.output) if args.output else report_dir(study.study_name, url)
    written = write_report(study, out)
    print(f"wrote {len(written)} plots, trials.csv and {out / 'index.html'}")
    return 0


def add_dashboard(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--study", metavar="NAME|PATH", help="print the URL of this study's page"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=bounded_int(1, 65535, "a port"), default=8080)
    add_storage(p)
    add_artifacts(p)


def dashboard(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard on the storage (and artifact store); works while studies run.

    examples:
      search dashboard
      search dashboard --study lr-sched --port 8081
    """
    from search.results.dashboard import serve
    from search.store.artifacts import create_artifact_store, resolve_artifacts_location
    from search.store.storage import require_existing, resolve_storage_url
    from search.study.files import locate_study, study_file_setting

    name, path = locate_study(args.study) if args.study else (None, None)
    url = resolve_storage_url(args.storage, study_file_setting(path, "storage"))
    require_existing(url)
    location = resolve_artifacts_location(args.artifacts, study_file_setting(path, "artifacts"))
    store = create_artifact_store(location)
    serve(url, store, host=args.host, port=args.port, study=name)
    return 0
