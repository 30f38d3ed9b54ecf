"""A study's time: wall-clock across resumes and workers, kept in the study's own storage.

Each run of `search run` (each worker too) writes its span, [start, last seen alive] in Unix
seconds, as a study user attribute `run_time:<id>` and extends it every few seconds. The time a
study has spent is the length of the union of those spans: resumes add up, workers running side
by side count once. A killed run's span ends at its last tick, so a kill loses at most one tick.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from search.store import attrs

if TYPE_CHECKING:  # the command line imports this module before it needs Optuna
    import optuna

SPAN_PREFIX = attrs.RUN_TIME_PREFIX
TICK_S = 5.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


def parse_duration(text: str | int | float) -> float:
    """Seconds in `90`, `90s`, `30m`, `2h`, `1h30m` or `1.5h`; ValueError when it is none of these."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
        seconds = float(text)
    elif isinstance(text, str) and re.fullmatch(r"\s*(\d+(\.\d+)?\s*[smhd]\s*)+", text):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
    else:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 30m, 2h or 1h30m")
    if seconds <= 0:
        raise ValueError(f"must be > 0, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """4m10s, 1h02m, 35s: short enough for a progress bar."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def stored_spans(study: optuna.Study) -> dict[str, tuple[float, float]]:
    return {
        key: (float(value[0]), float(value[1]))
        for key, value in study.user_attrs.items()
        if key.startswith(SPAN_PREFIX)
    }


def union_length(spans: list[tuple[float, float]], until: float | None = None) -> float:
    """Seconds covered by at least one span (up to `until` when given)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if until is not None:
            end = min(end, until)
        if end <= max(start, reach):
            reach = max(reach, end)
            continue
        total += end - max(start, reach)
        reach = end
    return total


class StudyClock:
    """This run's span in the study's storage, and the study's time spent and left.

    Use as a context manager: entering writes the span, a daemon thread extends it every
    `tick_s`, leaving writes its end. `on_tick` is called after each extension (a progress bar).
    """

    def __init__(
        self,
        study: optuna.Study,
        budget_s: float | None = None,
        tick_s: float = TICK_S,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.study = study
        self.budget_s = budget_s
        self.tick_s = tick_s
        self.now = now
        """Wall-clock seconds (Unix time: spans from other machines must compare); tests
        inject their own."""
        self.key = SPAN_PREFIX + uuid.uuid4().hex[:12]
        self.start = now()
        self.on_tick: Callable[[], None] | None = None
        self._others: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StudyClock:
        self.start = self.now()
        self.touch()
        self._thread = threading.Thread(target=self._tick, name="search-clock", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.touch()

    def touch(self) -> None:
        """Write this run's span as of now (at each tick, and when a trial ends)."""
        self.study.set_user_attr(self.key, [self.start, self.now()])
        self._others = self._other_spans()

    def _other_spans(self) -> list[tuple[float, float]]:
        return [s for k, s in stored_spans(self.study).items() if k != self.key]

    def _tick(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.touch()
            except Exception:  # a storage hiccup must not end the run; the next tick retries
                continue
            if self.on_tick is not None:
                self.on_tick()

    def spent_before(self) -> float:
        """What earlier runs and other workers have spent, as the storage says now."""
        return union_length(self._other_spans())

    def spent(self) -> float:
        """The study's wall-clock so far: this run's span joined with every other run's."""
        return union_length([*self._others, (self.start, self.now())])

    def left(self) -> float | None:
        return None if self.budget_s is None else max(0.0, self.budget_s - self.spent())

    def exhausted(self) -> bool:
        return self.budget_s is not None and self.spent() >= self.budget_s
