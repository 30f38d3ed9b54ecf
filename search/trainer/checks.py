"""Checks of a TrainConfig that need the world: timm's model list, transforms, the images."""

from __future__ import annotations

from search.errors import ConfigError
from search.trainer.config import TrainConfig
from search.trainer.data.augment import train_transform
from search.trainer.data.dataset import Dataset
from search.trainer.data.errors import DataError
from search.trainer.data.load import load_dataset
from search.trainer.data.resolve import resolve_data_config
from search.trainer.model import check_model_name


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def check_train_config(config: TrainConfig, source: str, prefix: str = "") -> Dataset:
    """Raise ConfigError naming `source` and the key; return the dataset (now cached)."""
    try:
        check_model_name(config.model)
    except ValueError as err:
        raise ConfigError(source, _join(prefix, "model"), str(err)) from None
    try:
        train_transform(config, 32, "bilinear")
    except Exception as err:  # timm parses `aa` only when it builds the transform
        raise ConfigError(source, _join(prefix, "aa"), f"timm rejects it: {err}") from None
    try:
        return load_dataset(resolve_data_config(config.data, config.model))
    except DataError as err:
        key = _join(prefix, f"data.{err.key}" if err.key else "data")
        raise ConfigError(source, key, str(err)) from None
