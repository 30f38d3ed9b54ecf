"""Run a study to its total of finished trials: resume, progress, and the best checkpoint."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import faults
from search.env import THREADS_ENV, worker_index
from search.errors import SearchError
from search.store.checkpoint import BestKeeper
from search.store.storage import best_trial, trial_value

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_CONSECUTIVE_FAILURES = 5


@dataclass(frozen=True)
class RunSummary:
    finished: int
    best_value: float | None
    best_trial: int | None
    checkpoint: str | None


def describe_trial(trial: FrozenTrial) -> str:
    """One line per finished trial: state, value, epochs run, params, and why it stopped."""
    value = "/".join(f"{v:.4g}" for v in trial.values) if trial.values else "-"
    params = " ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
    epochs = trial.user_attrs.get("epochs_run", 0)
    why = trial.user_attrs.get("fail_reason") if trial.state == TrialState.FAIL else None
    line = f"trial {trial.number:>3} {trial.state.name:<8} value={value} epochs={epochs} {params}"
    return f"{line}  ({why})" if why else line


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class _Progress:
    """A tqdm bar over the study's total that shows the best value so far."""

    def __init__(self, total: int | None, done: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=total, initial=done, unit="trial", disable=not enabled, dynamic_ncols=True
        )
        self.write = tqdm.write if enabled else print

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        worker = worker_index()
        line = describe_trial(trial)
        self.write(f"[w{worker}] {line}" if worker is not None else line)
        # The bar counts the study's finished trials, other workers' included.
        self.bar.n = _counts(study)[0]
        self.bar.refresh()
        best = best_trial(study)
        if best is not None:
            self.bar.set_postfix(best=f"{trial_value(best):.4f}", trial=best.number)

    def close(self) -> None:
        self.bar.close()


def _counts(study: optuna.Study) -> tuple[int, int]:
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in FINISHED for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return finished, running


def _taken_over(study: optuna.Study, number: int) -> bool:
    """Whether trial `number` was finished by someone else while this process still ran it."""
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    return trial.state == TrialState.FAIL and "fail_reason" not in trial.user_attrs


def run_study(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    keeper: BestKeeper,
    *,
    n_trials: int | None,
    timeout: float | None,
    progress: bool = True,
) -> RunSummary:
    """Run trials until the study holds `n_trials` finished ones (a total, not an increment)."""
    threads = os.environ.get(THREADS_ENV)
    if threads:
        import torch

        torch.set_num_threads(int(threads))

    keeper.promote(study)
    deadline = time.monotonic() + timeout if timeout else None
    finished, _ = _counts(study)
    bar = _Progress(n_trials, finished, progress)
    failures = 0

    def on_trial_end(study: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal failures
        keeper.promote(study)
        failures = failures + 1 if trial.state == TrialState.FAIL else 0
        faults.reach("between-trials")

    try:
        while True:
            optuna.storages.fail_stale_trials(study)
            finished, running = _counts(study)
            if n_trials is not None and finished >= n_trials:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if failures >= MAX_CONSECUTIVE_FAILURES:
                raise SearchError(
                    f"{failures} trials in a row failed; stopping. "
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
    finally:
        bar.close()
    keeper.promote(study)
    best = best_trial(study)
    link = keeper.best_link if keeper.current() is not None else None
    return RunSummary(
        finished=_counts(study)[0],
        best_value=trial_value(best) if best else None,
        best_trial=best.number if best else None,
        checkpoint=str(link) if link else None,
    )
