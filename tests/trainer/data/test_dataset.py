import os

import pytest
import torch
from PIL import Image

from search.trainer.data.config import DataConfig
from search.trainer.data.errors import DataError
from search.trainer.data.load import load_dataset
from search.trainer.data.pipeline import Batches, EpochBatches
from search.trainer.data.resolve import resolve_data_config
from search.yaml_dataclasses import FieldError
from tests.conftest import image_folder


def load(config: DataConfig, model: str = "test_resnet"):
    """A user dataset as a trial loads it: size and normalisation resolved for `model`."""
    return load_dataset(resolve_data_config(config, model))


def test_mnist_has_5000_images_in_stratified_splits():
    ds = load_dataset(DataConfig(name="mnist"))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 5000
    assert ds.num_classes == 10 and ds.in_chans == 1
    assert ds.train.images.dtype == torch.uint8 and ds.train.images.shape[1:] == (1, 28, 28)
    for split in (ds.val, ds.test):
        counts = torch.bincount(split.labels, minlength=10)
        assert counts.min() == counts.max() == 75  # 15% of 500 in every class
    # No image is in two splits.
    keys = {
        name: {bytes(img.flatten().tolist()) for img in getattr(ds, name).images}
        for name in ("train", "val", "test")
    }
    assert (
        not keys["train"] & keys["val"]
        and not keys["train"] & keys["test"]
        and not keys["val"] & keys["test"]
    )
    assert len(ds.train) == 3500


def test_long_tail_is_heavily_imbalanced_and_stratified():
    ds = load_dataset(DataConfig(name="mnist-longtail", imbalance=0.1))
    counts = ds.class_counts()
    assert counts[0] > 8 * counts[-1]
    assert (counts[:-1] >= counts[1:]).all()
    val = torch.bincount(ds.val.labels, minlength=10).float()
    train = counts.float()
    assert torch.allclose(val / val.sum(), train / train.sum(), atol=0.02)


def test_split_is_fixed_by_the_data_seed():
    a = load_dataset(DataConfig(name="mnist-longtail", seed=3))
    b = load_dataset(DataConfig(name="mnist-longtail", seed=3))
    assert torch.equal(a.val.labels, b.val.labels) and torch.equal(a.val.images, b.val.images)


def test_batches_cover_the_split_once():
    ds = load_dataset(DataConfig(name="mnist-longtail"))
    sampler = EpochBatches(
        len(ds.train), 100, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    seen = torch.cat([y for _, y in Batches(ds.train, sampler, None)])
    assert torch.equal(seen.sort().values, ds.train.labels.sort().values)


def test_image_folder_loads_and_resizes(tmp_path):
    root = image_folder(tmp_path / "imgs", {"cat": 10, "dog": 7})
    ds = load(DataConfig(path=str(root), image_size=16))
    assert ds.classes == ("cat", "dog") and ds.in_chans == 3
    assert ds.train.images.shape[1:] == (3, 16, 16)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 17


def test_image_folder_with_one_class_is_refused(tmp_path):
    root = image_folder(tmp_path / "imgs", {"cat": 5})
    (tmp_path / "imgs" / "empty").mkdir()
    with pytest.raises(DataError, match="at least 2 class"):
        load(DataConfig(path=str(root)))


@pytest.mark.parametrize("channels", [1, 3])
def test_mixed_modes_become_the_configured_channels(tmp_path, channels):
    root = image_folder(tmp_path / "imgs", {"a": 4, "b": 4})
    Image.new("L", (12, 12)).save(root / "b" / "gray.png")
    Image.new("RGBA", (12, 12)).save(root / "a" / "alpha.png")
    ds = load(DataConfig(path=str(root), image_size=12, channels=channels))
    assert ds.in_chans == channels and ds.train.images.shape[1] == channels
    assert len(ds.train) + len(ds.val) + len(ds.test) == 10


def test_undecodable_image_is_skipped_and_named(tmp_path, capsys):
    root = image_folder(tmp_path / "imgs", {"a": 4, "b": 4})
    (root / "a" / "broken.png").write_bytes(b"not a png")
    ds = load(DataConfig(path=str(root)))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 8
    assert ds.skipped == (str(root / "a" / "broken.png"),)
    assert "skipped 1 undecodable image(s)" in capsys.readouterr().err


def test_missing_path_is_a_field_error(tmp_path):
    from search.trainer.data.sources import check_data_config

    config = DataConfig(path=str(tmp_path / "nope"))  # plain data: the check needs the disk
    with pytest.raises(FieldError) as err:
        check_data_config(config)
    assert err.value.field == "path" and "no such directory" in err.value.message


def test_a_fifo_and_a_decompression_bomb_are_skipped_not_fatal(tmp_path, capsys, monkeypatch):
    from PIL import Image as PILImage

    root = image_folder(tmp_path / "imgs", {"a": 4, "b": 4})
    os.mkfifo(root / "a" / "pipe.png")  # reading it would block forever
    PILImage.new("RGB", (100, 100)).save(root / "b" / "bomb.png")
    # PIL refuses images over twice MAX_IMAGE_PIXELS; lowered so the bomb stays small on disk.
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 2000)
    ds = load(DataConfig(path=str(root), image_size=12, seed=5))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 8
    assert set(ds.skipped) == {str(root / "a" / "pipe.png"), str(root / "b" / "bomb.png")}
    assert "skipped 2 undecodable image(s)" in capsys.readouterr().err


def test_memory_budget_is_checked_before_decoding(tmp_path):
    root = image_folder(tmp_path / "imgs", {"a": 4, "b": 4})
    with pytest.raises(DataError, match="over the budget") as err:
        load(DataConfig(path=str(root), image_size=1024, memory_gb=0.01, cache="memory"))
    assert err.value.key == "image_size"
    # auto streams what would not fit, and says why.
    ds = load(DataConfig(path=str(root), image_size=1024, memory_gb=0.01))
    assert ds.cache == "stream" and ds.cache_reason.startswith("auto: too big")
    small = load(DataConfig(path=str(root), image_size=16))
    assert small.cache == "memory" and small.cache_reason.startswith("auto: fits")


def test_channel_stats_match_a_whole_tensor_computation():
    ds = load_dataset(DataConfig(name="mnist-longtail"))
    images = ds.train.images.float() / 255
    assert ds.mean == pytest.approx(images.mean(dim=(0, 2, 3)).tolist(), abs=1e-6)
    assert ds.std == pytest.approx(images.std(dim=(0, 2, 3)).tolist(), abs=1e-6)
