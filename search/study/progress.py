"""What a running study shows: a line per finished trial, a progress bar with the best so far."""

from __future__ import annotations

import threading
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.env import worker_index
from search.store import attrs
from search.store.clock import StudyClock, format_duration
from search.store.storage import best_trial, trial_value
from search.study import live
from search.study.config import StudyConfig

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def finished_and_running(study: optuna.Study) -> tuple[int, int]:
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in FINISHED for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return finished, running


def describe_trial(trial: FrozenTrial) -> str:
    """One line per finished trial: state, value, epochs run, params, and why it stopped."""
    value = "/".join(f"{v:.4g}" for v in trial.values) if trial.values else "-"
    params = " ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
    epochs = trial.user_attrs.get(attrs.EPOCHS_RUN, 0)
    why = trial.user_attrs.get(attrs.FAIL_REASON) if trial.state == TrialState.FAIL else None
    if why is None:
        why = trial.user_attrs.get(attrs.START)
    if why is None and "fixed_params" in trial.system_attrs:  # Optuna's mark of an enqueued trial
        why = "enqueued"
    line = f"trial {trial.number:>3} {trial.state.name:<8} value={value} epochs={epochs} {params}"
    return f"{line}  ({why})" if why else line


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class Progress:
    """A tqdm bar that shows the best value so far: over the study's time when it has a budget
    (with the time left), else over its total of trials; and what the running trials are
    doing (`now`: this process's trial as it trains, other workers' as they last wrote)."""

    def __init__(self, total: int | None, done: int, clock: StudyClock, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.clock = clock
        self.timed = clock.budget_s is not None
        self.bar = tqdm(
            total=round(clock.budget_s) if self.timed else total,
            initial=round(clock.spent()) if self.timed else done,
            unit="s" if self.timed else "trial",
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s{postfix}" if self.timed else None,
            disable=not enabled,
            dynamic_ncols=True,
        )
        self.write = tqdm.write if enabled else print
        self.postfix: dict[str, str] = {}
        self.lock = threading.Lock()  # the clock's thread ticks the bar too
        self._local: dict[str, Any] | None = None
        self._others: list[dict[str, Any]] = []
        self._unwatch = live.watch(self._show_local) if enabled else None
        self.tick()

    def _show_local(self, state: dict[str, Any]) -> None:
        with self.lock:
            self._local = state
            self._set_now()
            if not self.bar.disable:
                self.bar.set_postfix(self.postfix, refresh=True)

    def _set_now(self) -> None:
        running = [s for s in [self._local, *self._others] if s is not None]
        if running:
            self.postfix["now"] = " | ".join(live.describe_live(s) for s in running)
        else:
            self.postfix.pop("now", None)

    def _read_others(self) -> list[dict[str, Any]]:
        """Other workers' running trials, as their last `live` attribute says."""
        mine = self._local["trial"] if self._local else None
        running = self.clock.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return [
            t.user_attrs[attrs.LIVE]
            for t in running
            if attrs.LIVE in t.user_attrs and t.number != mine
        ]

    def tick(self) -> None:
        if self.bar.disable:
            return
        try:
            others = self._read_others()
        except Exception:  # a storage hiccup must not end the run; the next tick reads again
            others = self._others
        with self.lock:
            if self.bar.disable:  # off, or closed while the clock's thread was ticking
                return
            self._others = others
            self._set_now()
            if self.timed:
                self.bar.n = min(self.bar.total, round(self.clock.spent()))
                self.postfix["left"] = format_duration(self.clock.left() or 0)
            self.bar.set_postfix(self.postfix, refresh=True)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        worker = worker_index()
        line = describe_trial(trial)
        self.write(f"[w{worker}] {line}" if worker is not None else line)
        finished = finished_and_running(study)[0]  # other workers' trials included
        best = best_trial(study)
        with self.lock:
            if self._local is not None and self._local["trial"] == trial.number:
                self._local = None
            self._others = [s for s in self._others if s["trial"] != trial.number]
            self._set_now()
            if not self.timed:
                self.bar.n = finished
            else:
                self.postfix["trials"] = str(finished)
            if best is not None:
                self.postfix.update(best=f"{trial_value(best):.4f}", trial=str(best.number))
        self.tick()

    def close(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        with self.lock:
            self.bar.close()


def target_line(config: StudyConfig, clock: StudyClock) -> str:
    """What ends this run: the budget (with what earlier runs spent), the trial cap, or both."""
    parts = []
    if clock.budget_s is not None:
        spent = clock.spent_before()
        parts.append(
            f"budget {format_duration(clock.budget_s)}"
            + (f" ({format_duration(spent)} spent by earlier runs)" if spent else "")
        )
    if config.trial_cap is not None:
        parts.append(f"at most {config.trial_cap} finished trials")
    return " or ".join(parts) or "until stopped"
