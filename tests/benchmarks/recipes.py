"""Starting recipes: each trained once per seed on the suite's problems, as trial 0 would be.

A recipe is the values trial 0 gives the searched keys (`search.study.space.STARTING_RECIPE`).
It is chosen on variants of the suite's problems (other images, another split), so that the
suite's own problems, where it is then checked, did not pick it: `--on variants` and
`--on suite`. Prints each recipe's median best val macro-F1 over the seeds, the test macro-F1
of that epoch's model and the seconds per run (the data read once per problem, before timing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from search.trainer.config import TrainConfig
from search.trainer.data.load import load_dataset
from search.trainer.data.resolve import resolve_data_config
from search.trainer.loop import Trainer
from search.yaml_dataclasses import from_mapping
from tests.benchmarks.suite import PROBLEMS, REPO, SEEDS, Problem, _absolute, written
from tests.shapes import make_hard_shapes, make_shapes


def _recipe(lr: float, batch_size: int, opt: str = "adamw", **extra: Any) -> dict[str, Any]:
    return {
        "opt": opt,
        "lr": lr,
        "batch_size": batch_size,
        "sched": "cosine",
        "min_lr": 1e-6,
        "loss": "ce",
        **extra,
    }


RECIPES: dict[str, dict[str, Any]] = {
    "adamw 3e-3, batch 64 (the previous recipe)": _recipe(3e-3, 64),
    "adamw 3e-3, batch 32": _recipe(3e-3, 32),
    "adamw 1e-3, batch 32": _recipe(1e-3, 32),
    "adamw 5e-3, batch 32 (chosen)": _recipe(5e-3, 32),
    "adamw 7e-3, batch 32": _recipe(7e-3, 32),
    "adamw 5e-3, batch 64": _recipe(5e-3, 64),
    "adamw 1e-2, batch 64": _recipe(1e-2, 64),
    "momentum 0.05, batch 32": _recipe(0.05, 32, opt="momentum"),
    "momentum 0.1, batch 64": _recipe(0.1, 64, opt="momentum"),
    "adamw 3e-3, batch 64, weighted ce": _recipe(3e-3, 64, loss="weighted_ce"),
    "adamw 3e-3, batch 32, weighted ce": _recipe(3e-3, 32, loss="weighted_ce"),
    "adamw 5e-3, batch 32, weighted ce": _recipe(5e-3, 32, loss="weighted_ce"),
    "adamw 3e-3, batch 64, focal": _recipe(3e-3, 64, loss="focal", focal_gamma=2.0),
}
"""Every key is one `lr-sched.yaml` searches; all anneal to 1e-6 with cosine."""
CHOSEN = "adamw 5e-3, batch 32 (chosen)"

_VARIANT_IMAGES = {
    "mnist-longtail": None,  # the built-in images; only the split differs
    "shapes-hard": lambda root: make_hard_shapes(root / "hard", seed=7),
    "shapes-grouped-csv": lambda root: make_shapes(
        root / "grouped", makers=80, per_maker=25, size=24, noise=0.05, seed=11
    ),
}
VARIANTS: dict[str, Problem] = {
    name: dataclasses.replace(
        PROBLEMS[name],
        train={**PROBLEMS[name].train, "data": {**PROBLEMS[name].train["data"], "seed": 1}},
        make=make,
    )
    for name, make in _VARIANT_IMAGES.items()
}
"""The suite's problems drawn again: other images from the same generators, another split."""


def run_recipe(train: dict[str, Any], recipe: dict[str, Any], seed: int) -> tuple[float, float]:
    """The best epoch's val macro-F1 and that epoch's test macro-F1."""
    config = from_mapping(TrainConfig, {**train, **recipe, "seed": seed}, source="recipes")
    trainer = Trainer(config)
    best_val, its_test = -1.0, 0.0
    for result in trainer.fit():
        if result.val.macro_f1 > best_val:
            best_val, its_test = result.val.macro_f1, trainer.evaluate("test").macro_f1
    return best_val, its_test


def run_recipes(
    problems: dict[str, Problem], seeds: tuple[int, ...], log=print
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, problem, root in written(problems):
        train = _absolute(problem.train, root)
        data = from_mapping(TrainConfig, train, source="recipes")
        load_dataset(resolve_data_config(data.data, data.model))  # read before the clock
        for label, recipe in RECIPES.items():
            started = time.perf_counter()
            runs = [run_recipe(train, recipe, seed) for seed in seeds]
            row = {
                "val": [v for v, _ in runs],
                "test": [t for _, t in runs],
                "seconds_per_run": (time.perf_counter() - started) / len(seeds),
            }
            out.setdefault(name, {})[label] = row
            log(f"{name} {label}: {_brief(row)}")
    return out


def _brief(row: dict[str, Any]) -> str:
    vals = ", ".join(f"{v:.3f}" for v in row["val"])
    return (
        f"val {statistics.median(row['val']):.3f} ({vals}), "
        f"test {statistics.median(row['test']):.3f}, {row['seconds_per_run']:.1f} s"
    )


def render(results: dict[str, Any]) -> str:
    names = list(results["problems"])
    lines = [
        "| recipe | " + " | ".join(f"{n} ({results['on']})" for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for label in RECIPES:
        cells = []
        for name in names:
            row = results["problems"][name].get(label)
            cells.append(
                "-"
                if row is None
                else f"{statistics.median(row['val']):.3f}, {statistics.median(row['test']):.3f}"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--on", choices=["variants", "suite"], default="variants")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    problems = VARIANTS if args.on == "variants" else PROBLEMS
    results = {
        "on": args.on,
        "seeds": args.seeds,
        "problems": run_recipes(
            problems,
            tuple(args.seeds),
            log=lambda m: print(
                f"[recipes {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True
            ),
        ),
    }
    output = args.output or REPO / "runs" / "bench" / f"recipes-{args.on}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(render(results))


if __name__ == "__main__":
    main()
