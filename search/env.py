"""The environment variables `search` reads, named once.

The storage and artifact settings let many machines share one study without editing files;
the worker settings are how `search run --workers N` tells each child process who it is.
"""

from __future__ import annotations

import os

STORAGE_ENV = "SEARCH_STORAGE"
"""An Optuna storage URL, used when --storage is not given."""
ARTIFACTS_ENV = "SEARCH_ARTIFACTS"
"""An artifact store location, used when --artifacts is not given."""
WORKER_ENV = "SEARCH_WORKER"
"""This process's index among the workers of `search run --workers N`; unset for one worker."""
THREADS_ENV = "SEARCH_NUM_THREADS"
"""torch threads of this worker: its share of the machine's cores."""
DEBUG_ENV = "SEARCH_DEBUG"
"""Set to 1 to see a traceback where `search` would print a one-line error about the world."""


def worker_index() -> int | None:
    """The index `search run --workers N` gave this process, or None outside such a run."""
    value = os.environ.get(WORKER_ENV)
    return int(value) if value else None
