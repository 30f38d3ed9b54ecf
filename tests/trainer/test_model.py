import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from search.trainer.model import WeightsError, check_model_name, create_model, load_state_dict


class Exploit:
    """A pickle that runs a command when loaded by an unsafe unpickler."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_where_a_checkpoint_belongs_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pth"
    with open(path, "wb") as f:
        pickle.dump({"weight": Exploit(str(marker))}, f)
    with pytest.raises(WeightsError) as refused:
        load_state_dict(str(path))
    assert not marker.exists()
    # One line that says why, without torch's advice to load it unsafely.
    assert "would run code" in str(refused.value)
    assert "weights_only=False" not in str(refused.value) and "\n" not in str(refused.value)
    # The same file named as starting weights is refused before any code can run.
    with pytest.raises(WeightsError):
        create_model("test_resnet", num_classes=10, in_chans=1, weights=str(path))
    assert not marker.exists()


def test_weights_from_safetensors_and_state_dict_files(tmp_path):
    model = create_model("test_resnet", num_classes=10, in_chans=1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        loaded = create_model(
            "test_resnet", num_classes=10, in_chans=1, weights=str(tmp_path / name)
        )
        for key, value in loaded.state_dict().items():
            # The backbone is the file's; the classifier starts afresh, as train.py's does.
            assert torch.equal(value, state[key]) != key.startswith("fc."), key
    other = create_model("test_resnet", num_classes=3, in_chans=1, weights=str(tmp_path / "w.pth"))
    assert torch.equal(other.state_dict()["conv1.0.weight"], state["conv1.0.weight"])
    assert other.state_dict()["fc.weight"].shape[0] == 3


def test_unknown_model_suggests_a_close_name():
    with pytest.raises(ValueError, match="did you mean 'resnet18'"):
        check_model_name("resnet_18")
