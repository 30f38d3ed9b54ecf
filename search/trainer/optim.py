"""Optimizers by name, built by timm's optimizer factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from search.registry import Registry

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

# Names are timm's own (`timm.optim.list_optimizers()`): 'sgd' is SGD with Nesterov momentum,
# 'momentum' is SGD with plain momentum. timm's factory passes `momentum` only to the
# optimizers that take it (its OptimInfo.has_momentum).
OPTIMIZERS: Registry[str] = Registry("optimizer")
for _name in ("sgd", "momentum", "adam", "adamw", "nadam", "radam", "rmsprop", "lamb"):
    OPTIMIZERS.register(_name, _name)


FUSED = frozenset({"sgd", "momentum", "adam", "adamw"})
"""The optimizers torch has a fused kernel for, on CPU and CUDA alike: one call updates every
parameter. On 2 CPU cores it cut AdamW's step on test_resnet from about 3 ms to 1 ms."""


def create_optimizer(
    model: torch.nn.Module, config: TrainConfig, fused: bool = True
) -> torch.optim.Optimizer:
    """timm's factory for `config.opt`; `fused=False` keeps torch's default kernels, as a plain
    script gets them (the benchmarks' baselines)."""
    from timm.optim import create_optimizer_v2

    name = OPTIMIZERS.get(config.opt)
    optimizer = create_optimizer_v2(
        model,
        opt=name,
        lr=config.lr,
        weight_decay=config.weight_decay,
        momentum=config.momentum,
        layer_decay=config.layer_decay,
        **({"fused": True} if fused and name in FUSED else {}),
    )
    # timm's layer decay leaves a per-group `lr_scale`, which timm's scheduler (schedule.py)
    # applies at every step, as in train.py.
    return optimizer


def clip_gradients(model: torch.nn.Module, config: TrainConfig) -> None:
    """train.py's clipping: timm's dispatch_clip_grad, the head spared by adaptive (agc)."""
    if config.clip_grad is None:
        return
    from timm.models import model_parameters
    from timm.utils import dispatch_clip_grad

    parameters = model_parameters(model, exclude_head=config.clip_mode == "agc")
    dispatch_clip_grad(parameters, config.clip_grad, mode=config.clip_mode)
