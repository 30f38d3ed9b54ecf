import pytest
import torch

from search.trainer.config import DataConfig, TrainConfig
from search.trainer.loop import Trainer
from search.trainer.steps import NonFiniteLossError

FAST = TrainConfig(
    model="test_resnet", data=DataConfig(name="mnist-longtail"), epochs=2, lr=3e-3, sched="cosine"
)


def test_training_learns_and_reports_every_epoch():
    trainer = Trainer(FAST)
    results = list(trainer.fit())
    assert [r.epoch for r in results] == [1, 2]
    assert results[-1].val.macro_f1 > 0.4  # chance is 0.1
    assert results[-1].train_loss < results[0].train_loss
    assert results[0].lr == pytest.approx(3e-3) and results[1].lr < 3e-3  # cosine stepped once
    assert sum(sum(row) for row in results[-1].val.confusion) == len(trainer.dataset.val)


def test_seeded_run_on_cpu_is_reproducible():
    first = [r.val.macro_f1 for r in Trainer(FAST.replace(seed=5, epochs=1)).fit()]
    again = [r.val.macro_f1 for r in Trainer(FAST.replace(seed=5, epochs=1)).fit()]
    other = [r.val.macro_f1 for r in Trainer(FAST.replace(seed=6, epochs=1)).fit()]
    assert first == again
    assert first != other


def test_non_finite_loss_is_detected():
    trainer = Trainer(FAST.replace(epochs=1, lr=1e30, opt="momentum"))
    with pytest.raises(NonFiniteLossError, match="lr=1e\\+30"):
        list(trainer.fit())


def test_training_state_resumes_exactly():
    straight = Trainer(FAST.replace(epochs=2, seed=1))
    expected = [r.val.macro_f1 for r in straight.fit()]
    first = Trainer(FAST.replace(epochs=2, seed=1))
    next(first.fit(1))
    state = first.training_state()
    resumed = Trainer(FAST.replace(epochs=2, seed=1))
    resumed.load_training_state(state)
    assert resumed.epoch == 1
    assert [r.val.macro_f1 for r in resumed.fit()] == pytest.approx(expected[1:])


def test_weights_are_a_detached_copy():
    trainer = Trainer(FAST.replace(epochs=1))
    snapshot = trainer.weights()
    list(trainer.fit())
    key = next(k for k, v in snapshot.items() if v.is_floating_point())
    assert not torch.equal(snapshot[key], trainer.model.state_dict()[key])


def test_a_last_batch_of_one_image_does_not_fail_batchnorm():
    # 1430 training images: batches of 1429 leave one over, which BatchNorm cannot train on.
    trainer = Trainer(FAST.replace(epochs=1, batch_size=1429))
    assert len(trainer.dataset.train) % 1429 == 1
    (result,) = trainer.fit()
    assert trainer.images_trained == 1429 and result.epoch == 1


def test_the_model_trains_channels_last_and_hands_out_plain_weights():
    trainer = Trainer(FAST.replace(epochs=1))
    x, _ = next(iter(trainer.feed.train()))
    assert x.is_contiguous(memory_format=torch.channels_last)
    # A 3x3 convolution over many channels: a 1-channel one looks the same in both layouts.
    conv = next(p for p in trainer.model.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    list(trainer.fit())
    # Checkpoints hold the default layout, which any model loads.
    assert all(v.is_contiguous() for v in trainer.weights().values())


def test_every_training_batch_is_reported_with_its_place_in_the_run():
    trainer = Trainer(FAST.replace(batch_size=128))
    seen = []
    trainer.on_batch = seen.append
    list(trainer.fit())
    batches = -(-len(trainer.dataset.train) // 128)
    assert [(p.epoch, p.batch) for p in seen] == [
        (e, b) for e in (1, 2) for b in range(1, batches + 1)
    ]
    assert {(p.epochs, p.batches) for p in seen} == {(2, batches)}
    assert all(p.images_per_second > 0 for p in seen)
