"""An ImageFolder (one sub-directory of images per class) decoded into uint8 tensors.

A bad file costs that file, not the search: undecodable images, decompression bombs and
anything that is not a regular file (a FIFO would block the read forever) are skipped and
named. A bad folder is refused before anything is decoded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch

from search.errors import SearchError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class DataError(SearchError):
    """A dataset that cannot be used as given; `key` names the data key to blame, if any."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def list_folder(path: str) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    """(file, class index) of every image file, and the class names, in a stable order."""
    root = os.path.realpath(path)
    classes, seen = [], {}
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
        classes.append(entry.name)
    files = []
    for k, name in enumerate(classes):
        for folder, _, names in sorted(os.walk(os.path.join(path, name))):
            files += [
                (os.path.join(folder, n), k)
                for n in sorted(names)
                if n.lower().endswith(IMAGE_EXTENSIONS)
            ]
    found = sorted({k for _, k in files})
    if len(found) < 2:
        only = f" ({classes[found[0]]})" if found else ""
        raise DataError(
            f"{path}: an ImageFolder needs at least 2 class sub-directories with images, "
            f"found {len(found)}{only}",
            "path",
        )
    return files, tuple(classes)


def decode_folder(
    path: str, size: int, check_memory: Callable[[int], None]
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...], tuple[str, ...]]:
    """Images (N, C, size, size), labels, class names and the skipped files of a folder."""
    from PIL import Image, UnidentifiedImageError

    files, classes = list_folder(path)
    check_memory(len(files) * 3 * size * size)  # before decoding: RGB at most
    modes: dict[str, str] = {}
    images, labels, skipped = [], [], []
    for file, k in files:
        try:
            if not os.path.isfile(file):  # a FIFO, a socket, a dangling link
                raise OSError("not a regular file")
            with Image.open(file) as img:
                img.load()
                modes.setdefault(img.mode, file)
                mode = "L" if img.mode in ("L", "1", "I;16", "I") else "RGB"
                img = img.convert(mode).resize((size, size), Image.BILINEAR)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
            skipped.append(file)
            continue
        tensor = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        images.append(tensor.view(size, size, -1).permute(2, 0, 1))
        labels.append(k)
    if len({t.shape[0] for t in images}) > 1:
        examples = "; ".join(f"{m}: {f}" for m, f in modes.items())
        raise DataError(
            f"{path}: images of mixed modes ({examples}); convert them to one mode first", "path"
        )
    empty = [name for k, name in enumerate(classes) if k not in set(labels)]
    if empty:
        raise DataError(f"{path}: no image of class {', '.join(empty)} could be decoded", "path")
    if skipped:
        shown = ", ".join(skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        print(
            f"search: warning: skipped {len(skipped)} undecodable image(s): {shown}",
            file=sys.stderr,
        )
    return torch.stack(images), torch.tensor(labels), classes, tuple(skipped)
