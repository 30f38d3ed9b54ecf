"""Checks of a TrainConfig that need the world: timm's model list and the images themselves."""

from __future__ import annotations

from search.errors import ConfigError
from search.trainer.config import TrainConfig
from search.trainer.data import DataError, Dataset, load_dataset
from search.trainer.model import check_model_name


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def check_train_config(config: TrainConfig, source: str, prefix: str = "") -> Dataset:
    """Raise ConfigError naming `source` and the key; return the decoded dataset (now cached)."""
    try:
        check_model_name(config.model)
    except ValueError as err:
        raise ConfigError(source, _join(prefix, "model"), str(err)) from None
    try:
        return load_dataset(config.data)
    except DataError as err:
        key = _join(prefix, f"data.{err.key}" if err.key else "data")
        raise ConfigError(source, key, str(err)) from None
