"""Fault injection for the crash tests: a real SIGKILL at a named point of the run.

`SEARCH_FAULT=checkpoint` kills the process the first time it reaches `reach("checkpoint")`;
`SEARCH_FAULT=epoch:3` the third time it reaches `reach("epoch")`. Unset, `reach` does nothing.
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
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
