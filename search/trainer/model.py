"""timm models, their starting weights (pretrained, or a local file), and safe loading."""

from __future__ import annotations

import pickle

import torch
from torch import nn

from search.errors import shown
from search.trainer.weights import (
    StartingWeights,
    WeightsError,
    check_loaded,
    pretrained_source,
    quiet_timm,
)

__all__ = ["WeightsError", "build_model", "create_model", "load_state_dict", "load_weights_into"]


def check_model_name(name: str) -> None:
    """Raise ValueError naming close matches when timm has no model called `name`."""
    import timm

    if not timm.is_model(name):
        from search.registry import did_you_mean

        close = did_you_mean(name, timm.list_models())
        raise ValueError(f"unknown timm model {shown(name)}{close}; see timm.list_models()")


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Weights from a safetensors file, or a torch.save state_dict that loads with
    weights_only=True, told apart by their first bytes rather than the file's name.

    A pickle that would run code is refused by torch's weights-only unpickler.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(9)
        if head[8:9] == b"{" and not path.endswith(".safetensors"):  # a length, then JSON
            raise WeightsError(
                f"{path}: a safetensors file: name it *.safetensors (timm reads it by its name)"
            )
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        elif head[:2] == b"PK" or head[:1] == b"\x80":  # torch.save's zip, or a bare pickle
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            raise WeightsError(
                f"{path}: not a readable weights file (neither safetensors nor the format "
                "of torch.save)"
            )
    except WeightsError:
        raise
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


def create_model(name: str, **kwargs) -> nn.Module:
    """A timm model as `build_model` builds it, without the account of its weights."""
    return build_model(name, **kwargs)[0]


def build_model(
    name: str,
    *,
    num_classes: int,
    in_chans: int,
    pretrained: bool = False,
    weights: str | None = None,
    drop_rate: float = 0.0,
    drop_path_rate: float = 0.0,
    drop_block_rate: float = 0.0,
    image_size: int | tuple[int, int] | None = None,
) -> tuple[nn.Module, StartingWeights]:
    """A timm model, random, from timm's pretrained weights or from a local weights file, and
    what it started from.

    Weights go through timm's own loader, as train.py's do: it adapts the first convolution
    to `in_chans`, and a file's classifier is always replaced (train.py's --pretrained-path
    sets num_classes=-1). A file is then checked strictly (weights.check_loaded). A model
    built for one input size (a ViT) is built for `image_size`.
    """
    import timm
    from timm.models import get_pretrained_cfg

    kwargs: dict = {"num_classes": num_classes, "in_chans": in_chans}
    cfg = get_pretrained_cfg(name)
    if image_size is not None and cfg is not None and cfg.fixed_input_size:
        kwargs["img_size"] = image_size
    for key, value in (
        ("drop_rate", drop_rate),
        ("drop_path_rate", drop_path_rate),
        ("drop_block_rate", drop_block_rate),
    ):
        if value:
            kwargs[key] = value
    state = None
    if weights is not None:
        state = load_state_dict(weights)  # refuses a file that would run code before timm reads it
        kwargs["pretrained_cfg_overlay"] = {"file": weights, "num_classes": -1}
    if not (pretrained or weights is not None):
        return timm.create_model(name, **kwargs), StartingWeights("random")
    try:
        with quiet_timm():
            model = timm.create_model(name, pretrained=True, **kwargs)
    except Exception as err:  # hub, network and file errors all mean: no weights here
        first = " ".join(str(err).split())[:160] or type(err).__name__
        if weights is not None:
            raise WeightsError(
                f"{weights}: timm cannot load it into model {name} ({first})"
            ) from None
        raise WeightsError(
            f"model {name}: cannot load timm's pretrained weights ({first}); offline, download "
            f"them on a connected machine and set pretrained_path: {{{name}: path/to/file}}"
        ) from None
    if state is not None:
        return model, check_loaded(model, state, name, weights)
    source = f"timm:{pretrained_source(cfg, name)}"
    return model, StartingWeights(source, len(model.state_dict()), "")
