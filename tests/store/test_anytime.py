import datetime

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.store import attrs
from search.store.anytime import (
    STALLED_TRIALS,
    describe_progress,
    improvements,
    value_se,
)
from search.store.storage import best_trial

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def _trial(value, start_s, end_s, state=TrialState.COMPLETE):
    trial = create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
    )
    trial.datetime_start = T0 + datetime.timedelta(seconds=start_s)
    trial.datetime_complete = T0 + datetime.timedelta(seconds=end_s)
    return trial


def _study(tmp_path, direction="maximize"):
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/a.db", study_name="a", direction=direction
    )
    t0 = T0.timestamp()
    # Two runs: 0-300 s, then a resume 1000-1300 s (the gap between them is not study time).
    study.set_user_attr("run_time:first", [t0, t0 + 300])
    study.set_user_attr("run_time:second", [t0 + 1000, t0 + 1300])
    return study


def test_improvements_in_study_time_across_a_resume(tmp_path):
    study = _study(tmp_path)
    for value, start, end in [(0.5, 0, 60), (0.4, 60, 120), (0.7, 120, 250), (0.8, 1000, 1100)]:
        study.add_trial(_trial(value, start, end))
    study.add_trial(_trial(None, 1100, 1150, state=TrialState.PRUNED))
    progress = improvements(study)
    assert progress.spent == 600
    assert progress.trials_since == 0  # the pruned trial is not counted
    assert [(s.seconds, s.value, s.trial) for s in progress.steps] == [
        (60, 0.5, 0),
        (250, 0.7, 2),
        (400, 0.8, 3),
    ]
    line = describe_progress(improvements(study))
    assert line.startswith("best 0.8000 at 6m40s of 10m00s (trial 3)")
    assert "0.5 at 1m00s -> 0.7 at 4m10s -> 0.8 at 6m40s" in line
    assert line.endswith("still improving: last gain at 67% of the time spent; more time may help")


def _stalled(tmp_path, trials_after: int):
    """A study whose best came at 1 minute of 10, then `trials_after` worse complete trials."""
    study = _study(tmp_path, direction="minimize")
    for value, start, end in [(0.9, 0, 30), (0.3, 30, 60)]:
        study.add_trial(_trial(value, start, end))
    for i in range(trials_after):
        study.add_trial(_trial(0.5, 1000 + i, 1001 + i))
    study.add_trial(_trial(None, 1290, 1300, state=TrialState.PRUNED))
    return study


def test_a_study_stalled_over_many_trials_says_more_time_is_unlikely_to_help(tmp_path):
    study = _stalled(tmp_path, STALLED_TRIALS)
    line = describe_progress(improvements(study))
    assert line.startswith("best 0.3000 at 1m00s of 10m00s (trial 1); 0.9 at 30s -> 0.3 at 1m00s")
    assert line.endswith(
        f"no improvement in the last 90% ({STALLED_TRIALS} complete trials since): "
        "more time is unlikely to help"
    )


def test_a_study_quiet_for_few_trials_does_not_call_itself_stalled(tmp_path):
    study = _stalled(tmp_path, 3)
    line = describe_progress(improvements(study))
    assert line.endswith(
        "no improvement in the last 90%, but only 3 complete trials since: "
        "too few to tell whether more time would help"
    )
    assert "unlikely" not in line


def test_a_single_best_is_not_repeated_as_its_own_path(tmp_path):
    study = _study(tmp_path)
    study.add_trial(_trial(0.7, 0, 60))
    study.add_trial(_trial(0.6, 60, 120))
    line = describe_progress(improvements(study))
    assert line == (
        "best 0.7000 at 1m00s of 10m00s (trial 0); no improvement in the last 90%, but only "
        "1 complete trial since: too few to tell whether more time would help"
    )


def test_no_complete_trial_no_line(tmp_path):
    study = _study(tmp_path)
    study.add_trial(_trial(None, 0, 10, state=TrialState.PRUNED))
    assert describe_progress(improvements(study)) is None


def test_the_best_trials_standard_error_says_how_finely_the_val_split_can_tell(tmp_path):
    study = _study(tmp_path)
    for value, start, end in [(0.5, 0, 60), (0.7, 120, 250)]:
        study.add_trial(_trial(value, start, end))
    assert value_se(best_trial(study)) is None  # trials from before it was recorded
    best = _trial(0.8, 60, 120)
    best.set_user_attr(attrs.VALUE_SE, 0.0312)
    study.add_trial(best)
    assert value_se(best_trial(study)) == 0.0312
    line = describe_progress(improvements(study), se=value_se(best_trial(study)))
    assert line.startswith("best 0.8000 at 2m00s")
    assert line.endswith(
        "the val split measures it to about ±0.031 (bootstrap standard error): "
        "smaller gains may be luck"
    )
    assert describe_progress(improvements(study)) == line.split("; the val split")[0]
