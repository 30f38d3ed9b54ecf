"""In-trial progress: the trainer's batches shown by this process and written for the others."""

from __future__ import annotations

import io

import optuna
import pytest

from search.store import attrs
from search.study import live
from search.study.live import LiveReporter, describe_live
from search.study.progress import Progress
from search.trainer.steps import BatchProgress


class FakeTrial:
    number = 7

    def __init__(self) -> None:
        self.user_attrs: dict = {}

    def set_user_attr(self, key, value) -> None:
        self.user_attrs[key] = value


class FakeFit:
    metric = "val_macro_f1"

    def __init__(self) -> None:
        self.history: list[dict] = []


def test_the_reporter_shows_twice_a_second_and_writes_every_few_seconds():
    now = [100.0]
    trial, fit, shown = FakeTrial(), FakeFit(), []
    unwatch = live.watch(shown.append)
    try:
        report = LiveReporter(trial, fit, clock=lambda: now[0])
        for batch in range(1, 11):  # ten batches an eighth of a second apart
            report(BatchProgress(1, 3, batch, 10, 250.0))
            now[0] += 0.125
        assert [s["batch"] for s in shown] == [1, 5, 9, 10]  # and the epoch's last, always
        assert attrs.LIVE not in trial.user_attrs  # a trial shorter than WRITE_S writes nothing
        fit.history.append({"val_macro_f1": 0.8123})
        now[0] += live.WRITE_S
        report(BatchProgress(2, 3, 4, 10, 300.0))
    finally:
        unwatch()
    assert trial.user_attrs[attrs.LIVE] == shown[-1] == {
        "trial": 7, "epoch": 2, "epochs": 3, "batch": 4, "batches": 10,
        "images_per_second": 300.0, "value": 0.8123,
    }
    assert describe_live(shown[-1]) == "t7 e2/3 b4/10 300 img/s val 0.8123"
    assert describe_live(shown[0]) == "t7 e1/3 b1/10 250 img/s"


class FakeClock:
    budget_s = None

    def __init__(self, study) -> None:
        self.study = study


def test_the_progress_bar_shows_this_trial_and_the_other_workers(monkeypatch):
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    other = study.ask()  # another worker's trial, as its last write left it
    other.set_user_attr(attrs.LIVE, {"trial": other.number, "epoch": 1, "epochs": 5,
                                     "batch": 3, "batches": 9, "images_per_second": 40.0,
                                     "value": None})
    study.ask()  # running, but has not written yet
    out = io.StringIO()
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", _to(out))
    bar = Progress(3, 0, FakeClock(study), enabled=True)
    try:
        mine = FakeTrial()
        mine.number = 2
        LiveReporter(mine, FakeFit())(BatchProgress(4, 6, 2, 8, 99.6))
        assert bar.postfix["now"] == "t2 e4/6 b2/8 100 img/s | t0 e1/5 b3/9 40 img/s"
        # A finished trial leaves the line.
        study.tell(other, 0.5)
        bar(study, study.trials[0])
        assert bar.postfix["now"] == "t2 e4/6 b2/8 100 img/s"
    finally:
        bar.close()
    assert "t2 e4/6 b2/8" in out.getvalue()
    assert not live._listeners  # closed, it stops watching


def _to(stream):
    import tqdm

    class Bar(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, file=stream, **kwargs)

    return Bar


@pytest.mark.parametrize("quiet", [False, True])
def test_search_run_shows_the_running_trials_epoch_and_batch(workdir, capsys, quiet):
    from search.cli import main
    from tests.conftest import write_study

    write_study(workdir, "live", """
objective: classify
n_trials: 1
train: {model: test_resnet, data: {name: mnist-longtail}, epochs: 2, batch_size: 64}
space: {lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}}
""")
    assert main(["run", "--study", "live", *(["--quiet"] if quiet else [])]) == 0
    err = capsys.readouterr().err
    # The last batch of each epoch is always shown; --quiet shows none.
    assert ("e2/2 b" in err and "img/s" in err) is not quiet

