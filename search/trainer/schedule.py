"""Learning-rate schedules by name, built by timm's own factory as timm's train.py builds them.

Each record names timm's scheduler; `create_schedule` calls `timm.scheduler.create_scheduler_v2`
with the arguments train.py passes it, and the trainer steps it as train.py does, once per epoch
with the epoch's number (plateau also with the validation metric). So the learning rate of
every epoch, warmup included, is train.py's by construction for an exported config.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from search.registry import Registry

if TYPE_CHECKING:
    from timm.scheduler.scheduler import Scheduler

    from search.trainer.config import TrainConfig


@dataclass(frozen=True)
class SchedulerInfo:
    name: str
    timm: str
    """timm's name for it (`create_scheduler_v2`'s `sched`), as the export writes it."""
    description: str
    keys: tuple[str, ...] = ()
    """The TrainConfig keys it reads, besides warmup_epochs and warmup_lr."""
    on_metric: bool = False
    """Steps on the validation metric rather than on the epoch alone."""


SCHEDULERS: Registry[SchedulerInfo] = Registry("scheduler")
for _info in (
    SchedulerInfo("constant", "constant", "the learning rate held, after warmup"),
    SchedulerInfo("none", "constant", "the same as constant (the name older study files use)"),
    SchedulerInfo(
        "step", "step", "multiplied by decay_rate every decay_epochs", ("decay_epochs", "decay_rate")
    ),
    SchedulerInfo("cosine", "cosine", "cosine annealing to min_lr over the epochs", ("min_lr",)),
    SchedulerInfo(
        "plateau",
        "plateau",
        "multiplied by decay_rate after patience_epochs without a gain in the study's metric",
        ("decay_rate", "patience_epochs", "min_lr"),
        on_metric=True,
    ),
):
    SCHEDULERS.register(_info.name, _info)


FIXED_SCHEDULE = {"cooldown_epochs": 0, "warmup_prefix": False}
"""train.py's schedule arguments that `search` never changes (the export writes them too)."""


def scheduler_kwargs(config: TrainConfig, *, maximize: bool = True) -> dict[str, Any]:
    """`create_scheduler_v2`'s arguments, as train.py's `scheduler_kwargs(args)` makes them
    from the exported config (train.py's own defaults for what a study cannot set)."""
    return {
        "sched": SCHEDULERS.get(config.sched).timm,
        "num_epochs": config.epochs,
        "decay_epochs": config.decay_epochs,
        "warmup_epochs": config.warmup_epochs,
        "patience_epochs": config.patience_epochs,
        "decay_rate": config.decay_rate,
        "min_lr": config.min_lr,
        "warmup_lr": config.warmup_lr,
        "plateau_mode": "max" if maximize else "min",
        "step_on_epochs": True,
        **FIXED_SCHEDULE,
    }


def create_schedule(
    optimizer: torch.optim.Optimizer, config: TrainConfig, *, maximize: bool = True
) -> Scheduler:
    """timm's scheduler for the config. After epoch N, `step(N, val_metric)` sets the learning
    rate of the next epoch, as train.py steps it."""
    from timm.scheduler import create_scheduler_v2

    with warnings.catch_warnings():
        # timm deprecates its plateau scheduler; the study files still name it on purpose.
        warnings.simplefilter("ignore", FutureWarning)
        scheduler, _ = create_scheduler_v2(optimizer, **scheduler_kwargs(config, maximize=maximize))
    return scheduler
