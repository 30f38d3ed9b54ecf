"""Memory and stream pipelines agree; augmentation changes training batches and nothing else."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from search.trainer.config import DataConfig, TrainConfig
from search.trainer.data.feed import Feed
from search.trainer.data.load import load_dataset
from search.trainer.data.pipeline import EpochBatches
from search.trainer.loop import Trainer
from search.yaml_dataclasses import FieldError
from tests.conftest import image_folder

CPU = torch.device("cpu")
MNIST = TrainConfig(data=DataConfig(name="mnist-longtail"), device="cpu", batch_size=64)


def test_stream_and_memory_give_the_same_val_macro_f1(tmp_path):
    root = image_folder(tmp_path / "imgs", {"a": 14, "b": 14, "c": 14}, size=20)
    base = TrainConfig(
        data=DataConfig(path=str(root), image_size=16),
        epochs=2,
        batch_size=8,
        lr=3e-3,
        device="cpu",
    )
    scores = {}
    for cache, workers in (("memory", 0), ("stream", 2)):
        data = dataclasses.replace(base.data, cache=cache, workers=workers)
        trainer = Trainer(base.replace(data=data))
        assert trainer.dataset.cache == cache
        scores[cache] = [(r.val.macro_f1, r.val.loss, r.train_loss) for r in trainer.fit()]
    for memory, stream in zip(scores["memory"], scores["stream"]):
        assert memory == pytest.approx(stream, abs=1e-6)


def _first_batch(config: TrainConfig):
    dataset = load_dataset(config.data)
    feed = Feed(config, dataset, CPU, torch.Generator().manual_seed(0))
    return feed, next(feed.train())


def test_augmentation_changes_training_batches_and_leaves_eval_batches_alone():
    plain_feed, (plain_x, plain_y) = _first_batch(MNIST)
    flip_feed, (flip_x, flip_y) = _first_batch(MNIST.replace(hflip=1.0))
    assert torch.equal(plain_y, flip_y)  # the same images, in the same order
    assert torch.equal(flip_x, plain_x.flip(-1))  # every one mirrored
    for (a, ya), (b, yb) in zip(plain_feed.eval("val"), flip_feed.eval("val")):
        assert torch.equal(a, b) and torch.equal(ya, yb)


def test_random_augmentation_varies_from_epoch_to_epoch():
    config = MNIST.replace(scale=(0.5, 1.0), color_jitter=0.4, reprob=0.5)
    feed, _ = _first_batch(config)
    plain_feed, (plain_x, _) = _first_batch(MNIST)
    x, _ = next(feed.train())
    assert not torch.equal(x, plain_x)


def test_mixup_makes_soft_targets_and_trains():
    config = MNIST.replace(mixup=0.8, cutmix=1.0, batch_size=63, epochs=1)
    _, (x, y) = _first_batch(config)
    assert y.shape == (62, 10)  # an odd batch drops one image: Mixup pairs them
    assert torch.allclose(y.sum(1), torch.ones(62)) and (y.max(1).values < 1).any()
    results = list(Trainer(config.replace(epochs=3, lr=3e-3)).fit())
    assert results[-1].train_loss < results[0].train_loss  # it learns from soft targets
    assert all(0 <= r.val.loss < 10 for r in results)  # validation scores hard labels


@pytest.mark.parametrize("loss", ["focal", "soft_f1", "weighted_ce"])
def test_soft_targets_with_a_hard_target_loss_are_a_config_error(loss):
    from search.trainer.checks import check_names

    with pytest.raises(FieldError) as err:
        check_names(TrainConfig(mixup=0.2, loss=loss))
    assert err.value.field == "loss" and "soft targets" in err.value.message


@pytest.mark.parametrize(
    ("n", "even", "sizes"),
    [(65, False, [32, 32]), (66, False, [32, 32, 2]), (67, True, [32, 32, 2]), (1, False, [1])],
)
def test_training_batches_drop_a_last_lone_image(n, even, sizes):
    sampler = EpochBatches(n, 32, shuffle=True, generator=None, even=even, drop_single=True)
    assert [len(b) for b in sampler] == sizes and len(sampler) == len(sizes)
