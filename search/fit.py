"""Final training with a fixed config (`search train`) and evaluation of any checkpoint."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from search.checkpoint import CONFIG, METRICS, WEIGHTS, write_checkpoint_dir
from search.errors import SearchError
from search.trainer.config import TrainConfig
from search.trainer.loop import Trainer
from search.trainer.metrics import Metrics
from search.trainer.model import load_state_dict
from search.typed import from_mapping, to_mapping

LAST_STATE = "state.pt"


@dataclass(frozen=True)
class FinalResult:
    best_epoch: int
    val: Metrics
    test: Metrics
    classes: tuple[str, ...]
    out: Path


def load_train_config(path: str) -> TrainConfig:
    from search.config import read_yaml

    return from_mapping(TrainConfig, read_yaml(path), source=path)


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def train_final(
    config: TrainConfig, out: Path, *, resume: bool = False, progress: bool = True
) -> FinalResult:
    """Train all epochs without pruning; keep the best-on-validation and the last checkpoint."""
    from tqdm.auto import tqdm

    trainer = Trainer(config)
    history: list[dict[str, Any]] = []
    best_value, best_epoch = float("-inf"), 0
    last = out / "last" / LAST_STATE
    history_file = out / "history.json"
    if resume and last.is_file():
        trainer.load_training_state(torch.load(last, map_location="cpu", weights_only=True))
        history = (
            json.loads(history_file.read_text())[: trainer.epoch] if history_file.is_file() else []
        )
        if (out / "best" / METRICS).is_file():
            saved = json.loads((out / "best" / METRICS).read_text())
            best_value, best_epoch = saved["value"], saved["epoch"]
    elif resume:
        raise SearchError(f"--resume: no checkpoint to resume in {out / 'last'}")
    bar = tqdm(
        total=config.epochs,
        initial=trainer.epoch,
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
    )
    for result in trainer.fit():
        history.append(
            {
                "epoch": result.epoch,
                "lr": result.lr,
                "train_loss": result.train_loss,
                **result.val.as_dict("val_"),
            }
        )
        if result.val.macro_f1 > best_value:
            best_value, best_epoch = result.val.macro_f1, result.epoch
            metrics = {
                "value": best_value,
                "metric": "val_macro_f1",
                "epoch": best_epoch,
                "classes": list(trainer.dataset.classes),
                "history": history,
            }
            write_checkpoint_dir(out / "best", trainer.weights(), to_mapping(config), metrics)
        _save_state(last, trainer.training_state())
        _write_json(history_file, history)
        bar.update(1)
        bar.set_postfix(val_f1=f"{result.val.macro_f1:.4f}", best=f"{best_value:.4f}")
    bar.close()
    if best_epoch == 0:
        raise SearchError(f"{out}: nothing trained (epochs already done: {trainer.epoch})")
    trainer.model.load_state_dict(load_state_dict(str(out / "best" / WEIGHTS)))
    return FinalResult(
        best_epoch, trainer.evaluate("val"), trainer.evaluate("test"), trainer.dataset.classes, out
    )


def evaluate_checkpoint(directory: str, split: str) -> tuple[Metrics, TrainConfig, tuple[str, ...]]:
    """Metrics of a checkpoint directory written by `search run` (best/) or `search train`."""
    path = Path(directory)
    for name in (WEIGHTS, CONFIG):
        if not (path / name).is_file():
            raise SearchError(f"{path}: not a checkpoint directory (no {name})")
    config = load_train_config(str(path / CONFIG))
    trainer = Trainer(config)
    trainer.model.load_state_dict(load_state_dict(str(path / WEIGHTS)))
    return trainer.evaluate(split), config, trainer.dataset.classes


def per_class_report(metrics: Metrics, classes: tuple[str, ...]) -> str:
    rows = [f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, r in zip(classes, metrics.per_class()):
        rows.append(
            f"{name:<12} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} {r['support']:>8}"
        )
    rows.append(
        f"{'macro':<12} {metrics.macro_precision:>9.4f} {metrics.macro_recall:>7.4f} {metrics.macro_f1:>7.4f}"
        f" {sum(sum(r) for r in metrics.confusion):>8}   accuracy {metrics.accuracy:.4f}"
    )
    return "\n".join(rows)


def plot_confusion(metrics: Metrics, classes: tuple[str, ...], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = torch.tensor(metrics.confusion, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(classes), 0.8 + 0.6 * len(classes)))
    image = ax.imshow(cm / cm.sum(1, keepdim=True).clamp(min=1), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j,
                i,
                int(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > cm[i].sum() / 2 else "black",
            )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="recall")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
