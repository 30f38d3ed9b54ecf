"""Where a dataset's images come from: an ImageFolder, a pre-split root, or a CSV manifest.

Each source lists its samples (a file, a class, and where known a split and a group) without
decoding anything; splitting and decoding come after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from search.trainer.data.config import DataConfig
from search.trainer.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SPLIT_DIRS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
SPLIT_VALUES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@dataclass(frozen=True)
class Samples:
    """Every sample of a dataset: its file, class index, given split and group (or None)."""

    files: list[str]
    labels: list[int]
    classes: tuple[str, ...]
    splits: list[str] | None = None
    """'train', 'val' or 'test' per sample when the source gives the split."""
    groups: list[str] | None = None
    """A group per sample (a person, say) that must not span two splits."""


def list_samples(config: DataConfig) -> Samples:
    if config.csv is not None:
        return _from_csv(config)
    assert config.path is not None
    if _split_dirs(config.path):
        return _from_split_root(config.path)
    files, labels, classes = _from_folder(config.path)
    return Samples(files, labels, classes)


def _split_dirs(path: str) -> dict[str, str]:
    """{'train': dir, 'val': dir, ['test': dir]} when `path` is a pre-split root, else {}."""
    found = {
        SPLIT_DIRS[e.name]: e.path for e in os.scandir(path) if e.is_dir() and e.name in SPLIT_DIRS
    }
    return found if "train" in found and "val" in found else {}


def _class_dirs(path: str) -> list[str]:
    root = os.path.realpath(path)
    names, seen = [], {}
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        real = os.path.realpath(entry.path)
        if root == real or root.startswith(real + os.sep):
            raise DataError(
                f"{entry.path} links to {path} itself (or above it); a class would hold every "
                "image: remove the link",
                "path",
            )
        if real in seen:
            raise DataError(f"{entry.path} and {seen[real]} are the same directory", "path")
        seen[real] = entry.path
        names.append(entry.name)
    return names


def _images_under(path: str) -> list[str]:
    return [
        os.path.join(folder, name)
        for folder, _, names in sorted(os.walk(path))
        for name in sorted(names)
        if name.lower().endswith(IMAGE_EXTENSIONS)
    ]


def _from_folder(
    path: str, classes: list[str] | None = None
) -> tuple[list[str], list[int], tuple[str, ...]]:
    names = classes if classes is not None else _class_dirs(path)
    files, labels = [], []
    for k, name in enumerate(names):
        found = (
            _images_under(os.path.join(path, name))
            if os.path.isdir(os.path.join(path, name))
            else []
        )
        files += found
        labels += [k] * len(found)
    present = sorted(set(labels))
    if classes is None and len(present) < 2:
        only = f" ({names[present[0]]})" if present else ""
        raise DataError(
            f"{path}: an ImageFolder needs at least 2 class sub-directories with images, "
            f"found {len(present)}{only}",
            "path",
        )
    return files, labels, tuple(names)


def _from_split_root(path: str) -> Samples:
    """train/ plus val/ (or validation/) and an optional test/, each an ImageFolder."""
    dirs = _split_dirs(path)
    _, _, classes = _from_folder(dirs["train"])
    files, labels, splits = [], [], []
    for split in ("train", "val", "test"):
        if split not in dirs:
            continue
        unknown = sorted(set(_class_dirs(dirs[split])) - set(classes))
        if unknown:
            raise DataError(
                f"{dirs[split]}: classes not in train/: {', '.join(unknown[:5])}", "path"
            )
        found, found_labels, _ = _from_folder(dirs[split], list(classes))
        files += found
        labels += found_labels
        splits += [split] * len(found)
    return Samples(files, labels, classes, splits)


def read_manifest(path: str, columns: dict[str, str | None]):
    """A CSV or TSV as strings, and the files of its path column, relative to its folder.

    `columns` maps each config key to the column it names (None: not used); a missing one is
    a DataError naming the key and the columns there are. The path column comes first.
    """
    import pandas as pd

    sep = "\t" if path.endswith((".tsv", ".tab")) else ","
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = " ".join(str(err).split())[:160]
        raise DataError(f"{path}: not a readable CSV ({first})", "csv") from None
    for key, column in columns.items():
        if column is not None and column not in table.columns:
            listed = ", ".join(map(str, table.columns[:20]))
            raise DataError(f"{path}: no column {column!r}; its columns: {listed}", key)
    if table.empty:
        raise DataError(f"{path}: has no rows", "csv")
    base = os.path.dirname(os.path.abspath(path))
    path_column = next(iter(columns.values()))
    return table, [os.path.join(base, p) for p in table[path_column]]


def _from_csv(config: DataConfig) -> Samples:
    path = config.csv
    assert path is not None
    named = {
        "path_column": config.path_column,
        **{f"label_columns[{i}]": c for i, c in enumerate(config.label_columns)},
        "split_column": config.split_column,
        "group_column": config.group_column,
    }
    table, files = read_manifest(path, named)
    missing = [p for p, f in zip(table[config.path_column], files) if not os.path.isfile(f)]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(files)} files in {path} do not exist, first: "
            f"{', '.join(missing[:5])}",
            "csv",
        )
    names = table[list(config.label_columns)].astype(str).agg("_".join, axis=1)
    classes = tuple(sorted(names.unique()))
    index = {name: k for k, name in enumerate(classes)}
    if len(classes) < 2:
        raise DataError(f"{path}: needs at least 2 classes, found {len(classes)}", "label_columns")
    splits = None
    if config.split_column is not None:
        raw = table[config.split_column].str.strip().str.lower()
        unknown = sorted(set(raw) - set(SPLIT_VALUES))
        if unknown:
            raise DataError(
                f"{path}: split values must be train, val or test; found {', '.join(unknown[:5])}",
                "split_column",
            )
        splits = [SPLIT_VALUES[v] for v in raw]
    groups = list(table[config.group_column]) if config.group_column is not None else None
    return Samples(files, [index[n] for n in names], classes, splits, groups)
