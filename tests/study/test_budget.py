"""A time budget as the study's stop: across a kill and resume, and across two workers."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import optuna
from optuna.trial import TrialState

from objectives.classify import ClassifyObjective
from search.store.checkpoint import BestKeeper
from search.store.clock import StudyClock, stored_spans, union_length
from search.store.storage import open_storage
from search.study.config import load_study_config
from search.study.create import create_or_resume
from search.study.runner import run_study
from tests.conftest import SMALL_STUDY, run_cli, write_study

BUDGETED = SMALL_STUDY.replace("n_trials: 3", "budget: 20s").replace("epochs: 2", "epochs: 3")


def _study(workdir: Path) -> optuna.Study:
    return optuna.load_study(study_name="b", storage=f"sqlite:///{workdir}/runs/search.db")


def test_budget_counts_across_a_kill_and_a_resume(workdir: Path):
    write_study(workdir, "b", BUDGETED)
    killed = run_cli(
        "run", "--study", "b", "--quiet", cwd=workdir, env={"SEARCH_FAULT": "between-trials:2"}
    )
    assert killed.returncode == -9, killed.stderr
    first = stored_spans(_study(workdir))
    spent_before = union_length(list(first.values()))
    kept = [t.number for t in _study(workdir).trials if t.state == TrialState.COMPLETE]
    assert 0 < spent_before < 20 and len(kept) >= 1

    resumed = run_cli("run", "--study", "b", "--quiet", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert "budget 20s (" in resumed.stdout and "spent by earlier runs" in resumed.stdout
    assert "budget spent" in resumed.stdout
    study = _study(workdir)
    spans = stored_spans(study)
    (second,) = [span for key, span in spans.items() if key not in first]
    assert union_length(list(spans.values())) >= 20
    # The resumed run started with what the killed one spent already counted.
    assert "spent by earlier runs" in resumed.stdout and second[0] >= max(
        e for _, e in first.values()
    )
    complete = [t.number for t in study.trials if t.state == TrialState.COMPLETE]
    assert set(kept) <= set(complete)  # the killed run's finished trials were kept
    assert "best val_macro_f1=" in resumed.stdout
    assert re.match(r"best 0\.\d+ at \d+s of \d+s \(trial \d+\)", resumed.stdout.splitlines()[-1])

    again = run_cli("run", "--study", "b", "--quiet", cwd=workdir)
    assert again.returncode == 0 and "budget spent" in again.stdout
    assert len(_study(workdir).trials) == len(study.trials)  # nothing new was started


def test_two_workers_share_one_budget(workdir: Path):
    write_study(workdir, "b", BUDGETED.replace("budget: 20s", "budget: 15s"))
    out = run_cli("run", "--study", "b", "--workers", "2", "--quiet", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("budget spent") == 2
    spans = list(stored_spans(_study(workdir)).values())
    assert len(spans) == 2
    union = union_length(spans)
    worker_seconds = sum(end - begin for begin, end in spans)
    assert union >= 15
    assert worker_seconds > 1.5 * union  # side by side, counted once, not one after the other


def test_a_trial_running_when_the_budget_runs_out_stops_as_pruned(workdir: Path):
    config = load_study_config(str(write_study(workdir, "b", BUDGETED)))
    storage = open_storage(f"sqlite:///{workdir}/b.db", config.heartbeat)
    study = create_or_resume("b", config, storage)
    keeper = BestKeeper(workdir / "runs" / "b")
    clock = StudyClock(study, budget_s=0.2)
    objective = ClassifyObjective(config, keeper, out_of_time=clock.exhausted)
    with redirect_stdout(io.StringIO()):
        summary = run_study(study, objective, keeper, n_trials=None, timeout=None, clock=clock)
    assert summary.stopped_by == "budget" and summary.finished == 1
    (trial,) = study.trials
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs["pruned_reason"].endswith("the study's budget is spent")


class FakeTime:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _timed_run(study: optuna.Study, tmp_path: Path, budget: float, fake: FakeTime) -> StudyClock:
    """Trials of 7 fake seconds each, until the budget is spent."""

    def objective(trial: optuna.Trial) -> float:
        fake.now += 7
        return 0.5

    clock = StudyClock(study, budget_s=budget, tick_s=3600, now=fake)
    with redirect_stdout(io.StringIO()):
        summary = run_study(
            study,
            objective,
            BestKeeper(tmp_path / "runs"),
            n_trials=None,
            timeout=None,
            clock=clock,
            progress=False,
        )
    assert summary.stopped_by == "budget"
    return clock


def test_a_budget_stops_after_the_trial_that_spends_it_and_a_resume_gets_what_is_left(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/t.db", direction="maximize")
    fake = FakeTime()
    _timed_run(study, tmp_path, 20, fake)
    assert len(study.trials) == 3  # 7, 14, 21 seconds: the third spends it
    assert union_length(list(stored_spans(study).values())) == 21
    fake.now += 3600  # the machine was off for an hour: that time is not the study's
    resumed = _timed_run(study, tmp_path, 30, fake)
    assert resumed.spent_before() == 21
    assert len(study.trials) == 5  # 28, then 35 >= 30
    assert union_length(list(stored_spans(study).values())) == 35
