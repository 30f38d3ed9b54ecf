"""Does a quiet study stay quiet? The evidence behind STALLED_TRIALS (search/store/anytime.py).

`python -m tests.benchmarks.stalls docs/benchmarks/results/suite-long.json ...` reads saved suite runs
(the long ones: budgets with room after the checkpoints) and, for each side but the plain
script's and each seed, looks at the study as `search run`'s last line would at 20%, 40% and
60% of its budget, through the same `progress_from`. Where it had been quiet (no new best) for
STALLED_SHARE of that time, it counts the complete trials since its last gain, and asks whether
the rest of the budget then gained more than the val split's standard error. The answer, split
at STALLED_TRIALS, is the table printed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from search.store.anytime import STALLED_SHARE, STALLED_TRIALS, progress_from

CHECKPOINTS = (0.2, 0.4, 0.6)
"""Shares of the budget at which each run is looked at."""
MEASURED_SE = {"mnist-longtail": 0.012, "shapes-hard": 0.029, "shapes-grouped-csv": 0.025}
"""Each problem's val standard error where a run recorded none: the default's median at 1x,
2026-12-01 00:25 (`suite-2026-12-01-0025.json`)."""


@dataclass(frozen=True)
class Quiet:
    problem: str
    side: str
    seed: int
    at_s: float
    trials_since: int
    gain_after: float
    se: float

    @property
    def gained(self) -> bool:
        return self.gain_after > self.se


def quiet_moments(results: dict) -> list[Quiet]:
    """Every checkpoint at which a side of `search` had been quiet for STALLED_SHARE of its time."""
    found = []
    for problem, entry in results["problems"].items():
        budget = entry["budget_s"]
        for side, runs in entry["runs"].items():
            if side.startswith("plain"):
                continue
            for seed, run in enumerate(runs):
                points = sorted(run["points"])
                se = run.get("value_se") or MEASURED_SE[problem]
                for share in CHECKPOINTS:
                    at = budget * share
                    before = [(t, v, i) for i, (t, v) in enumerate(points) if t <= at]
                    progress = progress_from(before, spent=at)
                    if not progress.steps or progress.quiet < STALLED_SHARE:
                        continue
                    final = max(v for _, v in points)
                    gain = final - progress.steps[-1].value
                    found.append(Quiet(problem, side, seed, at, progress.trials_since, gain, se))
    return found


def render(moments: list[Quiet]) -> str:
    lines = [
        "| complete trials since the last gain | quiet moments | later gained more than the "
        "val SE | largest later gain |",
        "|---|---|---|---|",
    ]
    for label, keep in (
        (f"fewer than {STALLED_TRIALS}", lambda q: q.trials_since < STALLED_TRIALS),
        (f"{STALLED_TRIALS} or more", lambda q: q.trials_since >= STALLED_TRIALS),
    ):
        group = [q for q in moments if keep(q)]
        largest = max((q.gain_after for q in group), default=0.0)
        lines.append(
            f"| {label} | {len(group)} | {sum(q.gained for q in group)} | {largest:+.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="suite JSON files")
    args = parser.parse_args(argv)
    moments = [q for path in args.runs for q in quiet_moments(json.loads(path.read_text()))]
    print(render(moments))


if __name__ == "__main__":
    main()
