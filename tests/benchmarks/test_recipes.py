"""The recipe benchmark's bookkeeping: it must check the recipe search ships, on other data."""

from search.study.space import STARTING_RECIPE
from tests.benchmarks.recipes import CHOSEN, RECIPES, VARIANTS, render
from tests.benchmarks.suite import PROBLEMS


def test_the_chosen_recipe_is_the_one_trial_0_uses():
    assert RECIPES[CHOSEN] == STARTING_RECIPE


def test_variants_are_the_suite_s_problems_on_another_split():
    assert VARIANTS.keys() == PROBLEMS.keys()
    for name, variant in VARIANTS.items():
        assert variant.train["data"]["seed"] != PROBLEMS[name].train["data"].get("seed", 0)
        assert {**variant.train, "data": None} == {**PROBLEMS[name].train, "data": None}


def test_render_shows_medians_and_a_dash_for_a_recipe_not_run():
    row = {"val": [0.5, 0.9, 0.7], "test": [0.6, 0.4, 0.8], "seconds_per_run": 3.0}
    table = render({"on": "suite", "problems": {"p": {CHOSEN: row}}})
    assert f"| {CHOSEN} | 0.700, 0.600 |" in table
    assert f"| {next(iter(RECIPES))} | - |" in table
