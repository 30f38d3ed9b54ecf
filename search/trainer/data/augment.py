"""Augmentation with timm's own transforms and Mixup, under timm train.py's key names.

Per-image transforms (crop, flips, colour jitter, AutoAugment) run on PIL images, as timm's
`create_transform(use_prefetcher=True)` builds them, and yield uint8 tensors. Random erasing,
Mixup and CutMix run on the normalised batch on the device, as timm's prefetcher does.
Evaluation is deterministic: timm's resize and crop for the crop mode (center, squash or
border). Random crops are taken from the whole image, as train.py takes them: in memory, from a
copy kept at the eval resize's scale with its aspect (`whole_transform`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from search.trainer.data.config import height_width

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

BatchAugment = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


IMAGE_AUGMENT_KEYS = ("hflip", "vflip", "scale", "ratio", "color_jitter", "aa")
"""TrainConfig keys of per-image augmentation: a study searching one may augment."""


def image_augmented(config: TrainConfig) -> bool:
    """Whether the study asks for any per-image augmentation."""
    return bool(
        config.hflip
        or config.vflip
        or tuple(config.scale) != (1.0, 1.0)
        or tuple(config.ratio) != (1.0, 1.0)
        or config.color_jitter
        or config.aa
    )


def mixes(config: TrainConfig) -> bool:
    """Whether targets become soft (Mixup or CutMix)."""
    return config.mixup > 0 or config.cutmix > 0


def eval_transform(
    size: int | tuple[int, int], crop_pct: float, interpolation: str, crop_mode: str = "center"
):
    from timm.data import create_transform

    return create_transform(
        size,
        is_training=False,
        use_prefetcher=True,
        crop_pct=crop_pct,
        crop_mode=crop_mode,
        interpolation=interpolation,
    )


def resize_box(size: int | tuple[int, int], crop_pct: float) -> tuple[int, int]:
    """(height, width) that timm's eval transform resizes to before its crop: size / crop_pct."""
    height, width = height_width(size)
    return math.floor(height / crop_pct), math.floor(width / crop_pct)


def whole_size(
    width: int, height: int, size: int | tuple[int, int], crop_pct: float
) -> tuple[int, int]:
    """(height, width) of a width x height image after `whole_transform`: its aspect kept,
    covering the resize box (timm's ResizeKeepRatio with longest=0)."""
    box_h, box_w = resize_box(size, crop_pct)
    ratio = min(height / box_h, width / box_w)
    return round(height / ratio), round(width / ratio)


def whole_transform(size: int | tuple[int, int], crop_pct: float, interpolation: str):
    """The whole image, aspect kept, scaled as the eval resize scales it before its crop (both
    sides at least the resize box): what a random crop needs to see the whole photo without
    keeping every file at full resolution."""
    from timm.data.transforms import MaybePILToTensor, ResizeKeepRatio
    from torchvision import transforms

    box = resize_box(size, crop_pct)
    return transforms.Compose(
        [ResizeKeepRatio(box, longest=0.0, interpolation=interpolation), MaybePILToTensor()]
    )


def train_transform(config: TrainConfig, size: int | tuple[int, int], interpolation: str):
    """timm's training transform for the study's keys, or None when nothing is augmented."""
    from timm.data import create_transform

    if not image_augmented(config):
        return None
    return create_transform(
        size,
        is_training=True,
        use_prefetcher=True,
        scale=tuple(config.scale),
        ratio=tuple(config.ratio),
        hflip=config.hflip,
        vflip=config.vflip,
        color_jitter=config.color_jitter,
        auto_augment=config.aa,
        interpolation=interpolation,
    )


def batch_augment(
    config: TrainConfig, num_classes: int, device: torch.device
) -> BatchAugment | None:
    """Random erasing and Mixup/CutMix on a normalised batch, or None when neither is on."""
    from timm.data import Mixup
    from timm.data.random_erasing import RandomErasing

    erase = (
        RandomErasing(config.reprob, mode="pixel", device=str(device)) if config.reprob else None
    )
    mix = (
        Mixup(
            mixup_alpha=config.mixup,
            cutmix_alpha=config.cutmix,
            label_smoothing=config.smoothing if config.loss == "label_smoothing" else 0.0,
            num_classes=num_classes,
        )
        if mixes(config)
        else None
    )
    if erase is None and mix is None:
        return None

    def augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if erase is not None:
            x = erase(x)
        if mix is not None:
            x, y = mix(x, y)
        return x, y

    return augment
