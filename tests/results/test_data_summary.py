"""`search data`: the look before the search, on the built-in long tail and on a CSV."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image

from search.cli import main
from tests.conftest import REPO, write_study


def _colours(path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB"))
    return len(np.unique(pixels.reshape(-1, 3), axis=0))


def test_search_data_on_mnist_longtail_prints_the_imbalance_and_draws_it(workdir, capsys):
    (workdir / "studies" / "lr-sched.yaml").write_text(
        (REPO / "studies" / "lr-sched.yaml").read_text()
    )
    assert main(["data", "--study", "lr-sched"]) == 0
    out = capsys.readouterr().out
    assert "imbalance 10.0:1" in out and "advice   imbalance 10:1: optimise val_macro_f1" in out
    png = workdir / "runs" / "data" / "lr-sched" / "class_balance.png"
    assert png.is_file() and _colours(png) > 20
    assert main(["data", "--study", "lr-sched", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    counts = summary["counts"]
    assert counts["val"]["0"] == 75 and counts["train"]["9"] == 34
    assert summary["duplicates"] == {"within_splits": 0, "across_splits": 0}


def test_search_data_finds_a_leak_across_splits_in_a_csv(workdir, capsys):
    data = workdir / "shapes"
    shutil.copytree(REPO / "studies" / "data" / "shapes", data)
    # The same picture twice, under two makers: it will land in two splits.
    lines = (data / "labels.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    leaked = [
        f"images/copy{i}.png,{r.split(',', 2)[1]},{r.split(',')[2]},x{i}"
        for i, r in enumerate(rows[:40])
    ]
    for i, r in enumerate(rows[:40]):
        shutil.copy(data / r.split(",")[0], data / f"images/copy{i}.png")
    (data / "labels.csv").write_text("\n".join([header, *rows, *leaked]) + "\n")
    study = (REPO / "studies" / "csv-example.yaml").read_text()
    write_study(
        workdir, "shapes", study.replace("studies/data/shapes/labels.csv", str(data / "labels.csv"))
    )
    assert main(["data", "--study", "shapes", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["duplicates"]["across_splits"] > 0
    assert summary["advice"].startswith(
        f"{summary['duplicates']['across_splits']} identical images"
    )
    assert summary["groups"]["val"] > 0 and summary["sizes"] == {"32x32": 400}
