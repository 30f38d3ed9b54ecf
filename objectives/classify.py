"""Image classification: suggest -> build -> train epoch by epoch -> report -> prune -> return.

The canonical Optuna objective (optuna-examples' pytorch_simple.py) around `search.trainer`.
It returns the trial's best validation metric and stages that epoch's weights for the study's
best checkpoint when they could beat every finished trial.
"""

from __future__ import annotations

import gc
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any

import optuna
import torch

from search import faults
from search.env import WORKER_ENV
from search.store.anytime import VALUE_SE_ATTR
from search.store.checkpoint import BestKeeper
from search.store.storage import best_trial
from search.study.config import StudyConfig
from search.study.space import START_ATTR, suggest
from search.trainer.config import TrainConfig
from search.trainer.loop import NonFiniteLossError, Trainer
from search.trainer.metrics import resampled_se
from search.yaml_dataclasses import to_mapping

# Why a trial failed, as `search trials` shows it; the first matching type wins.
FAIL_REASONS: dict[type[BaseException], Callable[[BaseException, TrainConfig], str]] = {
    KeyboardInterrupt: lambda err, config: "interrupted",
    torch.cuda.OutOfMemoryError: lambda err, config: (
        f"CUDA out of memory at batch_size={config.batch_size}"
    ),
    NonFiniteLossError: lambda err, config: str(err),
    BaseException: lambda err, config: f"{err.__class__.__name__}: {err}",
}


def fail_reason(err: BaseException, config: TrainConfig) -> str:
    describe = next(f for kind, f in FAIL_REASONS.items() if isinstance(err, kind))
    return describe(err, config)


class ClassifyObjective:
    """Callable objective for `study.optimize`; one instance serves all trials of a worker."""

    def __init__(
        self,
        config: StudyConfig,
        keeper: BestKeeper,
        out_of_time: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.keeper = keeper
        self.maximize = config.direction == "maximize"
        self.out_of_time = out_of_time
        """Whether the study's budget is spent: the trial then stops after its epoch."""

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        train_config = self.config.train
        try:
            train_config = train_config.replace(**suggest(trial, self.config.space))
            trial.set_user_attr("train_config", to_mapping(train_config))
            return self._train(trial, train_config)
        except optuna.TrialPruned:
            raise
        except BaseException as err:
            trial.set_user_attr("fail_reason", fail_reason(err, train_config))
            # The traceback holds the trainer and its tensors: drop them before the next trial.
            traceback.clear_frames(err.__traceback__)
            raise
        finally:
            _free_memory()

    def _train(self, trial: optuna.Trial, config: TrainConfig) -> float | tuple[float, float]:
        trainer = Trainer(config)
        trial.set_user_attr("worker", _where(trainer))
        trial.set_user_attr(
            "data", {"cache": trainer.dataset.cache, "why": trainer.dataset.cache_reason}
        )
        if trainer.dataset.skipped:
            trial.set_user_attr(
                "data_warning", f"skipped undecodable images: {list(trainer.dataset.skipped)}"
            )
        history: list[dict[str, Any]] = []
        best_value, best_epoch, best_weights, best_val = None, 0, None, None
        starting = START_ATTR in trial.user_attrs  # the study's floor: never pruned
        for result in trainer.fit():
            record = result.record()
            value = record[self.config.metric]
            history.append(record)
            trial.set_user_attr("epochs_run", result.epoch)
            trial.set_user_attr("history", history)
            trial.set_user_attr("cost", {"model": config.model, **trainer.cost()})
            if trainer.oom_retries:
                trial.set_user_attr("oom_retries", trainer.oom_retries)
            if best_value is None or self._better(value, best_value):
                best_value, best_epoch, best_val = value, result.epoch, result.val
                # Copy weights only when they could become the study's best checkpoint.
                best_weights = trainer.weights() if self._could_be_best(trial, value) else None
            single = self.config.cost_objective is None  # Optuna prunes one objective only
            if single:
                trial.report(value, result.epoch)
            faults.reach("epoch")
            reason = None
            if result.epoch == config.epochs:
                pass  # stopping now would save nothing and discard a finished trial
            elif single and not starting and trial.should_prune():
                reason = f"pruned after epoch {result.epoch}: {self.config.metric}={value:.4f}"
            elif self.out_of_time():
                reason = f"stopped after epoch {result.epoch}: the study's budget is spent"
            if reason is not None:
                trial.set_user_attr("pruned_reason", reason)
                raise optuna.TrialPruned(reason)
        assert best_value is not None
        trial.set_user_attr("best_epoch", best_epoch)
        # How finely the val split measures the value: `search best` and the run's end show it.
        se = resampled_se(best_val.confusion, self.config.metric.removeprefix("val_"))
        if se is not None:
            trial.set_user_attr(VALUE_SE_ATTR, se)
        if best_weights is not None:
            summary = {
                "study": trial.study.study_name,
                "trial": trial.number,
                "metric": self.config.metric,
                "value": best_value,
                "epoch": best_epoch,
                "classes": list(trainer.dataset.classes),
                "preprocess": trainer.dataset.preprocessing(),
                "history": history,
            }
            self.keeper.stage(trial, best_weights, to_mapping(config), summary)
        if self.config.cost_objective is not None:
            return best_value, trainer.cost()["train_seconds"]
        return best_value

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b

    def _could_be_best(self, trial: optuna.Trial, value: float) -> bool:
        if self.config.cost_objective is not None:
            return True  # a cost study's pick depends on the front; the keeper sorts it out
        best = best_trial(trial.study)
        return best is None or not self._better(best.value, value)


def _where(trainer: Trainer) -> dict[str, Any]:
    """Which machine, worker and device ran the trial: for scale-out and for debugging."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": os.environ.get(WORKER_ENV),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
    }


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
