"""An ImageFolder (a sub-directory per class) or a pre-split root of them: the `folder` source."""

from __future__ import annotations

import os

from search.trainer.data.config import DataConfig
from search.trainer.data.errors import DataError
from search.trainer.data.samples import IMAGE_EXTENSIONS, Samples

SPLIT_DIRS = {"train": "train", "val": "val", "validation": "val", "test": "test"}


def list_folder(config: DataConfig) -> Samples:
    """The samples of `config.path`: a pre-split root when it holds train/ and val/."""
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
