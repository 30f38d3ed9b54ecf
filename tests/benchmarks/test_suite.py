"""The suite's arithmetic: what its table claims must follow from the runs it summarises."""

import datetime
import json

import optuna
import pytest

from search.store import attrs
from tests.benchmarks.suite import (
    Run,
    _finished,
    _reusable,
    main,
    render,
    render_verdicts,
    summarise,
    verdicts,
)


def test_time_ratio_is_measured_against_the_plain_scripts_final_best():
    plain = [Run(points=[(10.0, 0.5), (40.0, 0.8)]), Run(points=[(20.0, 0.7)])]
    fast = [Run(points=[(4.0, 0.85)]), Run(points=[(2.0, 0.6), (5.0, 0.7)])]
    never = [Run(points=[(30.0, 0.79)]), Run(points=[])]
    summary = summarise({"plain optuna": plain, "fast": fast, "never": never}, budget=60)

    assert summary["plain_final_best"] == [0.8, 0.7]
    assert summary["plain_time_to_final_best_s"] == [40.0, 20.0]
    assert summary["fast"]["time_to_plain_best_s"] == [4.0, 5.0]
    assert summary["fast"]["time_ratio_vs_plain"] == [0.1, 0.25]
    # Never reaching it counts as the whole budget, not as missing.
    assert summary["never"]["time_to_plain_best_s"] == [None, None]
    assert summary["never"]["time_ratio_vs_plain"] == [1.5, 3.0]
    assert summary["fast"]["best_at_25%"] == [0.85, 0.7]
    assert summary["plain optuna"]["best_at_25%"] == [0.5, None]


def test_a_trial_finished_after_the_budget_does_not_count():
    late = Run(points=[(5.0, 0.4), (61.0, 0.9)])
    assert late.best_at(60) == 0.4
    assert summarise({"plain optuna": [late]}, budget=60)["plain_final_best"] == [0.4]


def test_reuse_takes_only_matching_budgets_and_seeds_and_not_the_sides_run_now():
    earlier = {
        "seeds": [0, 1],
        "problems": {
            "p": {
                "budget_s": 60,
                "runs": {
                    "plain optuna": [{"points": [[3.0, 0.5]], "test_f1": 0.4, "trials": 2}],
                    "search default": [{"points": [], "test_f1": None, "trials": 1}],
                },
            }
        },
    }
    reused = _reusable(earlier, "p", 60, (0, 1), skip={"search default": {}})
    assert list(reused) == ["plain optuna"]
    assert reused["plain optuna"][0].best_at(60) == 0.5
    assert reused["plain optuna"][0].test_f1 == 0.4
    assert _reusable(earlier, "p", 300, (0, 1), skip={}) == {}
    assert _reusable(earlier, "p", 60, (0, 1, 2), skip={}) == {}
    assert _reusable(earlier, "other", 60, (0, 1), skip={}) == {}
    assert _reusable(None, "p", 60, (0, 1), skip={}) == {}


def test_the_table_counts_a_seed_that_never_reached_the_plain_best_as_the_whole_budget():
    plain = [Run(points=[(40.0, 0.8)]), Run(points=[(20.0, 0.7)]), Run(points=[(30.0, 0.9)])]
    once = [Run(points=[(5.0, 0.81)]), Run(points=[(50.0, 0.6)]), Run(points=[])]
    twice = [Run(points=[(5.0, 0.81)]), Run(points=[(10.0, 0.7)]), Run(points=[])]
    runs = {"plain optuna": plain, "once": once, "twice": twice}
    results = {"problems": {"p": {"budget_s": 60, "summary": summarise(runs, budget=60)}}}
    rows = {line.split(" | ")[1]: line for line in render(results).splitlines()[2:]}
    # Reached on one seed of three: not the time of that one seed (5 s).
    assert "| never (2.00) |" in rows["once"]
    assert "| 10.0 (0.50) |" in rows["twice"]
    assert "| 30.0 (1.00) |" in rows["plain optuna"]


def test_verdicts_apply_the_done_when_to_the_medians_and_weigh_margins_against_the_val_se():
    plain = [Run(points=[(20.0, 0.80)]), Run(points=[(30.0, 0.70)]), Run(points=[(25.0, 0.75)])]
    # The first trial beats the plain script's final best on seeds 0 and 2 only.
    default = [
        Run(points=[(3.0, 0.81), (9.0, 0.84)], value_se=0.02),
        Run(points=[(3.0, 0.60), (9.0, 0.72)], value_se=0.03),
        Run(points=[(3.0, 0.76)], value_se=0.01),
    ]
    none = [Run(points=[(4.0, 0.85)]), Run(points=[(5.0, 0.73)]), Run(points=[(5.0, 0.77)])]
    runs = {"plain optuna": plain, "search default": default, "search pruner none": none}
    v = verdicts(summarise(runs, budget=60), budget=60)

    assert v["reaches"]["seeds"] == [3.0 / 20, 9.0 / 30, 3.0 / 25]
    assert v["reaches"]["budget_share"] == 3.0 / 60  # the median of 3, 9 and 3 s
    assert v["reaches"]["ratio"] == 3.0 / 20 and v["reaches"]["holds"]
    assert v["reaches"]["first_trial_reaches"] == [True, False, True]
    assert v["ends"]["holds"] and v["ends"]["values"] == (0.76, 0.75)
    # 0.76 against 0.77: fails by the letter, by less than the median val SE (0.02).
    assert not v["pruner"]["holds"]
    assert v["pruner"]["margin"] == pytest.approx(-0.01) and v["pruner"]["se"] == 0.02
    assert v["pruner"]["inside_se"]

    results = {
        "seeds": [0, 1, 2],
        "problems": {"p": {"budget_s": 60, "summary": summarise(runs, budget=60)}},
    }
    text = render_verdicts(results)
    assert (
        "| p | yes: 0.15 (seeds 0.15, 0.30, 0.12); its first trial alone reaches it on 2 of 3 "
        "seeds; at 0.05 of the budget |" in text
    )
    assert "**no**: 0.7600 vs 0.7700 (-0.0100; inside the val SE ±0.020)" in text
    # By the proposed reading all three hold: 3 s is 0.05 of the budget, and 0.01 below
    # `pruner: none` is inside the val SE.
    assert v["reaches"]["holds_proposed"] and v["pruner"]["holds_proposed"]
    assert (
        "2 of 3 tests hold by the letter (medians of 3 seeds); 3 of 3 by the reading proposed"
        in text
    )


def test_a_ratio_above_the_bar_fails_and_a_missing_side_is_not_judged():
    plain = [Run(points=[(10.0, 0.5)])]
    slow = [Run(points=[(2.5, 0.6)])]
    v = verdicts(summarise({"plain optuna": plain, "search default": slow}, budget=60), 60)
    assert v["reaches"]["ratio"] == 0.25 and not v["reaches"]["holds"]
    assert v["reaches"]["budget_share"] == 2.5 / 60 and v["reaches"]["holds_proposed"]
    assert "pruner" not in v
    assert v["ends"]["se"] is None and not v["ends"]["inside_se"]


def test_a_default_that_never_reaches_the_plain_best_fails_both_readings():
    plain = [Run(points=[(10.0, 0.5)])]
    never = [Run(points=[(2.5, 0.4)], value_se=0.05)]
    v = verdicts(summarise({"plain optuna": plain, "search default": never}, budget=60), 60)
    assert v["reaches"]["ratio"] == 6.0 and v["reaches"]["budget_share"] == 1.0
    assert not v["reaches"]["holds"] and not v["reaches"]["holds_proposed"]
    # 0.1 below the plain script, twice the val SE: fails by either reading.
    assert not v["ends"]["holds"] and not v["ends"]["holds_proposed"]


def test_a_side_records_the_val_se_of_its_best_trial_within_the_budget():
    study = optuna.create_study(direction="maximize")
    wall = datetime.datetime.now()
    for value, se, seconds in ((0.7, 0.03, 5), (0.9, 0.01, 30), (0.95, 0.02, 90)):
        trial = optuna.trial.create_trial(
            value=value,
            user_attrs={attrs.VALUE_SE: se},
            params={},
            distributions={},
        )
        trial.datetime_start = wall
        trial.datetime_complete = wall + datetime.timedelta(seconds=seconds)
        study.add_trial(trial)
    run = _finished(study, wall, budget=60)
    assert run.points == [(5.0, 0.7), (30.0, 0.9)]
    assert run.value_se == 0.01  # 0.95 finished after the budget


def test_show_prints_the_tables_of_a_saved_make_bench_json_without_running(tmp_path, capsys):
    plain = [Run(points=[(20.0, 0.80)])]
    default = [Run(points=[(3.0, 0.81)], value_se=0.02)]
    summary = summarise({"plain optuna": plain, "search default": default}, budget=60)
    saved = {
        "sample_efficiency": {"seeds": [0], "problems": {"p": {"budget_s": 60, "summary": summary}}}
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(saved))

    main(["--show", str(path), "-o", str(tmp_path / "unwritten.json")])

    out = capsys.readouterr().out
    assert "| p (60 s) | search default | 0.810 / 0.810 / 0.810 |" in out
    assert "| p | yes: 0.15 (seeds 0.15)" in out
    assert "2 of 2 tests hold by the letter (medians of 1 seeds); 2 of 2 by the" in out
    assert not (tmp_path / "unwritten.json").exists()


def test_show_says_in_one_line_when_the_file_is_not_a_suite_json(tmp_path, capsys):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"machine": {}}))
    with pytest.raises(SystemExit) as stopped:
        main(["--show", str(path)])
    assert stopped.value.code == 2
    assert f"--show {path}: not a suite or make bench JSON" in capsys.readouterr().err
