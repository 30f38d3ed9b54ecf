import json

from tests.benchmarks.stalls import main, quiet_moments, render


def _results(points, budget=100):
    return {
        "problems": {
            "shapes-hard": {
                "budget_s": budget,
                "runs": {
                    "search default": [{"points": points, "value_se": 0.02}],
                    "plain optuna": [{"points": [[1, 0.1]]}],
                },
            }
        }
    }


def test_a_quiet_moment_counts_trials_since_the_gain_and_what_came_after():
    # Best 0.5 at 5 s, then worse trials: 4 by 20 s, 12 by 40 s, 16 by 60 s; a gain of 0.1 at
    # 70 s comes after all three looks.
    points = [[5, 0.5], [8, 0.3], [12, 0.4], [15, 0.2]]
    points += [[20 + i * 2.5, 0.1] for i in range(13)] + [[70, 0.6]]
    moments = quiet_moments(_results(points))
    assert [(q.at_s, q.trials_since, round(q.gain_after, 3)) for q in moments] == [
        (20, 4, 0.1),
        (40, 12, 0.1),
        (60, 16, 0.1),
    ]
    assert all(q.gained for q in moments)  # 0.1 is beyond the recorded SE of 0.02
    assert all(q.side == "search default" for q in moments)  # the plain script is not judged


def test_a_study_still_gaining_is_not_quiet():
    points = [[5, 0.1], [15, 0.2], [35, 0.3], [55, 0.4]]
    assert quiet_moments(_results(points)) == []


def test_the_table_splits_at_the_stalled_trials(tmp_path, capsys):
    points = [[5, 0.5]] + [[6 + i, 0.1] for i in range(20)] + [[90, 0.51]]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_results(points)))
    main([str(path)])
    table = capsys.readouterr().out
    # All three looks are 20 trials after the gain, and the later +0.01 is inside the SE.
    assert "| fewer than 15 | 0 | 0 | +0.000 |" in table
    assert "| 15 or more | 3 | 0 | +0.010 |" in table
    assert render([]).count("\n") == 3
