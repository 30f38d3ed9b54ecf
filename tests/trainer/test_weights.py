"""Strict checks of starting weights: every tensor of a file lands, or one line says what not."""

from __future__ import annotations

import os

import huggingface_hub.constants
import pytest
import timm
import torch
from safetensors.torch import save_file

from tests.conftest import image_folder

from search.trainer.config import TrainConfig
from search.trainer.data.config import DataConfig
from search.trainer.loop import Trainer
from search.trainer.model import build_model
from search.trainer.weights import WeightsError, resolve_pretrained


def _file(tmp_path, name, num_classes=7, change=None):
    state = {
        k: v.contiguous()
        for k, v in timm.create_model(name, num_classes=num_classes).state_dict().items()
    }
    if change:
        state = change(dict(state))
    path = tmp_path / f"{name}.safetensors"
    save_file(state, str(path))
    return str(path), state


def test_a_file_of_the_model_loads_every_tensor_but_the_head(tmp_path):
    path, state = _file(tmp_path, "test_resnet")
    model, start = build_model("test_resnet", num_classes=3, in_chans=3, weights=path)
    own = model.state_dict()
    body = [k for k in state if not k.startswith("fc.") and not k.endswith("num_batches_tracked")]
    assert start.source == path and start.head == "new" and start.tensors == len(body)
    assert all(torch.equal(own[k], state[k]) for k in body)
    assert own["fc.weight"].shape == (3, state["fc.weight"].shape[1])


def test_a_vit_at_another_size_counts_its_resampled_position_embedding_as_fitting(tmp_path):
    path, state = _file(tmp_path, "test_vit")
    model, start = build_model(
        "test_vit", num_classes=3, in_chans=3, weights=path, image_size=(64, 48)
    )
    assert model.state_dict()["pos_embed"].shape != state["pos_embed"].shape
    assert start.tensors > 0 and start.head == "new"


@pytest.mark.parametrize(
    "model, other, words",
    [
        ("test_vit", "test_resnet", "weights of another architecture"),
        ("test_resnet", "test_vit", "weights of another architecture"),
    ],
)
def test_weights_of_another_architecture_are_refused_in_one_line(tmp_path, model, other, words):
    path, _ = _file(tmp_path, other)
    with pytest.raises(WeightsError) as err:
        build_model(model, num_classes=3, in_chans=3, weights=path)
    assert words in str(err.value) and path in str(err.value) and "\n" not in str(err.value)


def _drop_one(state):
    state.pop("layer1.0.conv1.weight")
    return state


def _add_one(state):
    state["extra.weight"] = torch.zeros(2)
    return state


def _reshape_one(state):
    state["conv1.0.weight"] = torch.zeros(8, 3, 5, 5)
    return state


@pytest.mark.parametrize(
    "change, words",
    [
        (_drop_one, "missing 1 (layer1.0.conv1.weight)"),
        (_add_one, "unexpected 1 (extra.weight)"),
        (_reshape_one, "conv1.0.weight"),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_a_file_that_almost_fits_names_what_does_not(tmp_path, change, words):
    path, _ = _file(tmp_path, "test_resnet", change=change)
    with pytest.raises(WeightsError) as err:
        build_model("test_resnet", num_classes=3, in_chans=3, weights=path)
    message = str(err.value)
    assert words in message and "test_resnet" in message and "\n" not in message


def test_timms_key_lists_never_reach_the_terminal(tmp_path, capfd):
    path, _ = _file(tmp_path, "test_resnet", change=_add_one)
    with pytest.raises(WeightsError):
        build_model("test_resnet", num_classes=3, in_chans=3, weights=path)
    out, err = capfd.readouterr()
    assert "Unexpected keys" not in out + err


def test_pretrained_without_hub_or_cache_fails_in_seconds(monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(WeightsError) as err:
        resolve_pretrained("resnet18")
    message = str(err.value)
    assert message.startswith("model resnet18: pretrained: true needs timm's weights")
    assert "pretrained_path: {resnet18: path/to/file}" in message


def test_pretrained_from_the_cache_turns_the_hub_off(monkeypatch, tmp_path):
    # A cached file and no hub: timm reads the cache instead of retrying for a minute.
    cached = tmp_path / "model.safetensors"
    cached.write_bytes(b"x")
    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache", lambda repo, name: str(cached))
    monkeypatch.setattr("search.trainer.weights.reachable", lambda source: False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test
    assert resolve_pretrained("resnet18") == "timm/resnet18.a1_in1k"
    assert huggingface_hub.constants.HF_HUB_OFFLINE and os.environ["HF_HUB_OFFLINE"] == "1"


def test_each_model_of_a_mapping_starts_from_exactly_its_own_file(tmp_path):
    # One config for two architectures, as a model search trains it: after a step at a
    # learning rate too small to move anything, every weight but the new head is the file's.
    folder = image_folder(tmp_path / "portraits", {"a": 6, "b": 6}, size=(40, 30))
    files = {name: _file(tmp_path, name) for name in ("test_resnet", "test_vit")}
    config = TrainConfig(
        data=DataConfig(path=str(folder), image_size=32, val_fraction=0.25, test_fraction=0.25),
        pretrained_path={name: path for name, (path, _) in files.items()},
        opt="sgd",
        lr=1e-30,
        batch_size=4,
        epochs=1,
        device="cpu",
    )
    for name, (path, state) in files.items():
        trainer = Trainer(config.replace(model=name))
        list(trainer.fit())
        assert trainer.starting_weights.source == path and trainer.starting_weights.tensors > 0
        classifier = trainer.model.pretrained_cfg["classifier"]
        head = {f"{classifier}.weight", f"{classifier}.bias"}
        compared = 0
        for key, value in trainer.model.named_parameters():
            if key not in head and value.shape == state[key].shape:
                assert torch.allclose(value.detach(), state[key], rtol=0, atol=1e-20), (name, key)
                compared += 1
        assert compared > 10
