"""Optimizers (through timm's factory) and per-epoch LR schedulers, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch.optim import lr_scheduler

from search.registry import Registry

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

# Names are timm's own (`timm.optim.list_optimizers()`): 'sgd' is SGD with Nesterov momentum,
# 'momentum' is SGD with plain momentum. timm's factory passes `momentum` only to the
# optimizers that take it (its OptimInfo.has_momentum).
OPTIMIZERS: Registry[str] = Registry("optimizer")
for _name in ("sgd", "momentum", "adam", "adamw", "nadam", "radam", "rmsprop", "lamb"):
    OPTIMIZERS.register(_name, _name)


def create_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    from timm.optim import create_optimizer_v2

    return create_optimizer_v2(
        model,
        opt=OPTIMIZERS.get(config.opt),
        lr=config.lr,
        weight_decay=config.weight_decay,
        momentum=config.momentum,
    )


SchedulerBuilder = Callable[
    [torch.optim.Optimizer, "TrainConfig"], "lr_scheduler.LRScheduler | None"
]
SCHEDULERS: Registry[SchedulerBuilder] = Registry("scheduler")


@SCHEDULERS("none")
def _constant(optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
    return None


@SCHEDULERS("step")
def _step(optimizer: torch.optim.Optimizer, config: TrainConfig) -> lr_scheduler.LRScheduler:
    return lr_scheduler.StepLR(optimizer, step_size=config.decay_epochs, gamma=config.decay_rate)


@SCHEDULERS("cosine")
def _cosine(optimizer: torch.optim.Optimizer, config: TrainConfig) -> lr_scheduler.LRScheduler:
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=config.min_lr)


@SCHEDULERS("plateau")
def _plateau(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> lr_scheduler.ReduceLROnPlateau:
    # Plateau watches validation macro-F1, which should go up.
    return lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max",
        factor=config.decay_rate,
        patience=config.patience_epochs,
        min_lr=config.min_lr,
    )


def create_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig):
    return SCHEDULERS.get(config.sched)(optimizer, config)


def step_scheduler(scheduler, val_metric: float) -> None:
    """Advance one epoch; ReduceLROnPlateau steps on the validation metric, the others on time."""
    if scheduler is None:
        return
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_metric)
    else:
        scheduler.step()
