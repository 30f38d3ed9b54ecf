"""timm models, and weights that load only through safe formats."""

from __future__ import annotations

import pickle

import torch
from torch import nn

from search.errors import SearchError, shown


class WeightsError(SearchError):
    """Weights that cannot be loaded safely, or that do not fit the model."""


def check_model_name(name: str) -> None:
    """Raise ValueError naming close matches when timm has no model called `name`."""
    import timm

    if not timm.is_model(name):
        from search.registry import did_you_mean

        close = did_you_mean(name, timm.list_models())
        raise ValueError(f"unknown timm model {shown(name)}{close}; see timm.list_models()")


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Weights from .safetensors, or a .pt/.pth state_dict that loads with weights_only=True.

    A pickle that would run code is refused by torch's weights-only unpickler.
    """
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises weights_only=False, which would run the file's code.
        raise WeightsError(
            f"{path}: refused: not a plain state_dict of tensors (loading it would run code)"
        ) from None
    except Exception as err:  # safetensors, zip and pickle readers each raise their own kinds
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"{path}: not a readable weights file ({first})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state_dict of tensors")
    return state


def load_weights_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load every tensor strictly, or say in one line that the weights are for another model."""
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise WeightsError(
            f"{source}: these weights do not fit the model in its config ({detail[:160]})"
        ) from None


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
