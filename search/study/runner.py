"""Run a study to its total of finished trials: resume, progress, and the best checkpoint."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import faults
from search.env import THREADS_ENV
from search.errors import SearchError
from search.store import attrs
from search.store.anytime import describe_progress, improvements, value_se
from search.store.checkpoint import BestKeeper
from search.store.clock import StudyClock, format_duration
from search.store.storage import best_trial, trial_value
from search.study.progress import Progress, finished_and_running

MAX_CONSECUTIVE_FAILURES = 5
SURPLUS = "not run: other workers had started the study's last trials first"


class _Surplus(Exception):
    """The trial just created would take the study past its total; it fails unrun."""


@dataclass(frozen=True)
class RunSummary:
    finished: int
    best_value: float | None
    best_trial: int | None
    checkpoint: str | None
    stopped_by: str
    """n_trials, budget or timeout: why this run ended."""
    spent_s: float
    """The study's wall-clock so far, every run and worker together."""
    progress: str | None
    """How the best value evolved (anytime.describe_progress)."""

    def closing_lines(self, metric: str) -> list[str]:
        """Why the run ended, the best so far and its checkpoint, how the best evolved."""
        spent = format_duration(self.spent_s)
        why = {
            "budget": f"budget spent ({spent})",
            "n_trials": f"{self.finished} trials finished",
            "timeout": f"--timeout reached; the study has spent {spent}",
        }[self.stopped_by]
        if self.best_trial is None:
            lines = [
                f"{why}; {self.finished} trials finished; no best yet: none completed, "
                "or none meets the study's pick rule"
            ]
        else:
            lines = [
                f"{why}; best {metric}={self.best_value:.4f} "
                f"(trial {self.best_trial}), checkpoint {self.checkpoint}"
            ]
        return lines + ([self.progress] if self.progress else [])


def _surplus(study: optuna.Study, number: int, n_trials: int) -> bool:
    """Whether `n_trials` trials that will count (all but the failed) were created before trial
    `number`. Workers that check the totals at the same moment each create a trial; the later
    numbers then stand down, so the study still ends at exactly `n_trials`."""
    trials = study.get_trials(deepcopy=False)
    return sum(t.number < number and t.state != TrialState.FAIL for t in trials) >= n_trials


def _taken_over(study: optuna.Study, number: int) -> bool:
    """Whether trial `number` was finished by someone else while this process still ran it."""
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    return trial.state == TrialState.FAIL and attrs.FAIL_REASON not in trial.user_attrs


def run_study(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    keeper: BestKeeper,
    *,
    n_trials: int | None,
    timeout: float | None,
    clock: StudyClock | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run trials until the study holds `n_trials` finished ones (a total, not an increment),
    its budget (the clock's, across every run and worker) is spent, or `timeout` has passed."""
    threads = os.environ.get(THREADS_ENV)
    if threads:
        import torch

        torch.set_num_threads(int(threads))

    clock = clock or StudyClock(study)
    keeper.promote(study)
    deadline = time.monotonic() + timeout if timeout else None
    failures = 0

    def on_trial_end(study: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal failures
        keeper.promote(study)
        if trial.user_attrs.get(attrs.FAIL_REASON) != SURPLUS:
            failures = failures + 1 if trial.state == TrialState.FAIL else 0
        clock.touch()  # a kill between trials then loses none of the time spent
        faults.reach("between-trials")

    # A trial ends in a full garbage collection that walks every live object, imports and all
    # (0.25 s on 2 cores); frozen, those alive before the first trial are skipped (0.02 s).
    gc.freeze()
    with clock:
        bar = Progress(n_trials, finished_and_running(study)[0], clock, progress)
        clock.on_tick = bar.tick
        try:
            stopped_by = _loop(
                study, objective, n_trials, deadline, clock, bar, on_trial_end, lambda: failures
            )
        finally:
            clock.on_tick = None
            bar.close()
            gc.unfreeze()
    keeper.promote(study)
    best = best_trial(study)
    link = keeper.best_link if keeper.current() is not None else None
    return RunSummary(
        finished=finished_and_running(study)[0],
        best_value=trial_value(best) if best else None,
        best_trial=best.number if best else None,
        checkpoint=str(link) if link else None,
        stopped_by=stopped_by,
        spent_s=clock.spent(),
        progress=describe_progress(improvements(study), se=value_se(best)),
    )


def _loop(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int | None,
    deadline: float | None,
    clock: StudyClock,
    bar: Progress,
    on_trial_end: Callable[[optuna.Study, FrozenTrial], None],
    failures: Callable[[], int],
) -> str:
    """One trial at a time until a stop; returns which stop."""
    while True:
        optuna.storages.fail_stale_trials(study)
        finished, running = finished_and_running(study)
        if n_trials is not None and finished >= n_trials:
            return "n_trials"
        if clock.exhausted():
            return "budget"
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        if failures() >= MAX_CONSECUTIVE_FAILURES:
            raise SearchError(
                f"{failures()} trials in a row failed; stopping. "
                f"See the reasons with: search trials --study {study.study_name}"
            )
        if n_trials is not None and finished + running >= n_trials:
            # Other workers (or a killed one, until its heartbeat goes stale) hold the last
            # trials: wait for them rather than overshoot the total.
            time.sleep(1.0)
            continue
        started: list[int] = []

        def tracked(trial: optuna.Trial) -> float:
            started.append(trial.number)
            if n_trials is not None and _surplus(study, trial.number, n_trials):
                trial.set_user_attr(attrs.FAIL_REASON, SURPLUS)
                raise _Surplus()
            return objective(trial)

        try:
            study.optimize(
                tracked,
                n_trials=1,
                catch=(Exception,),
                callbacks=[on_trial_end, bar],
                gc_after_trial=False,
            )
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
            if not started or not _taken_over(study, started[0]):
                raise
            bar.write(
                f"trial {started[0]}: this worker stalled past the heartbeat grace period and "
                "another worker failed and retried the trial; its result is dropped"
            )
