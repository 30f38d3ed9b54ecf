"""Starting weights through timm, fine-tuning keys, out-of-memory retries, and each run's cost."""

from __future__ import annotations

import pytest
import timm
import torch
from safetensors.torch import save_file

from search.trainer.config import DataConfig, TrainConfig
from search.trainer.loop import Trainer
from search.trainer.model import WeightsError, create_model

MNIST = TrainConfig(data=DataConfig(name="mnist-longtail"), epochs=1, device="cpu")


def _weights_file(tmp_path, num_classes: int = 1000, in_chans: int = 3):
    """A pretrained-like file the test writes itself: timm's test_resnet at its defaults."""
    torch.manual_seed(1)
    model = timm.create_model("test_resnet", num_classes=num_classes, in_chans=in_chans)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    path = tmp_path / "pretrained.safetensors"
    save_file(state, str(path))
    return path, state


def test_local_weights_are_the_starting_weights_and_the_head_is_new(tmp_path):
    path, state = _weights_file(tmp_path)
    model = create_model("test_resnet", num_classes=6, in_chans=3, weights=str(path))
    own = model.state_dict()
    backbone = [k for k in state if not k.startswith("fc.")]
    assert backbone and all(torch.equal(own[k], state[k]) for k in backbone)
    assert own["fc.weight"].shape == (6, state["fc.weight"].shape[1])  # replaced for 6 classes
    # One channel: timm folds the RGB filters of the first convolution into one.
    gray = create_model("test_resnet", num_classes=6, in_chans=1, weights=str(path))
    first = "conv1.0.weight"
    assert torch.allclose(gray.state_dict()[first], state[first].sum(dim=1, keepdim=True))


def test_the_head_is_new_even_when_it_would_fit_as_in_train_py(tmp_path):
    # train.py's --pretrained-path forces a fresh classifier (num_classes=-1); a trial must
    # start from the same weights as the exported run.
    path, state = _weights_file(tmp_path, num_classes=6)
    model = create_model("test_resnet", num_classes=6, in_chans=3, weights=str(path))
    own = model.state_dict()
    assert not torch.equal(own["fc.weight"], state["fc.weight"])
    assert torch.equal(own["conv1.0.weight"], state["conv1.0.weight"])


def test_pretrained_weights_that_cannot_be_had_are_one_line(monkeypatch):
    # As on a machine without the internet; the hub reads its setting once, on import.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsError) as err:
        create_model("test_resnet", num_classes=3, in_chans=3, pretrained=True)
    message = str(err.value)
    assert message.startswith("model test_resnet: cannot load timm's pretrained weights")
    assert "pretrained_path: {test_resnet: path/to/file}" in message and "\n" not in message


def test_fine_tuning_keys_reach_the_model_and_the_step(monkeypatch):
    trainer = Trainer(
        MNIST.replace(
            model="test_vit",
            drop=0.3,
            drop_path=0.2,
            data=DataConfig(name="mnist-longtail", image_size=32),
        )
    )
    assert trainer.model.head_drop.p == pytest.approx(0.3)
    assert trainer.model.blocks[-1].drop_path1.drop_prob == pytest.approx(0.2)
    import timm.utils.clip_grad

    clipped = []
    real = timm.utils.clip_grad.dispatch_clip_grad

    def spy(parameters, value, mode="norm", norm_type=2.0):
        parameters = list(parameters)
        clipped.append((value, mode, len(parameters)))
        return real(parameters, value, mode=mode, norm_type=norm_type)

    monkeypatch.setattr(timm.utils, "dispatch_clip_grad", spy)
    trainer = Trainer(MNIST.replace(clip_grad=0.5, clip_mode="agc", batch_size=256, epochs=1))
    list(trainer.fit())
    everything = len(list(trainer.model.parameters()))
    # train.py's clipping, with its exclusion of the head (weight and bias) for agc.
    assert clipped and set(clipped) == {(0.5, "agc", everything - 2)}


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_effective_batch(monkeypatch):
    monkeypatch.setenv("SEARCH_FAULT_OOM_ABOVE", "16")  # a device that fits 16 images at most
    steps = []
    trainer = Trainer(MNIST.replace(batch_size=64))
    real = trainer.optimizer.step
    monkeypatch.setattr(trainer.optimizer, "step", lambda *a, **k: steps.append(1) or real(*a, **k))
    (result,) = list(trainer.fit())
    assert trainer.oom_retries == [
        {"epoch": 1, "micro_batch": 32, "accumulation": 2},
        {"epoch": 1, "micro_batch": 16, "accumulation": 4},
    ]
    # One optimizer step per 64 images, as without the retry.
    assert len(steps) == -(-len(trainer.dataset.train) // 64)
    assert result.val.macro_f1 > 0


def test_out_of_memory_below_the_floor_still_fails(monkeypatch):
    monkeypatch.setenv("SEARCH_FAULT_OOM_ABOVE", "1")
    trainer = Trainer(MNIST.replace(batch_size=8))
    with pytest.raises(torch.cuda.OutOfMemoryError):
        list(trainer.fit())
    assert trainer.micro_batch == 2


def test_cost_is_measured():
    trainer = Trainer(MNIST)
    list(trainer.fit())
    cost = trainer.cost()
    assert cost["train_seconds"] > 0 and cost["images_per_second"] > 0
    assert cost["peak_memory_mb"] > 100  # torch alone takes that
    assert cost["parameters"] == sum(p.numel() for p in trainer.model.parameters())
