"""Creating a study: trial 0 is train:'s own config completed by the starting recipe, trial 1
the same class-weighted, once."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.store import attrs
from search.store.storage import open_storage
from search.study.config import load_study_config
from search.study.create import create_or_resume
from search.study.space import STARTS
from tests.conftest import SMALL_STUDY, write_study

WITH_BASELINE = "baseline_first: true\n" + SMALL_STUDY.replace(
    "epochs: 2", "epochs: 2\n  lr: 0.002\n  loss: focal"
)


def test_the_baseline_is_enqueued_once_as_trial_0(workdir):
    config = load_study_config(str(write_study(workdir, "c", WITH_BASELINE)))
    storage = open_storage(f"sqlite:///{workdir}/c.db", config.heartbeat)
    study = create_or_resume("c", config, storage, seed=0)
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    # focal_gamma is searched under loss: focal, and train: keeps its default 2.0, in range.
    assert waiting.number == 0
    assert waiting.system_attrs["fixed_params"] == {
        "lr": 0.002,
        "loss": "focal",
        "focal_gamma": 2.0,
    }
    study.optimize(lambda t: t.suggest_float("lr", 1e-3, 1e-2, log=True), n_trials=1)
    assert study.trials[0].params == {"lr": 0.002}

    again = create_or_resume("c", config, storage, seed=0)  # a resume or a second worker
    assert not again.get_trials(states=(TrialState.WAITING,))


def test_by_default_trial_0_is_the_starting_recipe(workdir):
    config = load_study_config(str(write_study(workdir, "c", SMALL_STUDY)))
    assert config.baseline_first is True
    storage = open_storage(f"sqlite:///{workdir}/c.db", config.heartbeat)
    study = create_or_resume("c", config, storage, seed=0)
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    # train: sets neither lr nor loss: the recipe's, both inside this space.
    assert waiting.system_attrs["fixed_params"] == {"lr": 5e-3, "loss": "ce"}


def test_trial_1_is_the_recipe_class_weighted_where_the_space_can_hold_it(workdir):
    text = SMALL_STUDY.replace("choices: [ce, focal]", "choices: [ce, focal, weighted_ce]")
    config = load_study_config(str(write_study(workdir, "c", text)))
    storage = open_storage(f"sqlite:///{workdir}/c.db", config.heartbeat)
    study = create_or_resume("c", config, storage, seed=0)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [
        {"lr": 5e-3, "loss": "ce"},
        {"lr": 3e-3, "loss": "weighted_ce"},
    ]
    assert [t.user_attrs[attrs.START] for t in waiting] == list(STARTS)
    study.optimize(lambda t: t.suggest_float("lr", 1e-3, 1e-2, log=True), n_trials=2)
    assert [t.params for t in study.trials] == [{"lr": 5e-3}, {"lr": 3e-3}]
    again = create_or_resume("c", config, storage, seed=0)  # a resume or a second worker
    assert not again.get_trials(states=(TrialState.WAITING,))


def test_baseline_first_false_leaves_trial_0_to_the_sampler(workdir):
    text = "baseline_first: false\n" + SMALL_STUDY
    config = load_study_config(str(write_study(workdir, "c", text)))
    storage = open_storage(f"sqlite:///{workdir}/c.db", config.heartbeat)
    study = create_or_resume("c", config, storage, seed=0)
    assert study.get_trials() == []
    assert isinstance(study, optuna.Study)
