"""What a training run reports as it goes: each epoch's result, each batch's place in the run,
and the one error it cannot recover from."""

from __future__ import annotations

from dataclasses import dataclass

from search.trainer.metrics import Metrics


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the run cannot recover."""


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    """1-based: the number of epochs trained so far."""
    train_loss: float
    lr: float
    """The learning rate this epoch trained with."""
    val: Metrics
    seconds: float

    def record(self) -> dict[str, float]:
        """The epoch as plain data: the history row of a trial or a final training run.

        Its `val_*` keys are the metrics a study may optimise (`val_macro_f1`, ...).
        """
        return {
            "epoch": self.epoch,
            "lr": self.lr,
            "train_loss": self.train_loss,
            **self.val.as_dict("val_"),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class BatchProgress:
    """Where a training pass is, after one of its batches: what a progress line shows."""

    epoch: int
    """The epoch being trained, from 1."""
    epochs: int
    batch: int
    batches: int
    images_per_second: float
