"""Load a dataset: a built-in one, or a file source's images, read and split."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import torch

from search.trainer.data.augment import image_augmented
from search.trainer.data.builtin import load_builtin
from search.trainer.data.config import DataConfig
from search.trainer.data.dataset import Dataset
from search.trainer.data.files import load_files
from search.trainer.data.resolve import resolve_data_config
from search.trainer.data.sources import source_of

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig


def load_dataset(config: DataConfig, *, whole: bool = False) -> Dataset:
    """Read and split the images `config` names (resolved: see resolve_data_config).

    `whole`: training will augment, so a split held in memory also keeps its train images
    whole for the random crops (the built-in images are never cropped)."""
    generator = torch.Generator().manual_seed(config.seed)
    info = source_of(config)
    if info.list_samples is None:
        return load_builtin(config, generator)
    return load_files(config, generator, info.list_samples, whole=whole)


class Datasets:
    """The datasets of one process, each loaded once: every trial of a worker reuses them.

    Trials of different models may need different input sizes, so there can be several; the
    least recently used goes when more than `keep` would be held.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._loaded: OrderedDict[DataConfig, Dataset] = OrderedDict()

    def get(self, data: DataConfig, model: str, *, whole: bool = False) -> Dataset:
        """The dataset `data` gives for `model` (whose pretrained config fills its input size);
        `whole` as for load_dataset. One that keeps whole images serves either kind of trial."""
        resolved = resolve_data_config(data, model)
        held = self._loaded.get(resolved)
        if held is None or (whole and held.train_cropped):
            self._loaded[resolved] = load_dataset(resolved, whole=whole)
            while len(self._loaded) > self.keep:
                self._loaded.popitem(last=False)
        self._loaded.move_to_end(resolved)
        return self._loaded[resolved]

    def for_training(self, config: TrainConfig) -> Dataset:
        """The dataset a run of `config` trains on: whole train images where it augments."""
        return self.get(config.data, config.model, whole=image_augmented(config))
