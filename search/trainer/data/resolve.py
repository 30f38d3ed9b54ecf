"""A user dataset's input size and normalisation, from the model's pretrained config."""

from __future__ import annotations

import dataclasses

from search.trainer.data.config import DataConfig
from search.trainer.data.sources import SOURCES


def resolve_data_config(data: DataConfig, model: str) -> DataConfig:
    """`data` with what the study left unset taken from timm's config for `model`.

    Image size, crop_pct, crop_mode, interpolation, mean and std follow
    `timm.data.resolve_data_config`: pretrained weights expect their own. A single-channel dataset takes the mean of the
    model's per-channel values. The built-in MNIST keeps its 28 px and its own statistics.
    """
    if SOURCES.get(data.source).builtin:
        return data
    import timm.data
    from timm.models import get_pretrained_cfg

    pretrained = get_pretrained_cfg(model)
    cfg = timm.data.resolve_data_config(pretrained_cfg=pretrained.to_dict() if pretrained else {})
    channels = data.channels or 3
    mean, std = cfg["mean"], cfg["std"]
    if channels == 1:
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    return dataclasses.replace(
        data,
        image_size=data.image_size or _square_as_int(cfg["input_size"][1:]),
        crop_pct=data.crop_pct or cfg["crop_pct"],
        crop_mode=data.crop_mode or cfg.get("crop_mode") or "center",
        interpolation=data.interpolation or cfg["interpolation"],
        mean=data.mean or tuple(mean),
        std=data.std or tuple(std),
        channels=channels,
    )


def _square_as_int(height_width: tuple[int, int]) -> int | tuple[int, int]:
    height, width = height_width
    return height if height == width else (height, width)
