"""Objectives: the glue between an Optuna trial and the trainer, by the name a study file's
`objective` key gives.

`classify` is the image classifier. An objective may import the study, store and trainer
layers; only the public API (`search.api`) imports an objective.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from search.registry import Registry


@dataclass(frozen=True)
class ObjectiveInfo:
    name: str
    description: str
    target: str
    """`module:Class` of its callable, imported only when a study runs (it imports torch).
    The class takes (study config, best-checkpoint keeper, out_of_time, datasets)."""

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


OBJECTIVES: Registry[ObjectiveInfo] = Registry("objective")
OBJECTIVES.register(
    "classify",
    ObjectiveInfo(
        "classify",
        "train an image classifier; the value is its best epoch's val metric",
        "objectives.classify:ClassifyObjective",
    ),
)
