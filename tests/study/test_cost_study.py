"""A study that minimises training seconds beside its metric: Optuna's multi-objective study."""

from __future__ import annotations

import json

import optuna
import pytest
import yaml

from search.cli import main
from search.store.checkpoint import BestKeeper
from tests.conftest import SMALL_STUDY, write_study

COST = yaml.safe_load(SMALL_STUDY) | {
    "n_trials": 4,
    "cost_objective": "train_seconds",
    "pruner": {"name": "none"},
    "space": {
        "lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
        "batch_size": {"type": "categorical", "choices": [32, 256]},
    },
}


def _expected_pick(study: optuna.Study, budget: float | None) -> int:
    front = [t for t in study.best_trials if budget is None or t.values[1] <= budget]
    return max(front, key=lambda t: t.values[0]).number


def test_cost_study_keeps_the_front_and_picks_by_the_rule(workdir, capsys):
    write_study(workdir, "cost", yaml.safe_dump(COST))
    assert main(["run", "--study", "cost", "--quiet"]) == 0
    study = optuna.load_study(study_name="cost", storage="sqlite:///runs/search.db")
    assert len(study.directions) == 2 and study.metric_names == ["val_macro_f1", "train_seconds"]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all(t.values[1] == t.user_attrs["cost"]["train_seconds"] for t in study.trials)
    capsys.readouterr()
    assert main(["best", "--study", "cost", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["trial"] == _expected_pick(study, None)
    assert BestKeeper(workdir / "runs" / "cost").current() == record["trial"]
    # A budget between the cheapest and the dearest front trial: the rule picks within it,
    # and the keeper follows as soon as the study runs again.
    seconds = sorted(t.values[1] for t in study.best_trials)
    budget = (seconds[0] + seconds[-1]) / 2 if len(seconds) > 1 else seconds[0]
    write_study(workdir, "cost", yaml.safe_dump(COST | {"pick": {"max_train_seconds": budget}}))
    assert main(["run", "--study", "cost", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["best", "--study", "cost", "--json"]) == 0
    picked = json.loads(capsys.readouterr().out)
    assert picked["trial"] == _expected_pick(study, budget) and picked["values"][1] <= budget
    assert BestKeeper(workdir / "runs" / "cost").current() == picked["trial"]
    assert main(["export", "--study", "cost", "-o", "best.yaml"]) == 0
    assert main(["report", "--study", "cost"]) == 0
    assert (workdir / "runs" / "cost" / "report" / "pareto.png").is_file()


def test_a_cost_study_that_would_prune_is_a_config_error(workdir, capsys):
    write_study(workdir, "cost", yaml.safe_dump(COST | {"pruner": {"name": "median"}}))
    assert main(["run", "--study", "cost"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pruner.name" in err[0] and "set pruner: {name: none}" in err[0]
    assert not (workdir / "runs").exists()


def test_pick_needs_a_cost_objective(workdir, capsys):
    plain = {k: v for k, v in COST.items() if k != "cost_objective"}
    write_study(workdir, "plain", yaml.safe_dump(plain | {"pick": {"max_train_seconds": 5}}))
    assert main(["run", "--study", "plain"]) == 2
    assert "pick: applies to studies with a cost_objective" in capsys.readouterr().err


@pytest.mark.parametrize("budget", [0.0001])
def test_a_budget_nothing_meets_leaves_no_best(workdir, capsys, budget):
    write_study(
        workdir,
        "cost",
        yaml.safe_dump(COST | {"n_trials": 1, "pick": {"max_train_seconds": budget}}),
    )
    assert main(["run", "--study", "cost", "--quiet"]) == 0
    assert "none meets the study's pick rule" in capsys.readouterr().out
    assert main(["best", "--study", "cost"]) == 2
    assert "no trial meets its pick rule (max_train_seconds=0.0001)" in capsys.readouterr().err
