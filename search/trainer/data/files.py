"""A user's images (ImageFolder, pre-split root or CSV manifest), in memory or streamed."""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

from search.trainer.data.config import DataConfig, height_width
from search.trainer.data.dataset import Dataset, choose_cache
from search.trainer.data.decode import decode_all
from search.trainer.data.errors import DataError
from search.trainer.data.pipeline import (
    MemorySplit,
    StreamSplit,
    WholeImages,
    open_image,
    read_header,
)
from search.trainer.data.samples import Samples
from search.trainer.data.splits import assign


def load_files(
    config: DataConfig,
    generator: torch.Generator,
    list_samples: Callable[[DataConfig], Samples],
    *,
    whole: bool = False,
) -> Dataset:
    """`whole`: in memory, also keep the train split's images whole for augmentation."""
    from search.trainer.data.augment import eval_transform, whole_transform

    assert config.image_size and config.mean and config.std
    samples = list_samples(config)
    channels = config.channels or 3
    size = config.image_size
    height, width = height_width(size)
    crop_pct, interpolation = config.crop_pct or 1.0, config.interpolation or "bilinear"
    needed = len(samples.files) * channels * height * width
    if whole and config.cache != "stream":
        needed += _whole_bytes(config, samples, channels, (height, width), crop_pct)
    cache, reason = choose_cache(config, needed)
    transform = eval_transform(size, crop_pct, interpolation, config.crop_mode or "center")
    keep_whole = whole and cache == "memory"
    to_whole = whole_transform(size, crop_pct, interpolation) if keep_whole else None
    # One buffer, filled in place: a list of images then stacked would hold them twice.
    shape = (len(samples.files) if cache == "memory" else 0, channels, height, width)
    decoded = torch.empty(shape, dtype=torch.uint8)
    wholes: list[torch.Tensor] = []
    kept, skipped = [], []

    def decode(file: str):
        image = open_image(file, channels)
        return transform(image), to_whole(image) if to_whole is not None else None

    if cache == "memory":
        read = decode_all(samples.files, decode)
    else:  # streaming decodes in its loader's workers; a header is too cheap to share out
        read = decode_all(samples.files, read_header, threads=1)
    for i, (file, image) in enumerate(read):
        if image is None:
            skipped.append(file)
            continue
        if cache == "memory":
            decoded[len(kept)] = image[0]
            if keep_whole:
                wholes.append(image[1])
        kept.append(i)
    labels = torch.tensor(samples.labels, dtype=torch.int64)[kept]
    empty = [
        samples.classes[k] for k in range(len(samples.classes)) if k not in set(labels.tolist())
    ]
    if empty:
        raise DataError(f"no image of class {', '.join(empty[:5])} could be decoded", "path")
    if skipped:
        shown = ", ".join(skipped[:3]) + (
            f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        print(
            f"search: warning: skipped {len(skipped)} undecodable image(s): {shown}",
            file=sys.stderr,
        )
    parts = assign(
        labels,
        samples.classes,
        given=[samples.splits[i] for i in kept] if samples.splits else None,
        groups=[samples.groups[i] for i in kept] if samples.groups else None,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        generator=generator,
    )
    whole_train = None
    if cache == "memory":
        images = decoded[: len(kept)]
        splits = {name: MemorySplit(images[idx], labels[idx]) for name, idx in parts.items()}
        if keep_whole:
            train = parts["train"].tolist()
            whole_train = WholeImages(tuple(wholes[j] for j in train), labels[parts["train"]])
    else:
        files = [samples.files[i] for i in kept]
        splits = {
            name: StreamSplit(tuple(files[j] for j in idx.tolist()), labels[idx], channels)
            for name, idx in parts.items()
        }
    return Dataset(
        **splits,
        classes=samples.classes,
        channels=channels,
        size=size,
        mean=tuple(config.mean),
        std=tuple(config.std),
        crop_pct=crop_pct,
        crop_mode=config.crop_mode or "center",
        interpolation=interpolation,
        cache=cache,
        cache_reason=reason,
        skipped=tuple(skipped),
        whole_train=whole_train,
    )


def _whole_bytes(
    config: DataConfig,
    samples: Samples,
    channels: int,
    size: tuple[int, int],
    crop_pct: float,
) -> int:
    """What the train split's whole images will take (`whole_transform`'s sizes, from the
    headers): all of a given train split, the train share of a split still to be cut."""
    from search.trainer.data.augment import whole_size

    total = 0
    files = samples.files
    if samples.splits:
        files = [f for f, split in zip(files, samples.splits, strict=True) if split == "train"]
    for _, header in decode_all(files, read_header, threads=1):
        if header is not None:
            height, width = whole_size(header[0], header[1], size, crop_pct)
            total += channels * height * width
    if samples.splits:
        return total
    return int(total * (1 - config.val_fraction - config.test_fraction))
