"""Fault injection for the crash tests: a real SIGKILL at a named point of the run.

`SEARCH_FAULT=checkpoint` kills the process the first time it reaches `reach("checkpoint")`;
`SEARCH_FAULT=epoch:3` the third time it reaches `reach("epoch")`. With `SEARCH_FAULT_WORKER=1`
only worker 1 of `search run --workers N` is killed. Unset, `reach` does nothing.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def reach(point: str) -> None:
    spec = os.environ.get("SEARCH_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    only = os.environ.get("SEARCH_FAULT_WORKER")
    if only is not None and only != os.environ.get("SEARCH_WORKER"):
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
