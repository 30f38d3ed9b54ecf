"""The trainer: data, model, loss, optimizer, scheduler and metrics. It knows nothing of Optuna."""

from search.trainer.config import DataConfig, TrainConfig

__all__ = ["DataConfig", "TrainConfig"]
