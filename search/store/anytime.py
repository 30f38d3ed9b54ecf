"""How a study's best value evolved over the study's own time: would more budget help?

Times are the study's wall-clock (see clock.py): a trial that finished 4 minutes into the
second run of a study that first ran 10 minutes finished at 14 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from search.store import attrs
from search.store.clock import format_duration, stored_spans, union_length

STALLED_SHARE = 0.4
"""No improvement in this last share of the time spent, with STALLED_TRIALS complete trials
since: more of the same budget rarely helps."""
STALLED_TRIALS = 15
"""Complete trials since the last gain before a study is called stalled: with fewer, a quiet
study often went on to gain more than the val SE in the suite's long runs
(`python -m tests.benchmarks.stalls`; docs/benchmarks.md)."""


@dataclass(frozen=True)
class Improvement:
    seconds: float
    """Study time at which the trial finished."""
    value: float
    trial: int


def _spans(study: optuna.Study, trials: list) -> list[tuple[float, float]]:
    spans = list(stored_spans(study).values())
    if spans:
        return spans
    # A study from before spans were recorded: from its first trial's start to its last end.
    starts = [t.datetime_start.timestamp() for t in trials if t.datetime_start]
    ends = [t.datetime_complete.timestamp() for t in trials if t.datetime_complete]
    return [(min(starts), max(ends))] if starts and ends else []


@dataclass(frozen=True)
class Progress:
    steps: list[Improvement]
    """Each new best (on the study's first objective), in order."""
    spent: float
    """The study's time spent, in seconds."""
    trials_since: int
    """Complete trials that finished after the last new best."""

    @property
    def quiet(self) -> float:
        """The share of the time spent since the last new best."""
        if not self.steps or self.spent <= 0:
            return 0.0
        return (self.spent - self.steps[-1].seconds) / self.spent


def progress_from(
    finished: Iterable[tuple[float, float, int]], spent: float, maximize: bool = True
) -> Progress:
    """Progress from (study seconds, value, trial number) of complete trials in the order they
    finished; the benchmarks replay saved runs through it as `improvements` reads a study."""
    steps: list[Improvement] = []
    since = 0
    for seconds, value, number in finished:
        if not steps or (value > steps[-1].value if maximize else value < steps[-1].value):
            steps.append(Improvement(seconds, value, number))
            since = 0
        else:
            since += 1
    return Progress(steps, spent, since)


def improvements(study: optuna.Study) -> Progress:
    """How the best value evolved over the study's time (see Progress)."""
    every = study.get_trials(deepcopy=False)
    trials = sorted(
        (t for t in every if t.state == TrialState.COMPLETE), key=lambda t: t.datetime_complete
    )
    spans = _spans(study, every)
    finished = (
        (union_length(spans, until=t.datetime_complete.timestamp()), t.values[0], t.number)
        for t in trials
    )
    maximize = study.directions[0] == StudyDirection.MAXIMIZE
    return progress_from(finished, union_length(spans), maximize)


def value_se(trial: FrozenTrial | None) -> float | None:
    """A trial's standard error from its val split (see attrs.VALUE_SE), if recorded."""
    return trial.user_attrs.get(attrs.VALUE_SE) if trial is not None else None


def describe_progress(progress: Progress, *, se: float | None = None, shown: int = 4) -> str | None:
    """One line, e.g. "best 0.861 at 4m10s of 10m00s (trial 12); 0.61 at 12s -> 0.74 at 1m03s
    -> 0.861 at 4m10s; no improvement in the last 58% (21 complete trials since): more time is
    unlikely to help". Given the best value's standard error `se`, it says how finely the val
    split can tell.

    Takes what `improvements(study)` returns, so a caller that also plots it reads once."""
    if not progress.steps:
        return None
    line = _describe(progress, shown)
    if se is None:
        return line
    return (
        f"{line}; the val split measures it to about ±{se:.3f} (bootstrap standard error): "
        "smaller gains may be luck"
    )


def _describe(progress: Progress, shown: int) -> str:
    steps, spent = progress.steps, progress.spent
    last = steps[-1]
    head = (
        f"best {last.value:.4f} at {format_duration(last.seconds)} of "
        f"{format_duration(spent)} (trial {last.trial})"
    )
    if len(steps) > 1:  # one step would repeat the head
        path = " -> ".join(f"{s.value:.4g} at {format_duration(s.seconds)}" for s in steps[-shown:])
        head += f"; {'... -> ' if len(steps) > shown else ''}{path}"
    quiet = progress.quiet
    if quiet >= STALLED_SHARE:
        since = progress.trials_since
        trials = f"{since} complete trial{'s' if since != 1 else ''} since"
        if since >= STALLED_TRIALS:
            return (
                f"{head}; no improvement in the last {quiet:.0%} ({trials}): "
                "more time is unlikely to help"
            )
        return (
            f"{head}; no improvement in the last {quiet:.0%}, but only {trials}: "
            "too few to tell whether more time would help"
        )
    return (
        f"{head}; still improving: last gain at {1 - quiet:.0%} of the time spent; "
        "more time may help"
    )
