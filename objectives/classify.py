"""Image classification: suggest -> build -> train epoch by epoch -> report -> prune -> return.

The canonical Optuna objective (optuna-examples' pytorch_simple.py) around `search.trainer`.
It returns the trial's best validation metric and stages that epoch's weights for the study's
best checkpoint when they beat every finished trial.
"""

from __future__ import annotations

import gc
import math
import os
import socket
from typing import Any

import optuna
import torch

from search import faults
from search.checkpoint import BestKeeper
from search.config import StudyConfig
from search.space import suggest
from search.trainer.loop import EpochResult, NonFiniteLossError, Trainer
from search.typed import to_mapping


def metric_value(result: EpochResult, metric: str) -> float:
    return getattr(result.val, metric.removeprefix("val_"))


class ClassifyObjective:
    """Callable objective for `study.optimize`; one instance serves all trials of a worker."""

    def __init__(self, config: StudyConfig, keeper: BestKeeper) -> None:
        self.config = config
        self.keeper = keeper
        self.maximize = config.direction == "maximize"

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b

    def _study_best(self, trial: optuna.Trial) -> float | None:
        try:
            return trial.study.best_value
        except ValueError:  # no complete trial yet
            return None

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest(trial, self.config.space)
        train_config = self.config.train.replace(**params)
        trial.set_user_attr("train_config", to_mapping(train_config))
        history: list[dict[str, Any]] = []
        best_value: float | None = None
        best_epoch = 0
        best_weights: dict[str, torch.Tensor] | None = None
        trainer: Trainer | None = None
        try:
            trainer = Trainer(train_config)
            trial.set_user_attr("worker", _where(trainer))
            if trainer.dataset.skipped:
                trial.set_user_attr(
                    "data_warning", f"skipped undecodable images: {list(trainer.dataset.skipped)}"
                )
            for result in trainer.fit():
                value = metric_value(result, self.config.metric)
                history.append(
                    {
                        "epoch": result.epoch,
                        "lr": result.lr,
                        "train_loss": result.train_loss,
                        **result.val.as_dict("val_"),
                        "seconds": round(result.seconds, 3),
                    }
                )
                trial.set_user_attr("epochs_run", result.epoch)
                trial.set_user_attr("history", history)
                if best_value is None or self._better(value, best_value):
                    best_value, best_epoch = value, result.epoch
                    study_best = self._study_best(trial)
                    # Copy weights only when they could become the study's best checkpoint.
                    could_be_best = study_best is None or not self._better(study_best, value)
                    best_weights = trainer.weights() if could_be_best else None
                trial.report(value, result.epoch)
                faults.reach("epoch")
                # Pruning after the last epoch would save nothing and discard a finished trial.
                if result.epoch < train_config.epochs and trial.should_prune():
                    reason = f"pruned after epoch {result.epoch}: {self.config.metric}={value:.4f}"
                    trial.set_user_attr("pruned_reason", reason)
                    raise optuna.TrialPruned(reason)
            classes = list(trainer.dataset.classes)
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted")
            raise
        except torch.cuda.OutOfMemoryError:
            trainer = None
            _free_memory()
            trial.set_user_attr(
                "fail_reason", f"CUDA out of memory at batch_size={train_config.batch_size}"
            )
            raise
        except NonFiniteLossError as err:
            trial.set_user_attr("fail_reason", str(err))
            raise
        except Exception as err:
            trial.set_user_attr("fail_reason", f"{err.__class__.__name__}: {err}")
            raise
        finally:
            del trainer
            _free_memory()
        assert best_value is not None and math.isfinite(best_value)
        trial.set_user_attr("best_epoch", best_epoch)
        study_best = self._study_best(trial)
        if best_weights is not None and (
            study_best is None or not self._better(study_best, best_value)
        ):
            self.keeper.stage(
                trial,
                best_weights,
                to_mapping(train_config),
                {
                    "study": trial.study.study_name,
                    "trial": trial.number,
                    "metric": self.config.metric,
                    "value": best_value,
                    "epoch": best_epoch,
                    "classes": classes,
                    "history": history,
                },
            )
        return best_value


def _where(trainer: Trainer) -> dict[str, Any]:
    """Which machine, worker and device ran the trial: for scale-out and for debugging."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": os.environ.get("SEARCH_WORKER"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
    }


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
