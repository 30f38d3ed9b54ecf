"""Where training runs, and what it holds there."""

from __future__ import annotations

import os

import torch


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def peak_memory_bytes(device: torch.device) -> int:
    """CUDA's allocator peak; on the CPU, the process's resident memory now (it keeps no peak)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
