"""Checks of a TrainConfig that need more than its own fields: the registries' names, files,
timm's model list and transforms, the images."""

from __future__ import annotations

import os

from search.errors import ConfigError, shown
from search.registry import Registry, UnknownNameError
from search.trainer.config import TrainConfig
from search.trainer.data.augment import image_augmented, mixes, train_transform
from search.trainer.data.dataset import Dataset
from search.trainer.data.errors import DataError
from search.trainer.data.load import Datasets, load_dataset
from search.trainer.data.resolve import resolve_data_config
from search.trainer.data.sources import check_data_config
from search.trainer.losses import LOSSES
from search.trainer.model import build_model, check_model_name
from search.trainer.optim import OPTIMIZERS
from search.trainer.schedule import SCHEDULERS
from search.trainer.weights import WeightsError, resolve_pretrained
from search.yaml_dataclasses import FieldError

NAMED: dict[str, Registry] = {"opt": OPTIMIZERS, "sched": SCHEDULERS, "loss": LOSSES}
"""TrainConfig keys whose value names a registry entry."""


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def check_names(config: TrainConfig) -> None:
    """FieldError for a name no registry has, a loss that cannot take Mixup's soft targets,
    a weights file or data source that is not there."""
    for key, registry in NAMED.items():
        try:
            registry.get(getattr(config, key))
        except UnknownNameError as err:
            raise FieldError(key, str(err)) from None
    if mixes(config) and not LOSSES.get(config.loss).soft_targets:
        takes = ", ".join(info.name for info in LOSSES.entries() if info.soft_targets)
        raise FieldError(
            "loss",
            f"mixup and cutmix make soft targets, which loss {config.loss} cannot take; "
            f"use {takes}",
        )
    paths = config.pretrained_path
    named = paths.items() if isinstance(paths, dict) else [("", paths)]
    for model, path in named:
        if path is not None and not os.path.isfile(path):
            key = f"pretrained_path.{model}" if model else "pretrained_path"
            raise FieldError(key, f"no such file: {shown(path)}")
    try:
        check_data_config(config.data)
    except FieldError as err:
        raise FieldError(f"data.{err.field}", err.message) from None


def check_train_config(
    config: TrainConfig,
    source: str,
    prefix: str = "",
    *,
    datasets: Datasets | None = None,
    whole: bool | None = None,
) -> Dataset:
    """Raise ConfigError naming `source` and the key; return the dataset, loaded (and kept
    in `datasets` when given), with whole train images where trials will augment (`whole`;
    default: where `config` augments)."""
    try:
        check_names(config)
    except FieldError as err:
        raise ConfigError(source, _join(prefix, err.field), err.message) from None
    try:
        check_model_name(config.model)
    except ValueError as err:
        raise ConfigError(source, _join(prefix, "model"), str(err)) from None
    try:
        train_transform(config, 32, "bilinear")
    except Exception as err:  # timm parses `aa` only when it builds the transform
        raise ConfigError(source, _join(prefix, "aa"), f"timm rejects it: {err}") from None
    try:
        whole = image_augmented(config) if whole is None else whole
        if datasets is not None:
            return datasets.get(config.data, config.model, whole=whole)
        return load_dataset(resolve_data_config(config.data, config.model), whole=whole)
    except DataError as err:
        key = _join(prefix, f"data.{err.key}" if err.key else "data")
        raise ConfigError(source, key, str(err)) from None


def check_starting_weights(
    config: TrainConfig, dataset: Dataset, source: str, prefix: str = ""
) -> None:
    """Build the config's model from its weights once, as a trial will, and check strictly
    that they load: ConfigError naming the key, before anything is stored.

    timm's pretrained weights are found first (weights.resolve_pretrained), so that a machine
    without the hub fails here in seconds instead of retrying inside every trial.
    """
    if not config.starts_from_weights:
        return
    weights = config.model_weights
    if weights is not None:
        key = "pretrained_path" + (
            f".{config.model}" if isinstance(config.pretrained_path, dict) else ""
        )
    else:
        key = "pretrained" + (f".{config.model}" if isinstance(config.pretrained, dict) else "")
    size = resolve_data_config(config.data, config.model).image_size or dataset.size
    try:
        if weights is None:
            resolve_pretrained(config.model)
        build_model(
            config.model,
            num_classes=dataset.num_classes,
            in_chans=dataset.in_chans,
            pretrained=config.model_pretrained,
            weights=weights,
            image_size=size,
        )
    except WeightsError as err:
        raise ConfigError(source, _join(prefix, key), str(err)) from None
