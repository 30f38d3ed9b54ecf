"""Normalised batches on the device: augmented for training as the config says, plain for eval."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from search.trainer.data.augment import batch_augment, eval_transform, mixes, train_transform
from search.trainer.data.dataset import Dataset
from search.trainer.data.pipeline import Batches, EpochBatches, MemorySplit, Normalize

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

EVAL_BATCH = 256


def _fits_on_device(dataset: Dataset, device: torch.device) -> bool:
    if device.type != "cuda":
        return True
    if dataset.cache != "memory":
        return False
    size = sum(
        s.images.numel() + s.labels.numel() * 8 for s in (dataset.train, dataset.val, dataset.test)
    )
    free, _ = torch.cuda.mem_get_info(device)
    return size < free // 4


class Feed:
    """Batches of one dataset for one training run, as (float images, targets) on `device`."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: Dataset,
        device: torch.device,
        generator: torch.Generator,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.device = device
        self.cuda = device.type == "cuda"
        self._image_transform = train_transform(config, dataset.size, dataset.interpolation)
        self._eval_transform = (
            eval_transform(dataset.size, dataset.crop_pct, dataset.interpolation, dataset.crop_mode)
            if dataset.cache == "stream"
            else None
        )
        # Decoded data lives where the model does, so a step copies nothing, when it fits and
        # no per-image transform needs it on the CPU.
        self._data_device = device if _fits_on_device(dataset, device) else torch.device("cpu")
        train = dataset.train
        if self._image_transform is None:
            train = train.to(self._data_device)
        else:  # random crops from the whole photo, as train.py takes them
            train = dataset.augment_source
        self._train_split = train
        self._generator = generator
        self.set_batch_size(config.batch_size)
        self._eval: dict[str, Batches] = {}
        self._augment = batch_augment(config, dataset.num_classes, device)
        self._normalize = Normalize(dataset.mean, dataset.std, device)

    def set_batch_size(self, batch_size: int) -> None:
        """Training batches of `batch_size` from now on (smaller after running out of memory)."""
        sampler = EpochBatches(
            len(self._train_split),
            batch_size,
            shuffle=True,
            generator=self._generator,
            even=mixes(self.config),
            drop_single=True,
        )
        transform = self._image_transform or self._eval_transform
        self._train = self._batches(self._train_split, sampler, transform)

    def _batches(self, split, sampler: EpochBatches, transform) -> Batches:
        workers = self.config.data.workers
        if workers is None:
            streaming = self.dataset.cache == "stream"
            workers = max(1, min(4, (os.cpu_count() or 2) // 2)) if streaming else 0
        return Batches(split, sampler, transform, workers=workers, pin_memory=self.cuda)

    def _prepare(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._normalize(images)
        labels = labels.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last), labels  # as the model's weights

    @property
    def train_batches(self) -> int:
        """Batches in one training pass at the current batch size."""
        return len(self._train)

    def train(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of training batches; targets are soft under Mixup or CutMix."""
        for images, labels in self._train:
            x, y = self._prepare(images, labels)
            if self._augment is not None:
                x, y = self._augment(x, y)
            yield x, y

    def eval(self, split: str) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One deterministic pass over `split`, in order."""
        if split not in self._eval:
            data = self.dataset.split(split)
            if isinstance(data, MemorySplit):
                data = data.to(self._data_device)
            sampler = EpochBatches(
                len(data), max(EVAL_BATCH, self.config.batch_size), shuffle=False, generator=None
            )
            self._eval[split] = self._batches(data, sampler, self._eval_transform)
        for images, labels in self._eval[split]:
            yield self._prepare(images, labels)
