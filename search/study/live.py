"""What a running trial is doing between its epochs: epoch, batch, speed, last val value.

The trainer reports every batch to `LiveReporter`; it shows that to this process's progress
display (`watch`) at most every SHOW_S, and writes it to the trial's `live` attribute at most
every WRITE_S, so that the progress display of `--workers`' first worker (and the dashboard)
sees the other workers' trials too. A storage write per batch would cost more than a batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from search.store import attrs

if TYPE_CHECKING:
    from search.trainer.steps import BatchProgress

SHOW_S = 0.5
WRITE_S = 5.0

Listener = Callable[[dict[str, Any]], None]
_listeners: list[Listener] = []


def watch(listener: Listener) -> Callable[[], None]:
    """Call `listener` with this process's running trial's state; returns the un-watch."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


class LiveReporter:
    """The `Trainer.on_batch` of one trial; `fit` (a FitRecord) has its last val value."""

    def __init__(
        self, trial: Any, fit: Any, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.trial = trial
        self.fit = fit
        self.clock = clock
        now = clock()
        self._shown = now - SHOW_S
        self._written = now  # a trial shorter than WRITE_S never writes

    def __call__(self, progress: BatchProgress) -> None:
        now = self.clock()
        last = progress.batch == progress.batches
        if now - self._shown < SHOW_S and not last:
            return
        self._shown = now
        state = {
            "trial": self.trial.number,
            "epoch": progress.epoch,
            "epochs": progress.epochs,
            "batch": progress.batch,
            "batches": progress.batches,
            "images_per_second": round(progress.images_per_second, 1),
            "value": self.fit.history[-1][self.fit.metric] if self.fit.history else None,
        }
        for listener in list(_listeners):
            listener(state)
        if now - self._written >= WRITE_S:
            self._written = now
            self.trial.set_user_attr(attrs.LIVE, state)


def describe_live(state: dict[str, Any]) -> str:
    """`t7 e3/10 b40/120 310 img/s val 0.8123`: a running trial in a few characters."""
    value = state.get("value")
    return (
        f"t{state['trial']} e{state['epoch']}/{state['epochs']} "
        f"b{state['batch']}/{state['batches']} {state['images_per_second']:.0f} img/s"
        + (f" val {value:.4f}" if value is not None else "")
    )
