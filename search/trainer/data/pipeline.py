"""Two pipelines behind one interface: images decoded once into memory, or streamed from disk.

Both read images through `open_image` and the same deterministic eval transform, so a model
sees identical pixels either way; only where the decoding happens differs. Batches come as
uint8 (N, C, H, W) tensors and labels: normalisation and batch-level augmentation happen on
the device, where they are cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Sampler

from search.trainer.data.errors import DataError

Transform = Callable[[object], torch.Tensor]


def open_image(file: str, channels: int):
    """A PIL image in L (1 channel) or RGB (3); raises OSError for anything not decodable."""
    from PIL import Image

    if not os.path.isfile(file):  # a FIFO would block the read forever
        raise OSError(f"{file}: not a regular file")
    try:
        with Image.open(file) as img:
            img.load()
            return img.convert("L" if channels == 1 else "RGB")
    except (Image.DecompressionBombError, ValueError) as err:
        raise OSError(f"{file}: {err}") from None


def read_header(file: str) -> tuple[int, int, str]:
    """(width, height, mode) from the header alone; raises OSError for anything not an image.

    Reading every header is cheap where decoding every image is what streaming avoids.
    """
    from PIL import Image

    if not os.path.isfile(file):
        raise OSError(f"{file}: not a regular file")
    try:
        with Image.open(file) as img:
            return img.width, img.height, img.mode
    except (Image.DecompressionBombError, ValueError) as err:
        raise OSError(f"{file}: {err}") from None


class Normalize:
    """uint8 images to normalised floats on `device`: (x / 255 - mean) / std, in one fused step."""

    def __init__(self, mean, std, device: torch.device) -> None:
        std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
        mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.device = device
        self._scale = 1.0 / (255.0 * std_t)
        self._shift = -mean_t / std_t

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True).float() * self._scale + self._shift


@dataclass(frozen=True)
class MemorySplit:
    """Decoded images, uint8 (N, C, H, W), and labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> MemorySplit:
        return MemorySplit(self.images.to(device), self.labels.to(device))

    def pil(self, i: int):
        return _as_pil(self.images[i])


def _as_pil(image: torch.Tensor):
    """A uint8 (C, H, W) tensor as the PIL image timm's per-image transforms take."""
    from PIL import Image

    array = image.permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


@dataclass(frozen=True)
class WholeImages:
    """Decoded images of differing shapes, uint8 (C, H, W) each, aspect kept, and labels:
    the whole photos a random crop is taken from, where the eval crop would cut them."""

    images: tuple[torch.Tensor, ...]
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> WholeImages:
        return self  # per-image transforms read them on the CPU

    def pil(self, i: int):
        return _as_pil(self.images[i])


@dataclass(frozen=True)
class StreamSplit:
    """Image files and labels, decoded batch by batch."""

    files: tuple[str, ...]
    labels: torch.Tensor
    channels: int

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> StreamSplit:
        return self  # nothing is held: batches move when they are made

    def pil(self, i: int):
        try:
            return open_image(self.files[i], self.channels)
        except OSError as err:
            raise DataError(f"cannot decode {self.files[i]} while streaming: {err}") from None


Split = MemorySplit | StreamSplit | WholeImages


class EpochBatches(Sampler[list[int]]):
    """Index batches of one pass; a new order from `generator` each pass when shuffling.

    Both pipelines draw their order here, so with the same seed they see the same batches.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool,
        generator: torch.Generator | None,
        even: bool = False,
        drop_single: bool = False,
    ) -> None:
        self.n, self.batch_size, self.shuffle, self.generator = n, batch_size, shuffle, generator
        self.even = even
        """Mixup and CutMix pair each image with another: a batch of odd size loses one image."""
        self.drop_single = drop_single
        """A pass's last batch of a single image is dropped (when it is not the only one):
        BatchNorm cannot train on one value per channel, so a training set of 1025 images
        would fail every trial at batch size 32, 64 or 128."""

    def _sizes(self) -> Iterator[tuple[int, int]]:
        for start in range(0, self.n, self.batch_size):
            size = min(self.batch_size, self.n - start)
            if self.even:
                size -= size % 2
            if size > (1 if self.drop_single and start else 0):
                yield start, size

    def __iter__(self) -> Iterator[list[int]]:
        order = (
            torch.randperm(self.n, generator=self.generator)
            if self.shuffle
            else torch.arange(self.n)
        )
        for start, size in self._sizes():
            yield order[start : start + size].tolist()

    def __len__(self) -> int:
        return sum(1 for _ in self._sizes())


class _Items(torch.utils.data.Dataset):
    def __init__(self, split: Split, transform: Transform) -> None:
        self.split = split
        self.transform = transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.split.pil(i)), int(self.split.labels[i])


class Batches:
    """Batches of one split, as often as asked: a pass per call of `__iter__`.

    A split in memory without a per-image transform is sliced as tensors (the fast path);
    anything else goes through a DataLoader whose worker processes outlive the pass.
    """

    def __init__(
        self,
        split: Split,
        sampler: EpochBatches,
        transform: Transform | None,
        *,
        workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        self.split = split
        self.sampler = sampler
        self.loader = None
        if transform is not None or isinstance(split, StreamSplit):
            assert transform is not None, "a streamed split needs its eval transform"
            self.loader = DataLoader(
                _Items(split, transform),
                batch_sampler=sampler,
                num_workers=workers,
                persistent_workers=workers > 0,
                pin_memory=pin_memory,
            )

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.loader is not None:
            yield from self.loader
            return
        assert isinstance(self.split, MemorySplit)
        for idx in self.sampler:
            index = torch.tensor(idx, device=self.split.labels.device)
            yield self.split.images[index], self.split.labels[index]
