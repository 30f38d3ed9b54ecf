"""`search data`: the look before the search, on the built-in long tail and on a CSV."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from search.cli import main
from search.results.data_summary import val_noise
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
    assert "rarest val class 9: 8 images): trials closer than that are not clearly apart" in out
    png = workdir / "runs" / "data" / "lr-sched" / "class_balance.png"
    assert png.is_file() and _colours(png) > 20
    assert main(["data", "--study", "lr-sched", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    counts = summary["counts"]
    assert counts["val"]["0"] == 75 and counts["train"]["9"] == 34
    assert summary["duplicates"] == {"within_splits": 0, "across_splits": 0}
    assert summary["rarest_val_class"] == "9"
    assert summary["val_macro_f1_se"] == round(val_noise(list(counts["val"].values())), 4)
    assert f"val noise ±{summary['val_macro_f1_se']:.3f} on macro-F1" in out


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


def test_val_noise_shrinks_as_the_val_split_grows_and_is_worst_with_a_rare_class():
    even = val_noise([50, 50, 50, 50])
    assert 0.01 < even < 0.1
    assert val_noise([200, 200, 200, 200]) == pytest.approx(even / 2, rel=0.2)
    # The same 200 images, one class down to 5: its F1 swings, and macro-F1 with it.
    assert val_noise([65, 65, 65, 5]) > 1.3 * even
    assert val_noise([100]) is None and val_noise([0, 0]) is None


def test_search_data_says_what_the_crop_keeps_of_portraits(workdir, capsys):
    from tests.trainer.data.test_crop import portraits

    portraits(workdir / "faces")
    study = """
objective: classify
train: {model: test_resnet, data: {path: faces, image_size: 24, crop_pct: 1.0}}
space: {lr: {type: float, low: 1.0e-3, high: 1.0e-2}}
"""
    write_study(workdir, "faces", study)
    assert main(["data", "--study", "faces"]) == 0
    out = capsys.readouterr().out
    assert "crop     center to 24 (crop_pct 1): 48x64 (aspect 0.75) keeps 100% of the " \
        "width, 75% of the height" in out
    assert "to keep the whole image: image_size [height, width], crop_mode squash" in out
    write_study(workdir, "faces", study.replace("image_size: 24", "image_size: [32, 24], "
                                                "crop_mode: squash"))
    assert main(["data", "--study", "faces", "--json"]) == 0
    crop = json.loads(capsys.readouterr().out)["crop"]
    assert crop["input"] == "32x24" and crop["mode"] == "squash"
    assert crop["keeps"] == [{"size": "48x64", "images": 12, "aspect": 0.75, "width": 1.0,
                              "height": 1.0}]
