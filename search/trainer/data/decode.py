"""Decode a dataset's images once, on threads where that measures faster, with a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")

ONE_THREAD_BELOW_S = 0.5e-3
"""Per image on the first chunk: below this, threads cannot save enough to pay for trying."""
TRIAL_ORDER = (False, True, False, True, False)
"""Whether each of the first chunks goes to the pool; the first, on one thread, is untimed."""
CHUNK = 256
"""Files decoded at a time: the unit of the timing trial below and of the progress bar; a
future per file of a million-image dataset would not fit in memory."""


class ThreadChoice:
    """One thread or a pool, whichever decodes faster per image on these files.

    PIL lets go of the GIL while it decodes and resizes, so photos decode up to 2x faster on
    two threads; but small or flat images spend most of their time in Python around those calls,
    where threads only take turns at the GIL (slower on the suite's 24 px PNGs; `make bench`'s
    decode figure, docs/benchmarks.md). The image size alone does not tell which, so the
    first chunks try both: one thread (untimed: it pays for warming up codecs and caches),
    then the pool and one thread twice each, timed, the faster of each pair kept against a
    moment's stall of the machine; the rest use the faster. Images that took under
    ONE_THREAD_BELOW_S each on the first chunk stay on one thread without trying the pool.
    """

    def __init__(self, threads: int, measure: bool = True) -> None:
        self.threads = threads
        self.trials = (
            [threads if pool else 1 for pool in TRIAL_ORDER] if measure and threads > 1 else []
        )
        """Thread counts still to try, one chunk each."""
        self.per_image: dict[int, float] = {} if measure else {threads: 0.0}
        """Seconds per image measured for each thread count."""

    def next(self) -> int:
        if self.trials:
            return self.trials[0]
        return min(self.per_image, key=self.per_image.__getitem__) if self.per_image else 1

    def record(self, threads: int, seconds: float, images: int) -> None:
        if not self.trials:
            return
        per_image = seconds / max(images, 1)
        warming = len(self.trials) == len(TRIAL_ORDER)
        self.trials.pop(0)
        if warming:
            if per_image < ONE_THREAD_BELOW_S:
                self.trials, self.per_image = [], {1: per_image}
            return
        self.per_image[threads] = min(self.per_image.get(threads, per_image), per_image)


def decode_all(
    files: Sequence[str], decode: Callable[[str], T], threads: int | None = None
) -> Iterator[tuple[str, T | None]]:
    """(file, decode(file)) in the files' order; None where it raised OSError (not an image).

    `threads`: that many, always; None: torch's intra-op threads (split between workers by
    `search run --workers`) where they measure faster than one (ThreadChoice).
    """

    def attempt(file: str) -> T | None:
        try:
            return decode(file)
        except OSError:
            return None

    choice = (
        ThreadChoice(torch.get_num_threads())
        if threads is None
        else ThreadChoice(threads, measure=False)
    )
    bar = _bar(len(files))
    with ThreadPoolExecutor(choice.threads) as pool:
        for start in range(0, len(files), CHUNK):
            chunk = files[start : start + CHUNK]
            n = choice.next()
            started = time.perf_counter()
            done = list(pool.map(attempt, chunk)) if n > 1 else [attempt(f) for f in chunk]
            choice.record(n, time.perf_counter() - started, len(chunk))
            yield from zip(chunk, done)
            bar.update(len(chunk))
    bar.close()


def _bar(total: int):
    from tqdm import tqdm

    # Only on a terminal, and only for what takes long enough to watch.
    return tqdm(
        total=total,
        desc="reading images",
        unit="img",
        file=sys.stderr,
        leave=False,
        disable=None if total >= 10_000 else True,
        mininterval=1.0,
    )
