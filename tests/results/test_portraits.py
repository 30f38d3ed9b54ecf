"""A study on portraits that are not square: `image_size: [H, W]` and `crop_mode: squash`
through the run, the checkpoint, `search predict` and `search evaluate`."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from search.cli import main
from search.results.predict import Predictor
from search.trainer.data.config import DataConfig
from search.trainer.data.load import load_dataset
from search.trainer.data.pipeline import open_image
from search.trainer.data.resolve import resolve_data_config
from tests.conftest import write_study
from tests.trainer.data.test_crop import portraits

STUDY = """
objective: classify
n_trials: 1
train:
  model: test_resnet
  epochs: 2
  batch_size: 8
  data: {path: portraits, image_size: [32, 24], crop_mode: squash, val_fraction: 0.25,
         test_fraction: 0.25}
space:
  lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("portraits")
    portraits(root / "portraits", per_class=8)
    write_study(root, "portraits", STUDY)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("SEARCH_STORAGE", raising=False)
        assert main(["run", "--study", "portraits", "--quiet"]) == 0
    return root


def test_the_checkpoint_records_the_portraits_shape_and_crop_mode(study, capsys):
    prep = json.loads((study / "runs" / "portraits" / "best" / "metrics.json").read_text())[
        "preprocess"
    ]
    assert prep["size"] == [32, 24] and prep["crop_mode"] == "squash"


def test_predict_and_evaluate_read_images_as_the_study_did(study, monkeypatch, capsys):
    monkeypatch.chdir(study)
    best = study / "runs" / "portraits" / "best"
    predictor = Predictor(best)
    config = DataConfig(
        path="portraits", image_size=(32, 24), crop_mode="squash", val_fraction=0.25,
        test_fraction=0.25,
    )
    resolved = resolve_data_config(config, "test_resnet")
    held = load_dataset(resolved)  # in memory, as the study's trials read it
    streamed = load_dataset(dataclasses.replace(resolved, cache="stream"))
    # The same files in the same order; the predictor's pixels are the study's, to the byte.
    for i, file in enumerate(streamed.val.files):
        assert torch.equal(predictor.transform(open_image(file, 3)), held.val.images[i])
    # predict writes a row per image, evaluate scores the study's own split as recorded.
    predict = ["predict", "--checkpoint", str(best), "--images", "portraits", "-o", "pred.csv"]
    assert main([*predict, "--quiet"]) == 0
    with open(study / "pred.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 16
    capsys.readouterr()
    evaluate = ["evaluate", "--checkpoint", str(best), "--split", "val", "--json", "-o", "ev"]
    assert main(evaluate) == 0
    report = json.loads(capsys.readouterr().out)
    recorded = json.loads((best / "metrics.json").read_text())
    at_best = recorded["history"][recorded["epoch"] - 1]
    assert report["macro_f1"] == pytest.approx(recorded["value"], abs=1e-9)
    assert report["loss"] == pytest.approx(at_best["val_loss"], rel=1e-5)
