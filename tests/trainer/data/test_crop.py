"""Portraits kept whole: non-square inputs, timm's crop modes, random crops from the whole photo.

The portraits are 48 wide and 64 high, a red band across the top 8 rows and a blue one across
the bottom 8, green between: a centre crop to a square loses both bands, the whole image keeps
them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from search.trainer.config import TrainConfig
from search.trainer.data.config import DataConfig
from search.trainer.data.feed import Feed
from search.trainer.data.load import Datasets, load_dataset
from search.trainer.data.pipeline import MemorySplit, StreamSplit, WholeImages
from search.trainer.data.resolve import resolve_data_config
from search.yaml_dataclasses import ConfigError, from_mapping

RED, GREEN, BLUE = (250, 0, 0), (0, 250, 0), (0, 0, 250)
WIDTH, HEIGHT, BAND = 48, 64, 8


def portraits(root: Path, per_class: int = 6) -> Path:
    for name in ("a", "b"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            image = Image.new("RGB", (WIDTH, HEIGHT), GREEN)
            image.paste(RED, (0, 0, WIDTH, BAND))
            image.paste(BLUE, (0, HEIGHT - BAND, WIDTH, HEIGHT))
            image.save(root / name / f"{j}.png")
    return root


def data(root: Path, **keys) -> DataConfig:
    return resolve_data_config(
        DataConfig(path=str(root), val_fraction=0.2, test_fraction=0.2, **keys), "test_resnet"
    )


def bands(image: torch.Tensor) -> tuple[bool, bool]:
    """Whether the top and the bottom row of a (C, H, W) uint8 image are red and blue."""
    top, bottom = image[:, 0].float().mean(1), image[:, -1].float().mean(1)
    return bool(top[0] > 200 and top[1] < 50), bool(bottom[2] > 200 and bottom[1] < 50)


def test_image_size_takes_height_and_width_from_a_file(tmp_path):
    config = from_mapping(DataConfig, {"image_size": [64, 48], "crop_mode": "squash"}, source="f")
    assert config.image_size == (64, 48) and config.height_width == (64, 48)
    with pytest.raises(ConfigError, match="image_size"):
        from_mapping(DataConfig, {"image_size": [64, 48, 3]}, source="f")
    with pytest.raises(ConfigError, match="image_size"):
        from_mapping(DataConfig, {"image_size": [64, 4]}, source="f")
    with pytest.raises(ConfigError, match="crop_mode.*squash"):
        from_mapping(DataConfig, {"crop_mode": "stretch"}, source="f")


@pytest.mark.parametrize("cache", ["memory", "stream"])
@pytest.mark.parametrize(
    ("size", "crop_mode", "kept"),
    [
        ((32, 24), "squash", True),  # the portrait's own shape: everything kept
        (24, "squash", True),  # stretched into a square, still whole
        (24, "center", False),  # the square from the middle: hair and chin gone
        (24, "border", True),  # fitted by its height, padded at the sides
    ],
)
def test_every_crop_mode_gives_the_pixels_timm_would(tmp_path, cache, size, crop_mode, kept):
    root = portraits(tmp_path)
    ds = load_dataset(data(root, image_size=size, crop_mode=crop_mode, crop_pct=1.0, cache=cache))
    generator = torch.Generator().manual_seed(0)
    feed = Feed(TrainConfig(batch_size=4), ds, torch.device("cpu"), generator)
    # Undo the normalisation to read the pixels a model sees.
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    x, _ = next(feed.eval("val"))
    image = ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)[0]
    height, width = (size, size) if isinstance(size, int) else size
    assert tuple(image.shape[1:]) == (height, width)
    assert bands(image) == (kept, kept)
    assert ds.preprocessing()["crop_mode"] == crop_mode
    assert ds.preprocessing()["size"] == (size if isinstance(size, int) else list(size))


def test_the_models_pretrained_crop_mode_and_non_square_input_are_the_default(tmp_path):
    config = resolve_data_config(DataConfig(path=str(tmp_path)), "test_resnet")
    assert config.crop_mode == "center" and config.image_size == 160  # test_resnet's 160 px
    config = resolve_data_config(DataConfig(path=str(tmp_path), image_size=(64, 48)), "test_resnet")
    assert config.image_size == (64, 48) and config.height_width == (64, 48)


AUGMENT = TrainConfig(scale=(1.0, 1.0), ratio=(WIDTH / HEIGHT, WIDTH / HEIGHT), hflip=0.5)
"""A random crop of the whole image at the image's own aspect: the whole photo, flipped or not."""


def train_batch(ds, config: TrainConfig = AUGMENT) -> torch.Tensor:
    feed = Feed(config, ds, torch.device("cpu"), torch.Generator().manual_seed(0))
    x, _ = next(feed.train())
    mean = torch.tensor(ds.mean).view(1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, -1, 1, 1)
    return ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)


@pytest.mark.parametrize("cache", ["memory", "stream"])
def test_the_augmented_crop_is_taken_from_the_whole_image_not_the_centre_crop(tmp_path, cache):
    config = data(portraits(tmp_path), image_size=24, crop_mode="center", cache=cache)
    ds = Datasets().for_training(AUGMENT.replace(data=config))
    if cache == "memory":
        assert isinstance(ds.train, MemorySplit) and isinstance(ds.whole_train, WholeImages)
        # Kept at the eval resize's scale (the shorter side 24 / crop_pct) with its aspect.
        side = int(24 / ds.crop_pct)
        expected = (3, round(HEIGHT * side / WIDTH), side)
        assert {tuple(image.shape) for image in ds.whole_train.images} == {expected}
        assert torch.equal(ds.whole_train.labels, ds.train.labels)
    else:
        assert isinstance(ds.train, StreamSplit) and ds.whole_train is None
    # Evaluation crops the middle square; training sees the bands of the whole portrait.
    plain = train_batch(ds, TrainConfig(batch_size=4))
    assert all(bands(image) == (False, False) for image in plain)
    for image in train_batch(ds):
        assert bands(image) == (True, True) or bands(image.flip(1)) == (True, True)
    assert not ds.train_cropped


def test_without_augmentation_no_whole_copy_is_kept(tmp_path):
    config = data(portraits(tmp_path), image_size=24, cache="memory")
    datasets = Datasets()
    plain = datasets.for_training(TrainConfig(data=config))
    assert plain.whole_train is None and plain.train_cropped
    # A trial that augments reloads with whole images; that copy then serves every trial.
    augmenting = datasets.for_training(AUGMENT.replace(data=config))
    assert augmenting.whole_train is not None
    assert datasets.for_training(TrainConfig(data=config)) is augmenting


def test_the_memory_budget_counts_the_whole_images(tmp_path):
    root = portraits(tmp_path)
    eval_bytes = 12 * 3 * 24 * 24
    budget = (eval_bytes * 1.5) / 1e9  # the eval crops fit; with 60% of the wholes they do not
    config = data(root, image_size=24, memory_gb=budget)
    assert load_dataset(config).cache == "memory"
    assert load_dataset(config, whole=True).cache == "stream"
