"""A loaded dataset (its splits and how to read them), and the memory-or-stream decision."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from search.trainer.data.config import DataConfig, height_width
from search.trainer.data.errors import DataError
from search.trainer.data.pipeline import MemorySplit, Split

MEMORY_SHARE = 0.4
"""Of this machine's memory, the share decoded images may take unless data.memory_gb says."""


@dataclass(frozen=True)
class Dataset:
    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    channels: int
    size: int | tuple[int, int]
    """The model's input: square, or (height, width)."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pct: float
    interpolation: str
    cache: str
    """memory or stream: which pipeline holds the images."""
    cache_reason: str
    skipped: tuple[str, ...] = ()
    """Files that could not be decoded and were left out."""
    crop_mode: str = "center"
    whole_train: Split | None = None
    """The train split's images whole, for augmentation to crop from: a copy (WholeImages)
    where memory holds them cropped and a trial augments, `train` itself where it is never
    cropped (the built-in images); None when streamed (files are read whole) or not asked."""

    @property
    def train_cropped(self) -> bool:
        """Whether random crops would come from eval-cropped images: decoded into memory at
        the eval crop, with no whole copy kept."""
        return isinstance(self.train, MemorySplit) and self.whole_train is None

    @property
    def augment_source(self) -> Split:
        """The train split as augmentation should see it: whole images where kept."""
        return self.whole_train if self.whole_train is not None else self.train

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def height_width(self) -> tuple[int, int]:
        return height_width(self.size)

    @property
    def in_chans(self) -> int:
        return self.channels

    def class_counts(self) -> torch.Tensor:
        return torch.bincount(self.train.labels.cpu(), minlength=self.num_classes)

    def preprocessing(self) -> dict:
        """How a model trained here expects its images: a checkpoint records it, so that it
        can be used without this dataset (`search predict`)."""
        return {
            "classes": list(self.classes),
            "size": self.size if isinstance(self.size, int) else list(self.size),
            "channels": self.channels,
            "mean": list(self.mean),
            "std": list(self.std),
            "crop_pct": self.crop_pct,
            "crop_mode": self.crop_mode,
            "interpolation": self.interpolation,
        }

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; choose from: train, val, test")
        return getattr(self, name)


def memory_budget(config: DataConfig) -> float:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return config.memory_gb * 1e9 if config.memory_gb else MEMORY_SHARE * total


def choose_cache(config: DataConfig, needed: int) -> tuple[str, str]:
    """(memory or stream, why), or a DataError when memory is asked for and does not fit."""
    budget = memory_budget(config)
    fits = needed <= budget
    sizes = f"{needed / 1e9:.2f} GB of decoded images, budget {budget / 1e9:.2f} GB"
    if config.cache == "memory" and not fits:
        raise DataError(
            f"the decoded images would take {needed / 1e9:.1f} GB in memory, over the budget of "
            f"{budget / 1e9:.1f} GB: lower image_size, raise memory_gb, or set cache: stream",
            "image_size",
        )
    if config.cache != "auto":
        return config.cache, f"cache: {config.cache}; {sizes}"
    return ("memory", f"auto: fits; {sizes}") if fits else ("stream", f"auto: too big; {sizes}")
