import time

import optuna
import pytest

from search.store.clock import (
    StudyClock,
    format_duration,
    parse_duration,
    stored_spans,
    union_length,
)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90", 90),
        (90, 90),
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1.5h", 5400),
        (" 2h 5m ", 7500),
        ("1d", 86400),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "2 weeks", "h", "-5m", "0", "0s", "", True, "5m30"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (4.4, 59.6, 250, 3725)] == ["4s", "1m00s", "4m10s", "1h02m"]


def test_union_counts_overlaps_once_and_gaps_not_at_all():
    spans = [(0, 10), (5, 12), (20, 25), (21, 22)]
    assert union_length(spans) == 17
    assert union_length(spans, until=8) == 8
    assert union_length(spans, until=22) == 14
    assert union_length([]) == 0


def _study(tmp_path):
    return optuna.create_study(storage=f"sqlite:///{tmp_path}/c.db", study_name="c")


def test_clock_writes_its_span_to_storage_and_extends_it(tmp_path):
    study = _study(tmp_path)
    with StudyClock(study, tick_s=0.1) as clock:
        time.sleep(0.35)
        ((start, end),) = stored_spans(
            optuna.load_study(study_name="c", storage=study._storage)
        ).values()
        assert start == clock.start and end - start >= 0.2  # extended by the ticks
    ((start, end),) = stored_spans(study).values()
    assert end - start >= 0.35


class FakeTime:
    """Unix time that moves only when a test says so."""

    def __init__(self, now: float = 5000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_resumes_add_up_and_workers_side_by_side_count_once(tmp_path):
    study = _study(tmp_path)
    study.set_user_attr("run_time:earlier", [1000.0, 1060.0])  # an earlier run: one minute
    fake = FakeTime()
    a = StudyClock(study, budget_s=100, tick_s=60, now=fake)
    b = StudyClock(study, budget_s=100, tick_s=60, now=fake)
    with a, b:
        assert a.spent_before() == 60
        fake.advance(0.3)
        a.touch()
        assert a.spent() == pytest.approx(60.3) == b.spent()  # overlapping runs count once
        assert a.left() == pytest.approx(100 - 60.3) and not a.exhausted()
    assert len(stored_spans(study)) == 3


def test_exhausted_once_the_budget_is_spent(tmp_path):
    study = _study(tmp_path)
    study.set_user_attr("run_time:earlier", [1000.0, 1009.9])
    fake = FakeTime()
    with StudyClock(study, budget_s=10, tick_s=60, now=fake) as clock:
        assert not clock.exhausted()
        fake.advance(0.2)
        assert clock.exhausted() and clock.left() == 0
    with StudyClock(study, budget_s=None, now=fake) as unlimited:
        fake.advance(1e6)
        assert not unlimited.exhausted() and unlimited.left() is None
