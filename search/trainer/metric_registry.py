"""The metrics a study may optimise, by name; light to import (no torch), as study files need it."""

from __future__ import annotations

from dataclasses import dataclass

from search.registry import Registry


@dataclass(frozen=True)
class MetricInfo:
    """A metric a study may optimise: a key of `EpochResult.record()`."""

    name: str
    direction: str
    """maximize or minimize."""
    attribute: str
    """Its field of `Metrics`."""
    resampled: bool
    """Determined by the confusion matrix, so `resampled_se` gives its standard error."""


METRICS: Registry[MetricInfo] = Registry("metric")
for _attribute, _direction, _resampled in (
    ("macro_f1", "maximize", True),
    ("accuracy", "maximize", True),
    ("macro_precision", "maximize", True),
    ("macro_recall", "maximize", True),
    ("roc_auc", "maximize", False),
    ("loss", "minimize", False),
):
    METRICS.register(
        f"val_{_attribute}", MetricInfo(f"val_{_attribute}", _direction, _attribute, _resampled)
    )
