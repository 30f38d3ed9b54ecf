"""Starting weights checked strictly: what a file gave the model, and timm's hub reached once.

timm's pretrained loader is lenient where a task adapts the model (a new classifier turns strict
loading off), so a file of another architecture "loads" and leaves the model random. After timm
has loaded, every tensor of the file must be found in the model, with its shape and its values,
except the classifier replaced for the task's classes, the first convolution adapted to its
channels, and position embeddings resampled for another input size.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from search.errors import SearchError

RESAMPLED = ("pos_embed", "relative_position")
"""Tensor names timm resamples when the input size differs from the weights'."""
HUB_PROBE_SECONDS = 5.0
HUB_HOST = "huggingface.co"


class WeightsError(SearchError):
    """Weights that cannot be loaded safely, cannot be had, or do not fit the model."""


@dataclass(frozen=True)
class StartingWeights:
    """What a model started from: the trial records it (`search trials` shows it)."""

    source: str
    """A file's path, `timm:<hub id>`, or `random`."""
    tensors: int = 0
    """Tensors taken from the weights."""
    head: str = ""
    """`new` when the classifier was started afresh for the task's classes."""

    def record(self) -> dict[str, object]:
        return {"source": self.source, "tensors": self.tensors, "head": self.head}

@contextlib.contextmanager
def quiet_timm() -> Iterator[None]:
    """timm's loader logs every unexpected key in one long line; the check below says it in
    one short one instead."""
    logger = logging.getLogger("timm")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _names(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:3])
    return f"{len(keys)} ({shown}{', ...' if len(keys) > 3 else ''})"


def check_loaded(
    model: nn.Module, state: dict[str, torch.Tensor], name: str, source: str
) -> StartingWeights:
    """Raise WeightsError in one line unless every tensor of `state` landed in `model`."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    head = {f"{c}.{p}" for c in _names(cfg.get("classifier")) for p in ("weight", "bias")}
    first_conv = {f"{c}.weight" for c in _names(cfg.get("first_conv"))}
    own = model.state_dict()
    counted = [k for k in own if not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own and k not in head]
    missing = [k for k in counted if k not in state and k not in head]
    reshaped, differ, landed = [], [], 0
    for key in counted:
        if key not in state or key in head:
            continue
        mine, theirs = own[key], state[key]
        if mine.shape != theirs.shape:
            if key not in first_conv and not any(part in key for part in RESAMPLED):
                reshaped.append(f"{key} {tuple(theirs.shape)} vs {tuple(mine.shape)}")
            continue
        if key not in first_conv and not torch.equal(mine.cpu(), theirs.to(mine.dtype)):
            differ.append(key)
            continue
        landed += 1
    if landed == 0:
        raise WeightsError(
            f"{source}: none of its {len(state)} tensors fit model {name}: weights of another "
            "architecture?"
        )
    problems = [
        f"{what} {_listed(keys)}"
        for what, keys in (
            ("unexpected", unexpected),
            ("missing", missing),
            ("of another shape", reshaped),
            ("not loaded", differ),
        )
        if keys
    ]
    if problems:
        raise WeightsError(f"{source}: does not fit model {name}: " + "; ".join(problems))
    # Loaded from a file, the classifier is always new (train.py's --pretrained-path).
    return StartingWeights(source, landed, "new" if head & own.keys() else "")


def pretrained_source(cfg: Any, name: str) -> str:
    """Where timm's pretrained config for `name` points: a file, a hub id or a URL."""
    if cfg is None:
        return name
    return cfg.file or cfg.hf_hub_id or cfg.url or name


def hub_source(name: str) -> tuple[str, str | None]:
    """Where timm would fetch `name`'s pretrained weights: a hub id (or URL), and the file
    in timm's cache when it is there."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        raise WeightsError(f"model {name}: timm has no pretrained weights for it")
    if cfg.file:
        return cfg.file, cfg.file if os.path.isfile(cfg.file) else None
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("model.safetensors", "open_clip_pytorch_model.bin", "pytorch_model.bin"):
            cached = try_to_load_from_cache(cfg.hf_hub_id, filename)
            if isinstance(cached, str):
                return cfg.hf_hub_id, cached
    return pretrained_source(cfg, name), None


def reachable(url_or_id: str, timeout: float = HUB_PROBE_SECONDS) -> bool:
    """Whether the host that serves these weights answers on its port, within `timeout`
    (never, when the hub is set offline)."""
    import huggingface_hub.constants

    if huggingface_hub.constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(url_or_id).hostname if "://" in url_or_id else HUB_HOST
    try:
        with socket.create_connection((host or HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def go_offline() -> None:
    """Read timm's weights from the cache only, in this process and the workers it starts:
    the hub would otherwise retry for a minute before falling back to the cache."""
    import huggingface_hub.constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    huggingface_hub.constants.HF_HUB_OFFLINE = True


def resolve_pretrained(name: str) -> str:
    """Make sure timm's pretrained weights for `name` can be had, quickly: from the cache
    (then the hub is not asked), or from a hub that answers. Returns where they come from."""
    source, cached = hub_source(name)
    if cached is not None:
        if not reachable(source):
            go_offline()
        return source
    if not reachable(source):
        raise WeightsError(
            f"model {name}: pretrained: true needs timm's weights ({source}), which are not in "
            f"the cache and the hub did not answer within {HUB_PROBE_SECONDS:g} s; download them "
            f"on a connected machine and set pretrained_path: {{{name}: path/to/file}}"
        )
    return source
