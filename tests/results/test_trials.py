"""`search trials`' frame on studies caught mid-run."""

from __future__ import annotations

import optuna


def test_search_trials_reads_a_study_whose_only_trial_is_running():
    from search.results.trials import render, trials_frame

    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    study.ask()
    frame = trials_frame(study)
    assert list(frame["state"]) == ["RUNNING"] and frame["duration_s"].isna().all()
    assert "RUNNING" in render(frame, "table")
