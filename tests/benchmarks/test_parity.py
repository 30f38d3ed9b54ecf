"""The parity benchmark's table: its gaps must follow from the seeds it ran."""

from tests.benchmarks.parity import CONFIGS, render
from tests.benchmarks.suite import PROBLEMS


def test_every_problem_of_the_suite_is_checked_with_the_starting_recipe():
    assert CONFIGS.keys() == PROBLEMS.keys()
    assert all("starting recipe" in configs for configs in CONFIGS.values())


def test_render_gives_means_spreads_and_the_gap_for_last_and_best_epochs():
    row = {"plain": [[0.5, 0.6], [0.7, 0.8]], "search": [[0.6, 0.6], [0.8, 0.9]]}
    table = render({"problems": {"p": {"c": row}}})
    cells = [cell.strip(" |") for cell in table.splitlines()[2].split(" | ")]
    assert cells[2:5] == ["0.600 ± 0.141", "0.700 ± 0.141", "+0.100"]
    assert cells[5:8] == ["0.700 ± 0.141", "0.750 ± 0.212", "+0.050"]
