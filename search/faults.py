"""Fault injection and pause points for the tests: deterministic crashes and interleavings.

`SEARCH_FAULT=checkpoint` kills the process with a real SIGKILL the first time it reaches
`reach("checkpoint")`; `SEARCH_FAULT=epoch:3` the third time it reaches `reach("epoch")`. With
`SEARCH_FAULT_WORKER=1` only worker 1 of `search run --workers N` is killed.

`SEARCH_HOLD=epoch:1` with `SEARCH_HOLD_DIR=DIR` pauses the process there instead: it writes
`DIR/held-<pid>` and waits until `DIR/release` exists, so a test can look at a study that is
certainly mid-run. Unset, `reach` does nothing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from search.env import WORKER_ENV

HOLD_LIMIT_S = 600
_counts: dict[str, int] = {}


def _matches(spec: str | None, point: str) -> bool:
    """Whether this is the nth arrival at `point` that `spec` (POINT[:N]) names."""
    if not spec:
        return False
    name, _, nth = spec.partition(":")
    if name != point:
        return False
    _counts[spec] = _counts.get(spec, 0) + 1
    return _counts[spec] == int(nth or 1)


def reach(point: str) -> None:
    only = os.environ.get("SEARCH_FAULT_WORKER")
    if _matches(os.environ.get("SEARCH_FAULT"), point) and (
        only is None or only == os.environ.get(WORKER_ENV)
    ):
        os.kill(os.getpid(), signal.SIGKILL)
    hold_dir = os.environ.get("SEARCH_HOLD_DIR")
    if hold_dir and _matches(os.environ.get("SEARCH_HOLD"), point):
        _hold(Path(hold_dir))


def out_of_memory(batch: int) -> bool:
    """Whether to simulate CUDA running out of memory: `SEARCH_FAULT_OOM_ABOVE=16` makes every
    training step of more than 16 images fail as a GPU too small for them would."""
    limit = os.environ.get("SEARCH_FAULT_OOM_ABOVE")
    return limit is not None and batch > int(limit)


def _hold(directory: Path) -> None:
    (directory / f"held-{os.getpid()}").touch()
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not (directory / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
