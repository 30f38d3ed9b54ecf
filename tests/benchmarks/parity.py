"""Quality parity: `search`'s trainer against the suite's plain script, config by config.

`search` trains a trial faster than the plain script (channels-last, fused optimizers, images
decoded once). That must not cost quality, or the suite would measure the trainer rather than
the search. Here the same configs are trained by both, over the same seeds and images, and the
mean val macro-F1 of the last and of the best epoch is printed side by side, with each side's
spread over the seeds. A gap well inside the spread is parity.

The configs: the starting recipe on every problem, and on `shapes-grouped-csv` the soft-F1
config with which the plain script's TPE beat `search` at 5x on seed 0 (README, Speed).

`python -m tests.benchmarks.parity` runs it alone (about 10 minutes with 5 seeds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from search.study.space import STARTING_RECIPE
from search.trainer.config import TrainConfig
from search.trainer.loop import Trainer
from search.yaml_dataclasses import from_mapping
from tests.benchmarks.suite import (
    PLAIN_SIDES,
    PROBLEMS,
    REPO,
    Problem,
    _absolute,
    plain_training,
    written,
)

SOFT_F1 = {
    "opt": "adam",
    "lr": 0.0044457196886840125,
    "batch_size": 32,
    "loss": "soft_f1",
    "sched": "cosine",
    "min_lr": 4.713809160027696e-06,
}
"""Trial 19 of the plain script's seed-0 study on `shapes-grouped-csv` (val 0.880 at 5x)."""

CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "mnist-longtail": {"starting recipe": STARTING_RECIPE},
    "shapes-hard": {"starting recipe": STARTING_RECIPE},
    "shapes-grouped-csv": {
        "starting recipe": STARTING_RECIPE,
        "soft F1 (plain's 5x best)": SOFT_F1,
    },
}


def search_training(config: TrainConfig) -> list[float]:
    """Each epoch's val macro-F1 from `search`'s trainer, as a trial would see them."""
    return [result.val.macro_f1 for result in Trainer(config).fit()]


def run_parity(
    problems: dict[str, Problem],
    configs: dict[str, dict[str, dict[str, Any]]],
    seeds: tuple[int, ...],
    log=print,
) -> dict[str, Any]:
    """Per problem and config, each side's per-seed (last epoch, best epoch) val macro-F1."""
    out: dict[str, Any] = {}
    for name, problem, root in written(problems):
        for label, params in configs.get(name, {}).items():
            row: dict[str, list[list[float]]] = {"plain": [], "search": []}
            for seed in seeds:
                train = {**_absolute(problem.train, root), **params, "seed": seed}
                config = from_mapping(TrainConfig, train, source="parity")
                plain, _ = plain_training(config, PLAIN_SIDES["plain optuna"])
                ours = search_training(config)
                row["plain"].append([plain[-1], max(plain)])
                row["search"].append([ours[-1], max(ours)])
                log(
                    f"{name} {label} seed {seed}: plain {plain[-1]:.3f} (best "
                    f"{max(plain):.3f}), search {ours[-1]:.3f} (best {max(ours):.3f})"
                )
            out.setdefault(name, {})[label] = row
    return out


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def render(results: dict[str, Any]) -> str:
    lines = [
        "| problem | config | plain: last epoch | search: last epoch | search - plain | "
        "plain: best epoch | search: best epoch | search - plain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, configs in results["problems"].items():
        for label, row in configs.items():
            cells = []
            for which in (0, 1):
                plain = [pair[which] for pair in row["plain"]]
                ours = [pair[which] for pair in row["search"]]
                gap = statistics.mean(ours) - statistics.mean(plain)
                cells += [_mean_sd(plain), _mean_sd(ours), f"{gap:+.3f}"]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "-o", "--output", type=Path, default=REPO / "runs" / "bench" / "parity.json"
    )
    args = parser.parse_args()
    problems = {n: p for n, p in PROBLEMS.items() if not args.only or n in args.only}
    results = {
        "seeds": args.seeds,
        "problems": run_parity(
            problems,
            CONFIGS,
            tuple(args.seeds),
            log=lambda m: print(
                f"[parity {time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True
            ),
        ),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(render(results))


if __name__ == "__main__":
    main()
