"""Which images to train on, how to split them, and how to read them: a study's `train.data`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from search.yaml_dataclasses import FieldError, check_seed


def height_width(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """A square size or (height, width), as (height, width)."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def shown_size(size: int | tuple[int, int] | list[int]) -> str:
    """224, or 512x384 (height x width)."""
    height, width = height_width(size)
    return str(height) if height == width else f"{height}x{width}"


@dataclass(frozen=True)
class DataConfig:
    """Which images to train on, how to split them, and how to read them."""

    name: str | None = None
    """The data source (`sources.SOURCES`): mnist or mnist-longtail (built in), folder (`path`)
    or csv (`csv`); unset, csv when `csv` is given, folder when `path` is, else mnist."""
    path: str | None = None
    """An ImageFolder (a sub-directory of images per class), or a pre-split root holding
    train/ and val/ (or validation/), and optionally test/, each an ImageFolder."""
    csv: str | None = None
    """A CSV (or .tsv) manifest with a row per image; paths are relative to its folder."""
    path_column: str = "path"
    label_columns: tuple[str, ...] = ("label",)
    """One column, or several combined into one class (mask, gender -> mask_gender)."""
    split_column: str | None = None
    """A column of train, val or test: the split is given, not cut."""
    group_column: str | None = None
    """A column naming a group (a person, say): no group spans two splits."""
    image_size: int | tuple[int, int] | None = None
    """The model's input: one number (square) or [height, width] (a 384x512 portrait keeps its
    shape as [512, 384]); default: the model's pretrained size (MNIST keeps its 28 px)."""
    crop_mode: Literal["center", "squash", "border"] | None = None
    """How an image is fitted to image_size, timm's names: center keeps the aspect and cuts
    what overhangs, squash stretches each side to fit, border keeps the aspect and pads.
    Default: the model's (center for most)."""
    channels: int | None = None
    """1 (grayscale) or 3 (RGB): every image is converted; default 3 (MNIST: 1)."""
    crop_pct: float | None = None
    """Evaluation resizes to image_size / crop_pct, then centre-crops; default the model's."""
    interpolation: str | None = None
    """bilinear, bicubic, ...; default the model's."""
    mean: tuple[float, ...] | None = None
    """Normalisation; default the model's pretrained mean (MNIST: its own statistics)."""
    std: tuple[float, ...] | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    imbalance: float = 0.1
    """mnist-longtail only: the rarest class keeps this fraction of its images."""
    seed: int = 0
    """Seed of the split, fixed across trials so that every trial sees the same validation set."""
    cache: Literal["auto", "memory", "stream"] = "auto"
    """memory: decode every image once; stream: decode per batch; auto: memory if it fits."""
    memory_gb: float | None = None
    """The most decoded images held in memory, in GB; default 40% of this machine's memory."""
    workers: int | None = None
    """DataLoader worker processes. Default: none for images in memory (their per-image
    transforms are cheap, and on few cores worker processes would take torch's), and half
    the cores, at most 4, when streaming."""

    def __post_init__(self) -> None:
        check_seed("seed", self.seed)
        if self.path is not None and self.csv is not None:
            raise FieldError("csv", "give either path or csv, not both")
        if isinstance(self.image_size, list):  # from Python: hashable, as a file's would be
            object.__setattr__(self, "image_size", tuple(self.image_size))
        if isinstance(self.image_size, tuple) and len(self.image_size) != 2:
            raise FieldError(
                "image_size", f"one number or [height, width], got {list(self.image_size)}"
            )
        if self.image_size is not None and not all(
            8 <= side <= 1024 for side in height_width(self.image_size)
        ):
            raise FieldError(
                "image_size", f"each side must be between 8 and 1024, got {self.image_size}"
            )
        if self.channels not in (None, 1, 3):
            raise FieldError("channels", f"must be 1 or 3, got {self.channels}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 0.5:
                raise FieldError(name, f"must be > 0 and < 0.5, got {value}")
        if not 0.0 < self.imbalance <= 1.0:
            raise FieldError("imbalance", f"must be > 0 and <= 1, got {self.imbalance}")
        if self.crop_pct is not None and not 0.0 < self.crop_pct <= 1.0:
            raise FieldError("crop_pct", f"must be > 0 and <= 1, got {self.crop_pct}")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None and len(value) not in (1, 3):
                raise FieldError(name, f"needs 1 or 3 values, got {len(value)}")
        if self.memory_gb is not None and not self.memory_gb > 0:
            raise FieldError("memory_gb", f"must be > 0, got {self.memory_gb}")
        if self.workers is not None and self.workers < 0:
            raise FieldError("workers", f"must be >= 0, got {self.workers}")
        if not self.label_columns:
            raise FieldError("label_columns", "must name at least one column")

    @property
    def height_width(self) -> tuple[int, int]:
        """image_size as (height, width); resolved configs only."""
        assert self.image_size is not None
        return height_width(self.image_size)

    @property
    def source(self) -> str:
        """The data source's name: `name`, or the one the given keys imply."""
        if self.name is not None:
            return self.name
        return "csv" if self.csv is not None else "folder" if self.path is not None else "mnist"
