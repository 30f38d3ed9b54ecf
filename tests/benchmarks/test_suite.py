"""The suite's arithmetic: what its table claims must follow from the runs it summarises."""

from tests.benchmarks.suite import Run, _reusable, render, summarise


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
