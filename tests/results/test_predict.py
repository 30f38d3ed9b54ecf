"""`search predict` on a folder and a CSV, and `search evaluate` on labelled data it never saw."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from search.cli import main
from tests.conftest import REPO


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A model trained by `search train` on the shapes, and the shapes themselves."""
    root = tmp_path_factory.mktemp("predict")
    shutil.copytree(REPO / "studies" / "data" / "shapes", root / "shapes")
    config = {
        "model": "test_resnet",
        "epochs": 3,
        "lr": 0.01,
        "batch_size": 32,
        "data": {
            "csv": str(root / "shapes" / "labels.csv"),
            "path_column": "file",
            "label_columns": ["shape", "colour"],
            "group_column": "maker",
            "image_size": 32,
        },
    }
    (root / "train.yaml").write_text(yaml.safe_dump(config))
    assert (
        main(["train", "--config", str(root / "train.yaml"), "--out", str(root / "out"), "--quiet"])
        == 0
    )
    return root


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_predict_on_a_folder_and_on_a_csv_agree_and_match_evaluate(checkpoint, monkeypatch, capsys):
    monkeypatch.chdir(checkpoint)
    best = str(checkpoint / "out" / "best")
    metrics = json.loads((checkpoint / "out" / "best" / "metrics.json").read_text())
    assert "val_roc_auc" in metrics["history"][0]
    images = checkpoint / "shapes" / "images"
    (images / "broken.png").write_bytes(b"not a png")
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                best,
                "--images",
                str(images),
                "-o",
                "folder.csv",
                "--quiet",
                "--top-k",
                "3",
            ]
        )
        == 0
    )
    assert "1 unreadable" in capsys.readouterr().out
    by_folder = {Path(r["path"]).name: r for r in _rows(checkpoint / "folder.csv")}
    assert len(by_folder) == 361 and by_folder["broken.png"]["error"] == "unreadable"
    row = by_folder["m00_00.png"]
    assert row["class"] in metrics["classes"] and row["class_3"] in metrics["classes"]
    assert float(row["probability"]) >= float(row["probability_2"]) >= float(row["probability_3"])
    (images / "broken.png").unlink()

    labels = checkpoint / "shapes" / "labels.csv"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                best,
                "--csv",
                str(labels),
                "--path-column",
                "file",
                "-o",
                "list.csv",
                "--quiet",
            ]
        )
        == 0
    )
    by_csv = {Path(r["path"]).name: r for r in _rows(checkpoint / "list.csv")}
    assert set(by_csv) == set(by_folder) - {"broken.png"}
    for name, r in by_csv.items():
        assert r["class"] == by_folder[name]["class"]
        assert float(r["probability"]) == pytest.approx(
            float(by_folder[name]["probability"]), abs=1e-6
        )

    capsys.readouterr()
    assert (
        main(["evaluate", "--checkpoint", best, "--data", str(labels), "--json", "-o", "eval"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    truth = {row["file"].split("/")[-1]: f"{row['shape']}_{row['colour']}" for row in _rows(labels)}
    agree = sum(by_csv[name]["class"] == truth[name] for name in truth) / len(truth)
    assert report["accuracy"] == pytest.approx(agree, abs=1e-9)
    assert 0.5 < report["roc_auc"] <= 1.0 and set(report["per_class"]) == set(metrics["classes"])
    assert (checkpoint / "eval" / "confusion.png").is_file()


def test_evaluate_on_an_image_folder_and_an_unknown_class(checkpoint, monkeypatch, capsys):
    monkeypatch.chdir(checkpoint)
    best = str(checkpoint / "out" / "best")
    folder = checkpoint / "external"
    for row in _rows(checkpoint / "shapes" / "labels.csv")[:60]:
        target = folder / f"{row['shape']}_{row['colour']}"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(checkpoint / "shapes" / row["file"], target)
    assert (
        main(["evaluate", "--checkpoint", best, "--data", str(folder), "--json", "-o", "ext"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert sum(c["support"] for c in report["per_class"].values()) == 60
    (folder / "hexagon_green").mkdir()
    shutil.copy(next((folder / "circle_red").iterdir()), folder / "hexagon_green")
    assert main(["evaluate", "--checkpoint", best, "--data", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not know: hexagon_green" in err[0]
