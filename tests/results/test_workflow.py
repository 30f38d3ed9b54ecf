"""Around a study: trials, export -> train -> evaluate round trip, and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from PIL import Image

from search.cli import main
from search.results.final import load_train_config


def _study(root: Path) -> optuna.Study:
    return optuna.load_study(study_name="small", storage=f"sqlite:///{root / 'runs' / 'search.db'}")


def test_round_trip_export_train_evaluate_reproduces_the_study_best(
    finished_study, monkeypatch, capsys
):
    monkeypatch.chdir(finished_study)
    study = _study(finished_study)
    assert main(["export", "--study", "small", "-o", "best.yaml"]) == 0
    text = (finished_study / "best.yaml").read_text()
    assert text.startswith("# Exported by `search export` from study 'small'")
    config = load_train_config(str(finished_study / "best.yaml"))
    for key, value in study.best_trial.params.items():
        assert getattr(config, key) == value
    assert main(["train", "--config", "best.yaml", "--out", "final", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "validation (best epoch" in out and "test: macro-F1" in out and "macro" in out
    assert (finished_study / "final" / "confusion_test.png").is_file()
    assert main(["evaluate", "--checkpoint", "final/best", "--split", "val", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert abs(evaluated["macro_f1"] - study.best_value) <= 0.01
    assert len(evaluated["per_class"]) == 10
    # The study's own best checkpoint evaluates to the study's best value.
    assert main(["evaluate", "--checkpoint", "runs/small/best", "--split", "val", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["macro_f1"] == pytest.approx(
        study.best_value, abs=1e-9
    )


def test_train_resumes_after_an_interruption(finished_study, monkeypatch, capsys):
    monkeypatch.chdir(finished_study)
    assert main(["export", "--study", "small", "-o", "resume.yaml"]) == 0
    config = yaml.safe_load((finished_study / "resume.yaml").read_text())
    # One epoch, then "interrupted"; --resume finishes the second from the saved state.
    assert (
        main(["train", "--config", "resume.yaml", "--out", "part", "--epochs", "1", "--quiet"]) == 0
    )
    assert main(["train", "--config", "resume.yaml", "--out", "part", "--resume", "--quiet"]) == 0
    assert main(["train", "--config", "resume.yaml", "--out", "whole", "--quiet"]) == 0
    capsys.readouterr()
    part = json.loads((finished_study / "part" / "history.json").read_text())
    whole = json.loads((finished_study / "whole" / "history.json").read_text())
    assert [h["epoch"] for h in part] == list(range(1, config["epochs"] + 1))
    assert [h["val_macro_f1"] for h in part] == pytest.approx([h["val_macro_f1"] for h in whole])


def test_trials_table_has_one_row_per_trial_with_reasons(finished_study, monkeypatch, capsys):
    monkeypatch.chdir(finished_study)
    assert main(["trials", "--study", "small", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    study = _study(finished_study)
    assert [r["number"] for r in rows] == [t.number for t in study.trials]
    for row, trial in zip(rows, study.trials):
        assert row["state"] == trial.state.name and row["epochs"] == trial.user_attrs["epochs_run"]
        assert row["lr"] == pytest.approx(trial.params["lr"])
        if trial.state == optuna.trial.TrialState.PRUNED:
            assert row["reason"].startswith("pruned after epoch")
    assert main(["trials", "--study", "small"]) == 0
    table = capsys.readouterr().out
    assert (
        "number" in table and "reason" in table and len(table.strip().splitlines()) == len(rows) + 1
    )


def _is_blank(path: Path) -> bool:
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    return pixels.std() < 5 or colours < 20


def test_report_images_have_real_content(finished_study, monkeypatch, capsys):
    monkeypatch.chdir(finished_study)
    assert main(["report", "--study", "small", "-o", "report"]) == 0
    report = finished_study / "report"
    pngs = sorted(report.glob("*.png"))
    assert {p.stem for p in pngs} == {
        "history",
        "intermediate",
        "importances",
        "parallel",
        "slice",
        "cost",
        "progress",
    }
    for png in pngs:
        assert not _is_blank(png), png.name
    index = (report / "index.html").read_text()
    assert all(f'src="{p.name}"' in index for p in pngs)
    assert len((report / "trials.csv").read_text().strip().splitlines()) == 5
    blank = report / "blank.png"
    Image.new("RGB", (300, 200), "white").save(blank)
    assert _is_blank(blank)  # the check itself can fail
