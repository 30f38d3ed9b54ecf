"""The public API: what the command line calls, and what a notebook calls.

    import search
    study = search.run("lr-sched", budget="30m")      # an optuna.Study
    search.best("lr-sched")["value"]
    search.export("lr-sched", "best.yaml")
    result = search.train("best.yaml", out="runs/final")
    table = search.predict("runs/final/best", "new/")  # a pandas DataFrame

`study` is a name (studies/<name>.yaml) or a path to a study file, everywhere. Importing this
module is cheap: each function imports torch, timm and optuna only when it runs.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.errors import ConfigError, SearchError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from search.results.final import FinalResult

__all__ = ["best", "export", "predict", "run", "train"]


def run(
    study: str,
    *,
    budget: float | str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    name: str | None = None,
    workers: int = 1,
    storage: str | None = None,
    artifacts: str | None = None,
    progress: bool = True,
) -> optuna.Study:
    """Run (or resume) a study until its budget is spent or it holds `n_trials` finished trials.

    `budget` is the study's wall-clock across runs and workers ("30m", "2h", or seconds);
    `n_trials` a total, not an increment. `workers` > 1 runs that many processes on the one
    study (one GPU each when there are several). Prints a line per finished trial and the
    best value's progress; `progress=False` drops the progress bar. Returns the Optuna study.

    Workers are spawned processes: a script that calls `run(workers=N)` keeps its top-level
    code under `if __name__ == "__main__":`, as Python's multiprocessing requires.
    """
    from search.study.session import read_study_file

    if workers < 1:
        raise SearchError(f"workers must be >= 1, got {workers}")
    overrides = dict(n_trials=n_trials, timeout=timeout, budget=budget, seed=seed, name=name)
    if workers > 1:
        from search.exits import ExitCode
        from search.study.workers import run_workers

        worker = functools.partial(
            _worker, study, storage=storage, artifacts=artifacts, progress=progress, **overrides
        )
        code = run_workers(worker, workers)
        if code != 0:
            raise ExitCode(code)  # the workers have said what went wrong
        file = read_study_file(study, **overrides)
        return _load(file.name, storage or _storage_of(file))
    return _run_one(read_study_file(study, **overrides), storage, artifacts, progress)


def _worker(study: str, index: int, *, progress: bool, **kwargs: Any) -> int:
    """One worker process of `run(workers=N)`: the same study, ended as the CLI ends."""
    from search.exits import exit_code

    def work() -> int:
        # One progress bar; every worker prints its trials.
        run(study, progress=progress and index == 0, **kwargs)
        return 0

    return exit_code(work)


def _storage_of(file: Any) -> str:
    from search.store.storage import resolve_storage_url

    return resolve_storage_url(None, file.config.storage)


def _load(name: str, url: str) -> optuna.Study:
    import optuna

    return optuna.load_study(study_name=name, storage=url)


def _run_one(file: Any, storage: str | None, artifacts: str | None, progress: bool) -> Any:
    from objectives import OBJECTIVES
    from search.registry import UnknownNameError
    from search.store.urls import redact
    from search.study.progress import target_line
    from search.study.runner import run_study
    from search.study.session import prepare_study
    from search.trainer.data.config import shown_size

    try:
        objective_class = OBJECTIVES.get(file.config.objective).load()
    except UnknownNameError as err:
        raise ConfigError(file.path, "objective", str(err)) from None
    prepared = prepare_study(file, storage=storage, artifacts=artifacts)
    config, dataset = prepared.config, prepared.dataset
    print(f"study {file.name!r} in {redact(prepared.url)}: {target_line(config, prepared.clock)}")
    print(
        f"data: {dataset.num_classes} classes, {len(dataset.train)} training images, "
        f"{shown_size(dataset.size)} px ({dataset.crop_mode}), in {dataset.cache} "
        f"({dataset.cache_reason})",
        flush=True,
    )
    objective = objective_class(
        config, prepared.keeper, prepared.clock.exhausted, prepared.datasets
    )
    summary = run_study(
        prepared.study,
        objective,
        prepared.keeper,
        n_trials=config.trial_cap,
        timeout=config.timeout,
        clock=prepared.clock,
        progress=progress,
    )
    print("\n".join(summary.closing_lines(config.metric)))
    return prepared.study


def open_study(study: str, storage: str | None = None) -> tuple[Any, Any, str, str | None]:
    """(Optuna study, its storage, the storage URL, its study file or None) of a study that
    ran; `study` is a name or a study file's path. Reading opens nothing for writing."""
    import optuna

    from search.store.storage import (
        load_existing_study,
        open_storage,
        require_existing,
        resolve_storage_url,
    )
    from search.study.files import locate_study, study_file_setting

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    name, path = locate_study(study)
    url = resolve_storage_url(storage, study_file_setting(path, "storage"))
    require_existing(url)
    rdb = open_storage(url)
    return load_existing_study(name, rdb), rdb, url, path


def best(study: str, *, storage: str | None = None, artifacts: str | None = None) -> dict[str, Any]:
    """The best trial as a record: value (and its standard error on val), params, trial,
    checkpoint (fetched from the artifact store when another machine trained it), storage,
    its training config and how the best value evolved over the study's time."""
    from search.results.best import best_record
    from search.store.artifacts import open_mirror, resolve_artifacts_location
    from search.study.files import study_file_setting

    optuna_study, rdb, url, path = open_study(study, storage)
    location = resolve_artifacts_location(artifacts, study_file_setting(path, "artifacts"))
    return best_record(optuna_study, url, open_mirror(location, rdb, reading=True))


def export(
    study: str,
    path: str | Path | None = "best.yaml",
    *,
    storage: str | None = None,
    artifacts: str | None = None,
) -> str:
    """Write the best trial's complete training config (for `search train` and timm's train.py)
    to `path`, or return it as text when `path` is None. Returns the text."""
    from search.results.export import export_text, recorded_preprocessing
    from search.store import atomic

    record = best(study, storage=storage, artifacts=artifacts)
    if record["train_config"] is None:
        raise SearchError(
            f"study {record['study']!r} was not created by `search run`: its best trial has no "
            "training config to export"
        )
    text = export_text(record, recorded_preprocessing(record["checkpoint"]))
    if path is not None:
        atomic.write_text(Path(path), text)
    return text


def train(
    config: str | Path,
    *,
    out: str | Path | None = None,
    epochs: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> FinalResult:
    """Train a final model from an exported config, without pruning; resumable.

    Keeps the best checkpoint by the study's metric on validation (OUT/best) and the last one
    (OUT/last); returns the best epoch, its val and test metrics and the class names.
    """
    from search.results.final import load_final_config, train_final
    from search.store.paths import train_dir

    train_config, metric = load_final_config(str(config))
    if epochs is not None:
        train_config = train_config.replace(epochs=epochs)
    target = Path(out) if out is not None else train_dir(str(config))
    return train_final(train_config, target, metric=metric, resume=resume, progress=progress)


def predict(
    checkpoint: str | Path,
    images: str | Path | list[str],
    *,
    output: str | Path | None = None,
    top_k: int = 1,
    tta: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Predict the class of new images with a checkpoint directory.

    `images` is a folder (every image under it) or a list of files. One row per image: path,
    class, probability, the top k, and an error for an unreadable file. Written as CSV to
    `output` when given.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from search.results.predict import Predictor, list_images, prediction_fields, prediction_rows
    from search.store import atomic

    files = list_images(str(images)) if isinstance(images, (str, Path)) else list(images)
    if not files:
        raise SearchError(f"no images in {images}")
    predictor = Predictor(checkpoint)
    bar = tqdm(total=len(files), unit="image", disable=not progress, dynamic_ncols=True)
    rows = list(prediction_rows(predictor, files, top_k=top_k, tta=tta, progress=bar.update))
    bar.close()
    table = pd.DataFrame(rows, columns=prediction_fields(top_k, len(predictor.classes)))
    if output is not None:
        atomic.write_text(Path(output), table.to_csv(index=False))
    return table
