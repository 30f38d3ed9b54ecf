"""The body of each `search` command; `search/cli.py` holds their arguments and the table."""

from __future__ import annotations

import argparse
import json
import os
import sys

from search.errors import SearchError


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
    _require_existing(url)
    return name, url


def _require_existing(url: str) -> None:
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        # Reading must not create an empty database as a side effect.
        raise SearchError(
            f"no studies yet: {url} does not exist (run `search run --study NAME` first)"
        )


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

    return ArtifactMirror(
        create_artifact_store(resolve_artifacts_location(args.artifacts, file_value)), storage
    )


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
    summary = run_study(
        study,
        config,
        keeper,
        n_trials=config.n_trials,
        timeout=config.timeout,
        progress=not args.quiet,
    )
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
    _require_existing(url)
    summaries = optuna.get_all_study_summaries(storage=url, include_best_trial=True)
    if not summaries:
        print(f"no studies in {url}")
        return 0
    print(f"{'study':<24} {'direction':<9} {'trials':>6} {'best':>8} {'best trial':>10}")
    for s in summaries:
        best = f"{s.best_trial.value:.4f}" if s.best_trial else "-"
        number = str(s.best_trial.number) if s.best_trial else "-"
        print(
            f"{s.study_name:<24} {s.direction.name.lower():<9} {s.n_trials:>6} {best:>8} {number:>10}"
        )
    return 0


def _best(args: argparse.Namespace) -> dict:
    from search.best import best_record

    study, storage, url = _open_study(args)
    return best_record(
        study, url, _mirror(args, storage, _study_file_setting(study.study_name, "artifacts"))
    )


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
    out = Path(
        args.out
        or os.path.join("runs", "train", os.path.splitext(os.path.basename(args.config))[0])
    )
    result = train_final(config, out, resume=args.resume, progress=not args.quiet)
    _print_metrics(f"validation (best epoch {result.best_epoch})", result.val, result.classes)
    _print_metrics("test", result.test, result.classes)
    png = plot_confusion(
        result.test, result.classes, out / "confusion_test.png", "test confusion matrix"
    )
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
        print(
            json.dumps(
                {
                    "split": args.split,
                    **metrics.as_dict(),
                    "per_class": dict(zip(classes, metrics.per_class())),
                },
                indent=2,
            )
        )
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
    url = resolve_storage_url(
        args.storage, _study_file_setting(args.study, "storage") if args.study else None
    )
    from search.artifacts import create_artifact_store, resolve_artifacts_location

    store = create_artifact_store(resolve_artifacts_location(args.artifacts))
    serve(url, store, host=args.host, port=args.port, study=args.study)
    return 0
