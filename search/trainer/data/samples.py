"""What a file source lists before anything is decoded: a file, a class, a split, a group."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
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
