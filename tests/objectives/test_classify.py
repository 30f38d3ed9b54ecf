"""The objective under a fixed trial: its complete and its pruned paths."""

from __future__ import annotations

import optuna
import pytest

from objectives.classify import ClassifyObjective
from search.store import attrs
from search.store.checkpoint import BestKeeper, read_checkpoint_dir
from search.study.config import load_study_config
from tests.conftest import write_study


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


@pytest.fixture
def objective(workdir):
    config = load_study_config(str(write_study(workdir, "small")))
    return ClassifyObjective(config, BestKeeper(workdir / "runs" / "small"))


PARAMS = {"lr": 5e-3, "loss": "focal", "focal_gamma": 1.5}


def test_complete_path_returns_best_epoch_and_stages_checkpoint(objective, workdir):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(PARAMS)
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.params == PARAMS
    history = trial.user_attrs["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert trial.value == max(h["val_macro_f1"] for h in history)
    assert trial.intermediate_values == {h["epoch"]: h["val_macro_f1"] for h in history}
    assert trial.user_attrs["train_config"]["focal_gamma"] == 1.5
    config, metrics = read_checkpoint_dir(objective.keeper.trial_dir(0))
    assert config["loss"] == "focal" and config["lr"] == 5e-3
    assert metrics["value"] == trial.value and metrics["epoch"] == trial.user_attrs["best_epoch"]
    # How finely the val split measures the value: from the best epoch's confusion matrix.
    assert 0 < trial.user_attrs[attrs.VALUE_SE] < 0.2


def test_pruned_path_records_why_and_stages_nothing(objective):
    study = optuna.create_study(direction="maximize", pruner=AlwaysPrune())
    study.enqueue_trial(PARAMS)
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["epochs_run"] == 1
    assert trial.user_attrs["pruned_reason"].startswith("pruned after epoch 1")
    assert list(trial.intermediate_values) == [1]
    assert not objective.keeper.trial_dir(0).exists()


def test_a_starting_trial_trains_to_the_end_unpruned(objective):
    study = optuna.create_study(direction="maximize", pruner=AlwaysPrune())
    study.enqueue_trial(PARAMS, user_attrs={attrs.START: "the starting configuration"})
    study.enqueue_trial(PARAMS | {"lr": 3e-3})
    study.optimize(objective, n_trials=2)
    starting, other = study.trials
    assert starting.state == optuna.trial.TrialState.COMPLETE
    assert starting.user_attrs["epochs_run"] == 2 and list(starting.intermediate_values) == [1, 2]
    assert other.state == optuna.trial.TrialState.PRUNED


def test_diverging_trial_fails_with_its_reason(objective):
    config = objective.config
    diverging = config.with_overrides(
        train=config.train.replace(lr=1e30, opt="momentum"), space={"loss": config.space["loss"]}
    )
    study = optuna.create_study(direction="maximize")
    study.optimize(ClassifyObjective(diverging, objective.keeper), n_trials=1, catch=(Exception,))
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["fail_reason"].startswith("training loss became")
    assert not objective.keeper.trial_dir(0).exists()


def test_a_spent_budget_stops_the_trial_after_its_epoch(objective):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(PARAMS)
    spent = ClassifyObjective(objective.config, objective.keeper, out_of_time=lambda: True)
    study.optimize(spent, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["epochs_run"] == 1
    assert trial.user_attrs["pruned_reason"] == (
        "stopped after epoch 1: the study's budget is spent"
    )
