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
    # timm's layer decay leaves a per-group `lr_scale` for timm's schedulers to apply; torch's
    # schedulers scale each group's own lr, so the scale goes into it here.
    for group in optimizer.param_groups:
        group["lr"] = config.lr * group.get("lr_scale", 1.0)
    return optimizer


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


class Schedule:
    """The learning rate, epoch by epoch: a linear warmup from `warmup_lr` over
    `warmup_epochs` (as timm's schedulers warm up), then the named scheduler from its start."""

    def __init__(self, optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
        self.optimizer = optimizer
        self.warmup = config.warmup_epochs
        self.warmup_lr = config.warmup_lr
        self.base = [group["lr"] for group in optimizer.param_groups]
        # The scheduler spans the epochs after warmup (cosine ends at min_lr on the last one).
        self.main = SCHEDULERS.get(config.sched)(
            optimizer, config.replace(epochs=config.epochs - config.warmup_epochs, warmup_epochs=0)
        )
        self.epoch = 0
        if self.warmup:
            self._set(0)

    def _set(self, epoch: int) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = self.warmup_lr + (base - self.warmup_lr) * epoch / self.warmup

    def step(self, val_metric: float) -> None:
        """Advance one epoch; ReduceLROnPlateau steps on the validation metric, the others on time."""
        self.epoch += 1
        if self.epoch <= self.warmup:
            self._set(self.epoch)  # at the last step: the base rate, where the scheduler starts
        elif isinstance(self.main, lr_scheduler.ReduceLROnPlateau):
            self.main.step(val_metric)
        elif self.main is not None:
            self.main.step()

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "main": self.main.state_dict() if self.main else {}}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = state["epoch"]
        if self.main is not None and state["main"]:
            self.main.load_state_dict(state["main"])


def create_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Schedule:
    return Schedule(optimizer, config)
