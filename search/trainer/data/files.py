"""A user's images (ImageFolder, pre-split root or CSV manifest), in memory or streamed."""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

from search.trainer.data.config import DataConfig
from search.trainer.data.dataset import Dataset, choose_cache
from search.trainer.data.decode import decode_all
from search.trainer.data.errors import DataError
from search.trainer.data.pipeline import MemorySplit, StreamSplit, open_image, read_header
from search.trainer.data.samples import Samples
from search.trainer.data.splits import assign


def load_files(
    config: DataConfig, generator: torch.Generator, list_samples: Callable[[DataConfig], Samples]
) -> Dataset:
    from search.trainer.data.augment import eval_transform

    assert config.image_size and config.mean and config.std
    samples = list_samples(config)
    channels = config.channels or 3
    size = config.image_size
    cache, reason = choose_cache(config, len(samples.files) * channels * size * size)
    transform = eval_transform(size, config.crop_pct or 1.0, config.interpolation or "bilinear")
    # One buffer, filled in place: a list of images then stacked would hold them twice.
    shape = (len(samples.files) if cache == "memory" else 0, channels, size, size)
    decoded = torch.empty(shape, dtype=torch.uint8)
    kept, skipped = [], []
    if cache == "memory":
        read = decode_all(samples.files, lambda file: transform(open_image(file, channels)))
    else:  # streaming decodes in its loader's workers; a header is too cheap to share out
        read = decode_all(samples.files, read_header, threads=1)
    for i, (file, image) in enumerate(read):
        if image is None:
            skipped.append(file)
            continue
        if cache == "memory":
            decoded[len(kept)] = image
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
    if cache == "memory":
        images = decoded[: len(kept)]
        splits = {name: MemorySplit(images[idx], labels[idx]) for name, idx in parts.items()}
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
        crop_pct=config.crop_pct or 1.0,
        interpolation=config.interpolation or "bilinear",
        cache=cache,
        cache_reason=reason,
        skipped=tuple(skipped),
    )
