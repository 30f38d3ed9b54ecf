"""Final training with a fixed config (`search train`) and evaluation of any checkpoint."""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from search.errors import ConfigError, SearchError
from search.registry import UnknownNameError
from search.results.export import exported_metric, import_mapping
from search.store import atomic
from search.store.checkpoint import CONFIG, METRICS, WEIGHTS, write_checkpoint_dir
from search.trainer.checks import check_starting_weights, check_train_config
from search.trainer.config import TrainConfig
from search.trainer.fit import FitRecord
from search.trainer.loop import Trainer
from search.trainer.metric_registry import METRICS as STUDY_METRICS
from search.trainer.metrics import Metrics
from search.trainer.model import load_state_dict, load_weights_into
from search.yaml_dataclasses import from_mapping, to_mapping
from search.yaml_read import read_yaml

LAST_STATE = "state.pt"
DEFAULT_METRIC = "val_macro_f1"
"""What `search train` keeps its best checkpoint by when the config names no study metric."""


@dataclass(frozen=True)
class FinalResult:
    best_epoch: int
    val: Metrics
    test: Metrics
    classes: tuple[str, ...]


def load_train_config(path: str) -> TrainConfig:
    """An exported config (or a plain TrainConfig file), checked as a study's `train` is."""
    return load_final_config(path)[0]


def load_final_config(path: str) -> tuple[TrainConfig, str]:
    """An exported config and the study metric it names (macro-F1 for a plain TrainConfig)."""
    data = read_yaml(path)
    if not data or not isinstance(data, dict):
        what = "is empty; expected" if not data else "expected"
        raise ConfigError(path, "", f"{what} a mapping of training keys (from `search export`)")
    metric = exported_metric(data) or DEFAULT_METRIC
    try:
        STUDY_METRICS.get(metric)
    except UnknownNameError as err:
        raise ConfigError(path, "search.metric", str(err)) from None
    config = from_mapping(TrainConfig, import_mapping(data), source=path)
    check_starting_weights(config, check_train_config(config, path), path)
    return config, metric


def train_final(
    config: TrainConfig,
    out: Path,
    *,
    metric: str = DEFAULT_METRIC,
    resume: bool = False,
    progress: bool = True,
) -> FinalResult:
    """Train all epochs without pruning; keep the best checkpoint by the study's `metric` on
    validation, and the last one."""
    from tqdm.auto import tqdm

    if (out / "trials").exists() or (out / ".lock").exists() or (out / "best").is_symlink():
        raise SearchError(
            f"--out {out}: is a study's run directory (trials/ and a best link live there); "
            "train into another directory"
        )
    trainer = Trainer(config, metric=metric)
    last = out / "last" / LAST_STATE
    history_file = out / "history.json"
    fit = FitRecord(trainer)
    if resume and last.is_file():
        try:
            trainer.load_training_state(torch.load(last, map_location="cpu", weights_only=True))
        except (RuntimeError, KeyError, ValueError, pickle.UnpicklingError) as err:
            first = " ".join(str(err).split())[:160]
            raise SearchError(
                f"--resume: {last} does not fit this config (changed model or data?): {first}; "
                "train into a new --out"
            ) from None
        history = (
            json.loads(history_file.read_text())[: trainer.epoch] if history_file.is_file() else []
        )
        saved = (
            json.loads((out / "best" / METRICS).read_text())
            if (out / "best" / METRICS).is_file()
            else {}
        )
        fit = FitRecord(
            trainer,
            history=history,
            best_value=saved.get("value"),
            best_epoch=saved.get("epoch", 0),
        )
    elif resume:
        raise SearchError(f"--resume: no checkpoint to resume in {out / 'last'}")
    bar = tqdm(
        total=config.epochs,
        initial=trainer.epoch,
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    last.parent.mkdir(parents=True, exist_ok=True)
    for result in fit.epochs():
        if fit.improved:
            write_checkpoint_dir(out / "best", fit.best_weights, to_mapping(config), fit.metrics())
        buffer = io.BytesIO()
        torch.save(trainer.training_state(), buffer)
        atomic.write_bytes(last, buffer.getvalue())
        atomic.write_text(history_file, json.dumps(fit.history, indent=2))
        bar.update(1)
        value = fit.history[-1][metric]
        bar.set_postfix({metric: f"{value:.4f}", "best": f"{fit.best_value:.4f}"})
    bar.close()
    if fit.best_epoch == 0:
        raise SearchError(f"{out}: nothing trained (epochs already done: {trainer.epoch})")
    best_weights = str(out / "best" / WEIGHTS)
    load_weights_into(trainer.model, load_state_dict(best_weights), best_weights)
    return FinalResult(
        fit.best_epoch, trainer.evaluate("val"), trainer.evaluate("test"), trainer.dataset.classes
    )


def evaluate_checkpoint(directory: str, split: str) -> tuple[Metrics, tuple[str, ...]]:
    """Metrics and class names of a checkpoint directory (a study's best/ or a `search train`)."""
    path = Path(directory)
    for name in (WEIGHTS, CONFIG):
        if not (path / name).is_file():
            raise SearchError(f"{path}: not a checkpoint directory (no {name})")
    trainer = Trainer(load_train_config(str(path / CONFIG)))
    load_weights_into(trainer.model, load_state_dict(str(path / WEIGHTS)), str(path / WEIGHTS))
    return trainer.evaluate(split), trainer.dataset.classes
