"""timm models, their starting weights (pretrained, or a local file), and safe loading."""

from __future__ import annotations

import pickle

import torch
from torch import nn

from search.errors import SearchError, shown


class WeightsError(SearchError):
    """Weights that cannot be loaded safely, cannot be had, or do not fit the model."""


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


def _overlay(weights: str) -> dict:
    """timm's pretrained config pointed at a local file, as train.py's --pretrained-path builds it.

    The classifier is always started afresh (timm's num_classes=-1, as train.py sets it), so a
    trial and train.py begin from the same weights even when the file's head would fit.
    """
    load_state_dict(weights)  # refuses a file that would run code before timm reads it
    return {"file": weights, "num_classes": -1}


def create_model(
    name: str,
    *,
    num_classes: int,
    in_chans: int,
    pretrained: bool = False,
    weights: str | None = None,
    drop_rate: float = 0.0,
    drop_path_rate: float = 0.0,
    drop_block_rate: float = 0.0,
    image_size: int | None = None,
) -> nn.Module:
    """A timm model: random, timm's pretrained weights, or a local weights file.

    Pretrained weights go through timm's own loader, which replaces the classifier for
    `num_classes` and adapts the first convolution to `in_chans`. A model built for one input
    size (a ViT) is built for `image_size`.
    """
    import timm
    from timm.models import get_pretrained_cfg

    kwargs: dict = {"num_classes": num_classes, "in_chans": in_chans}
    cfg = get_pretrained_cfg(name)
    if image_size is not None and cfg is not None and cfg.fixed_input_size:
        kwargs["img_size"] = image_size
    if drop_rate:
        kwargs["drop_rate"] = drop_rate
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    if drop_block_rate:
        kwargs["drop_block_rate"] = drop_block_rate
    if weights is not None:
        kwargs["pretrained_cfg_overlay"] = _overlay(weights)
    if not (pretrained or weights is not None):
        return timm.create_model(name, **kwargs)
    try:
        return timm.create_model(name, pretrained=True, **kwargs)
    except WeightsError:
        raise
    except Exception as err:  # hub, network and file errors all mean: no weights here
        first = " ".join(str(err).split())[:160] or type(err).__name__
        where = weights or "timm's pretrained source (the Hugging Face hub)"
        raise WeightsError(
            f"model {name}: cannot load pretrained weights from {where} ({first}); offline, "
            "download them on a connected machine and set pretrained_path: path/to/file"
        ) from None
