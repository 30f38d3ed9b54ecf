"""A training run epoch by epoch, keeping its best epoch by one metric: what a trial and
`search train` both do, and what a checkpoint's metrics.json records of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from search.trainer.loop import Trainer
from search.trainer.steps import EpochResult
from search.trainer.metric_registry import METRICS
from search.trainer.metrics import Metrics, resampled_se


class FitRecord:
    """The history of one run and its best epoch by the trainer's metric (a key of
    `EpochResult.record()`: the study's).

    `epochs()` trains; after each epoch, `improved` says whether it became the best, and then
    `best_weights` holds its weights when `keep_weights(value)` asked for them.
    """

    def __init__(
        self,
        trainer: Trainer,
        *,
        history: list[dict[str, Any]] | None = None,
        best_value: float | None = None,
        best_epoch: int = 0,
    ) -> None:
        self.trainer = trainer
        self.metric = trainer.metric
        self.maximize = METRICS.get(self.metric).direction == "maximize"
        self.history = list(history or [])
        self.best_value = best_value
        self.best_epoch = best_epoch
        self.best_val: Metrics | None = None
        self.best_weights: dict | None = None
        self.improved = False

    def better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b

    def epochs(
        self, keep_weights: Callable[[float], bool] = lambda value: True
    ) -> Iterator[EpochResult]:
        for result in self.trainer.fit():
            record = result.record()
            self.history.append(record)
            value = record[self.metric]
            self.improved = self.best_value is None or self.better(value, self.best_value)
            if self.improved:
                self.best_value, self.best_epoch, self.best_val = value, result.epoch, result.val
                # A copy of the weights only when they could be kept: it costs a model's size.
                self.best_weights = self.trainer.weights() if keep_weights(value) else None
            yield result

    def best_se(self) -> float | None:
        """How far the best value would move by chance on another draw of the val split (its
        bootstrap standard error); `search best` and the run's end show it beside the value."""
        if self.best_val is None:
            return None
        return resampled_se(self.best_val.confusion, METRICS.get(self.metric).attribute)

    def metrics(self, **extra: Any) -> dict[str, Any]:
        """metrics.json of the best epoch's checkpoint: value, epoch, classes, preprocessing,
        and the history up to now."""
        dataset = self.trainer.dataset
        return {
            **extra,
            "metric": self.metric,
            "value": self.best_value,
            "epoch": self.best_epoch,
            "classes": list(dataset.classes),
            "preprocess": dataset.preprocessing(),
            "history": self.history,
        }
