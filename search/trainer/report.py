"""What a training run says about itself when it ends or fails: where it ran, why it failed."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable
from typing import Any

import torch

from search.env import WORKER_ENV
from search.trainer.config import TrainConfig
from search.trainer.loop import Trainer
from search.trainer.steps import NonFiniteLossError

# Why a run failed, as `search trials` shows it; the first matching type wins.
FAIL_REASONS: dict[type[BaseException], Callable[[BaseException, TrainConfig], str]] = {
    KeyboardInterrupt: lambda err, config: "interrupted",
    torch.cuda.OutOfMemoryError: lambda err, config: (
        f"CUDA out of memory at batch_size={config.batch_size}"
    ),
    NonFiniteLossError: lambda err, config: str(err),
    BaseException: lambda err, config: f"{err.__class__.__name__}: {err}",
}


def describe_failure(err: BaseException, config: TrainConfig) -> str:
    describe = next(f for kind, f in FAIL_REASONS.items() if isinstance(err, kind))
    return describe(err, config)


def placement(trainer: Trainer) -> dict[str, Any]:
    """Which machine, worker and device ran it: for scale-out and for debugging."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": os.environ.get(WORKER_ENV),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": str(trainer.device),
        "threads": torch.get_num_threads(),
    }


def free_memory() -> None:
    """What a finished run leaves behind, freed before the next one starts."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
