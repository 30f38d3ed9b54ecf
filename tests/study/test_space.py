import optuna
import pytest

from search.study.space import ParamSpec, suggest
from search.yaml_dataclasses import FieldError

SPACE = {
    "sched": ParamSpec(type="categorical", choices=["step", "cosine", "plateau"]),
    "decay_epochs": ParamSpec(type="int", low=1, high=3, when={"sched": "step"}),
    "decay_rate": ParamSpec(type="float", low=0.1, high=0.5, when={"sched": ["step", "plateau"]}),
    "loss": ParamSpec(type="categorical", choices=["ce", "focal"]),
    "focal_gamma": ParamSpec(type="float", low=0.5, high=3.0, when={"loss": "focal"}),
    "lr": ParamSpec(type="float", low=1e-4, high=1e-1, log=True),
}


def test_conditional_parameters_appear_only_when_their_condition_holds():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(60):
        trial = study.ask()
        params = suggest(trial, SPACE)
        study.tell(trial, 0.0)
        seen.append(params)
        assert ("decay_epochs" in params) == (params["sched"] == "step")
        assert ("decay_rate" in params) == (params["sched"] in ("step", "plateau"))
        assert ("focal_gamma" in params) == (params["loss"] == "focal")
        assert 1e-4 <= params["lr"] <= 1e-1
    # Both branches of every condition were exercised.
    assert {p["sched"] for p in seen} == {"step", "cosine", "plateau"}
    assert {p["loss"] for p in seen} == {"ce", "focal"}


def test_fixed_trial_takes_given_values():
    params = suggest(
        optuna.trial.FixedTrial(
            {"sched": "cosine", "loss": "focal", "focal_gamma": 2.0, "lr": 0.01}
        ),
        SPACE,
    )
    assert params == {"sched": "cosine", "loss": "focal", "focal_gamma": 2.0, "lr": 0.01}


def test_log_ranges_sample_log_uniformly():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    values = []
    for _ in range(400):
        trial = study.ask()
        values.append(suggest(trial, {"lr": SPACE["lr"]})["lr"])
        study.tell(trial, 0.0)
    below_1e3 = sum(v < 1e-3 for v in values) / len(values)
    # Log-uniform over [1e-4, 1e-1] puts a third of the mass below 1e-3; uniform would put 1%.
    assert 0.25 < below_1e3 < 0.42


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(type="categorical", choices=[]), "choices"),
        (dict(type="categorical"), "choices"),
        (dict(type="float", low=1.0, high=0.5), "low"),
        (dict(type="float", low=0.0, high=1.0, log=True), "low"),
        (dict(type="int", low=1.5, high=3), "low"),
        (dict(type="float", low=0.1), "high"),
        (dict(type="categorical", choices=[1, 2], low=0), "low"),
    ],
)
def test_bad_specs_name_the_field(kwargs, field):
    with pytest.raises(FieldError) as err:
        ParamSpec(**kwargs)
    assert err.value.field == field


def test_baseline_params_take_train_values_the_space_can_hold():
    from search.study.space import baseline_params

    space = {
        "lr": ParamSpec(type="float", low=1e-4, high=1e-2, log=True),
        "batch_size": ParamSpec(type="categorical", choices=[32, 64]),
        "sched": ParamSpec(type="categorical", choices=["step", "cosine"]),
        "decay_epochs": ParamSpec(type="int", low=1, high=3, when={"sched": "step"}),
        "epochs": ParamSpec(type="int", low=2, high=4),
        "loss": ParamSpec(type="categorical", choices=["ce", "focal"]),
        "focal_gamma": ParamSpec(type="float", low=1.0, high=3.0, when={"loss": "focal"}),
    }
    fixed = {
        "lr": 1e-3,
        "batch_size": 64,
        "sched": "none",
        "decay_epochs": 2,
        "epochs": 9,
        "loss": "focal",
        "focal_gamma": 2.0,
    }
    # sched "none" is not a choice and epochs 9 is out of range: left to the sampler; the
    # condition on sched then cannot hold, so decay_epochs is left out too.
    assert baseline_params(space, fixed) == {
        "lr": 1e-3,
        "batch_size": 64,
        "loss": "focal",
        "focal_gamma": 2.0,
    }


def test_the_first_trial_takes_train_s_values_and_the_recipe_for_the_rest():
    from search.study.space import STARTING_RECIPE, first_trial_params
    from search.trainer.config import TrainConfig

    space = {
        "lr": ParamSpec(type="float", low=1e-4, high=1e-2, log=True),
        "opt": ParamSpec(type="categorical", choices=["momentum", "adamw"]),
        "sched": ParamSpec(type="categorical", choices=["step", "cosine"]),
        "min_lr": ParamSpec(type="float", low=1e-7, high=1e-5, when={"sched": "cosine"}),
        "loss": ParamSpec(type="categorical", choices=["focal", "label_smoothing"]),
        "batch_size": ParamSpec(type="categorical", choices=[32, 128]),
    }
    # The user set opt; lr, sched, min_lr and batch_size are the trainer's defaults: the
    # recipe's. The recipe's loss (ce) is not a choice: the sampler's.
    assert first_trial_params(space, TrainConfig(opt="momentum")) == {
        "lr": STARTING_RECIPE["lr"],
        "opt": "momentum",
        "sched": "cosine",
        "min_lr": STARTING_RECIPE["min_lr"],
        "batch_size": STARTING_RECIPE["batch_size"],
    }
    # A batch size the user set wins over the recipe's, and one the space cannot hold is left out.
    assert first_trial_params(space, TrainConfig(batch_size=128))["batch_size"] == 128
    assert "batch_size" not in first_trial_params(space, TrainConfig(batch_size=48))
    assert first_trial_params(space, TrainConfig(lr=5e-3, sched="step"))["lr"] == 5e-3
    assert "sched" not in first_trial_params(
        {"sched": ParamSpec(type="categorical", choices=["step"])}, TrainConfig()
    )


def test_the_first_trial_fine_tunes_weights_at_a_lower_lr():
    from search.study.space import FINE_TUNING_LR, STARTING_RECIPE, first_trial_params
    from search.trainer.config import TrainConfig

    space = {"lr": ParamSpec(type="float", low=1e-5, high=1e-2, log=True)}
    assert first_trial_params(space, TrainConfig(pretrained=True)) == {"lr": FINE_TUNING_LR}
    assert FINE_TUNING_LR < STARTING_RECIPE["lr"]


def test_a_value_the_file_spells_out_wins_even_when_it_is_the_default():
    from search.study.config import StudyConfig
    from search.study.space import STARTING_RECIPE, first_trial_params
    from search.trainer.config import TrainConfig
    from search.yaml_dataclasses import from_mapping

    searched = {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}
    space = {"lr": ParamSpec(type="float", low=1e-4, high=1e-2, log=True)}
    default_lr = TrainConfig().lr
    assert default_lr != STARTING_RECIPE["lr"]
    written = from_mapping(
        StudyConfig, {"train": {"lr": default_lr}, "space": searched}, source="s.yaml"
    ).train
    left_out = from_mapping(StudyConfig, {"train": {}, "space": searched}, source="s.yaml").train
    assert first_trial_params(space, written) == {"lr": default_lr}
    assert first_trial_params(space, left_out) == {"lr": STARTING_RECIPE["lr"]}
    # `search run --seed` replaces the seed; the record of what the file gave survives it.
    assert first_trial_params(space, written.replace(seed=3)) == {"lr": default_lr}


def test_the_class_weighted_start_follows_train_and_the_space():
    from search.study.space import CLASS_WEIGHTED, FINE_TUNING_LR, STARTING_RECIPE, starting_params
    from search.trainer.config import TrainConfig

    space = {
        "lr": ParamSpec(type="float", low=1e-4, high=1e-2, log=True),
        "loss": ParamSpec(type="categorical", choices=["ce", "weighted_ce"]),
    }
    assert starting_params(space, TrainConfig()) == [
        {"lr": STARTING_RECIPE["lr"], "loss": "ce"},
        {"lr": CLASS_WEIGHTED["lr"], "loss": "weighted_ce"},
    ]
    # The user's lr holds in both; from weights, both fine-tune.
    assert [p["lr"] for p in starting_params(space, TrainConfig(lr=2e-3))] == [2e-3, 2e-3]
    assert [p["lr"] for p in starting_params(space, TrainConfig(pretrained=True))] == [
        FINE_TUNING_LR,
        FINE_TUNING_LR,
    ]
    # A loss the user chose, or a space without weighted_ce: trial 0 alone.
    assert starting_params(space, TrainConfig(loss="focal")) == [{"lr": STARTING_RECIPE["lr"]}]
    only_ce = {**space, "loss": ParamSpec(type="categorical", choices=["ce", "focal"])}
    assert len(starting_params(only_ce, TrainConfig())) == 1
