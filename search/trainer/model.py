"""timm models, and weights that load only through safe formats."""

from __future__ import annotations

import torch
from torch import nn


def check_model_name(name: str) -> None:
    """Raise ValueError naming close matches when timm has no model called `name`."""
    import timm

    if not timm.is_model(name):
        from search.registry import did_you_mean

        close = did_you_mean(name, timm.list_models())
        raise ValueError(f"unknown timm model {name!r}{close}; see timm.list_models()")


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Weights from .safetensors, or a .pt/.pth state_dict that loads with weights_only=True.

    A pickle that would run code is refused by torch's weights-only unpickler.
    """
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: not a state_dict of tensors")
    return state


def create_model(
    name: str, *, num_classes: int, in_chans: int, weights: str | None = None
) -> nn.Module:
    import timm

    model = timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    if weights is not None:
        own = model.state_dict()
        # A classifier or stem of another shape (other classes, other channels) starts fresh.
        state = {
            k: v
            for k, v in load_state_dict(weights).items()
            if k in own and own[k].shape == v.shape
        }
        model.load_state_dict(state, strict=False)
    return model
