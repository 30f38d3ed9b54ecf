"""Learning-rate schedules by name, built by timm's own factory as timm's train.py builds them.

Each record names timm's scheduler; `Schedule` calls `timm.scheduler.create_scheduler_v2` with
the arguments train.py passes it and steps it as train.py does, once per epoch (plateau on the
validation metric). So the learning rate of every epoch, warmup included, is train.py's by
construction for an exported config.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from search.registry import Registry

if TYPE_CHECKING:
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


def scheduler_kwargs(config: TrainConfig, *, maximize: bool = True) -> dict[str, Any]:
    """`create_scheduler_v2`'s arguments, as train.py's `scheduler_kwargs(args)` makes them
    from the exported config (train.py's own defaults for what a study cannot set)."""
    return {
        "sched": SCHEDULERS.get(config.sched).timm,
        "num_epochs": config.epochs,
        "decay_epochs": config.decay_epochs,
        "warmup_epochs": config.warmup_epochs,
        "cooldown_epochs": 0,
        "patience_epochs": config.patience_epochs,
        "decay_rate": config.decay_rate,
        "min_lr": config.min_lr,
        "warmup_lr": config.warmup_lr,
        "warmup_prefix": False,
        "plateau_mode": "max" if maximize else "min",
        "step_on_epochs": True,
    }


class Schedule:
    """timm's scheduler for the config, stepped once per epoch as train.py steps it."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainConfig, *, maximize: bool = True
    ) -> None:
        from timm.scheduler import create_scheduler_v2

        with warnings.catch_warnings():
            # timm deprecates its plateau scheduler; the study files still name it on purpose.
            warnings.simplefilter("ignore", FutureWarning)
            self.scheduler, _ = create_scheduler_v2(
                optimizer, **scheduler_kwargs(config, maximize=maximize)
            )
        self.epoch = 0

    def step(self, val_metric: float) -> None:
        """After an epoch: the learning rate of the next one (plateau watches `val_metric`)."""
        self.epoch += 1
        self.scheduler.step(self.epoch, val_metric)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "timm": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = state["epoch"]
        self.scheduler.load_state_dict(state["timm"])
