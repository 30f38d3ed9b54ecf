"""A time budget as the study's stop: across a kill and resume, and across two workers."""

from __future__ import annotations

import io
import re
import time
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
SLACK_S = 12  # past the budget: the epoch that was running, and a worker's last tick


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
    total = union_length(list(spans.values()))
    assert 20 <= total <= 20 + SLACK_S
    # The resumed run used what the killed one left, not a fresh 20 s.
    assert second[1] - second[0] <= 20 - spent_before + SLACK_S
    complete = [t.number for t in study.trials if t.state == TrialState.COMPLETE]
    assert set(kept) <= set(complete)  # the killed run's finished trials were kept
    assert "best val_macro_f1=" in resumed.stdout
    assert re.match(r"best 0\.\d+ at \d+s of \d+s \(trial \d+\)", resumed.stdout.splitlines()[-1])

    again = run_cli("run", "--study", "b", "--quiet", cwd=workdir)
    assert again.returncode == 0 and "budget spent" in again.stdout
    assert len(_study(workdir).trials) == len(study.trials)  # nothing new was started


def test_two_workers_share_one_budget(workdir: Path):
    write_study(workdir, "b", BUDGETED.replace("budget: 20s", "budget: 15s"))
    start = time.monotonic()
    out = run_cli("run", "--study", "b", "--workers", "2", "--quiet", cwd=workdir)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("budget spent") == 2
    spans = list(stored_spans(_study(workdir)).values())
    assert len(spans) == 2
    union = union_length(spans)
    worker_seconds = sum(end - begin for begin, end in spans)
    assert 15 <= union <= 15 + SLACK_S
    assert worker_seconds > 1.5 * union  # side by side, counted once
    assert elapsed < 2 * 15 + 30  # not one budget after the other


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
