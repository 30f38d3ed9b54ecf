"""Objectives a study file can name in its `objective` key.

Entries are import paths, so naming an objective costs nothing until it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from search.registry import Registry

OBJECTIVES: Registry[str] = Registry("objective")
OBJECTIVES.register("classify", "objectives.classify:ClassifyObjective")


def create_objective(name: str, *args: Any, **kwargs: Any) -> Any:
    module, attr = OBJECTIVES.get(name).split(":")
    return getattr(importlib.import_module(module), attr)(*args, **kwargs)
