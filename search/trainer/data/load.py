"""Load a dataset once per process; every trial of a worker reuses it."""

from __future__ import annotations

import functools

import torch

from search.trainer.data.builtin import load_builtin
from search.trainer.data.config import BUILTIN_DATASETS, DataConfig
from search.trainer.data.dataset import Dataset
from search.trainer.data.files import load_files


@functools.lru_cache(maxsize=4)
def load_dataset(config: DataConfig) -> Dataset:
    """Read and split once per process; every trial of a worker reuses the result.

    `config` is resolved (see resolve_data_config): a user dataset's size and normalisation
    are known.
    """
    generator = torch.Generator().manual_seed(config.seed)
    if config.name in BUILTIN_DATASETS:
        return load_builtin(config, generator)
    return load_files(config, generator)
