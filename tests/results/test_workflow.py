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
from search.results.export import TIMM_KEYS, export_mapping
from search.results.final import load_train_config
from search.trainer.config import TrainConfig
from search.yaml_dataclasses import to_mapping

# Argument names (argparse dests) of timm's train.py, the ones an exported file could touch.
TIMM_TRAIN_PY_ARGS = set(
    [
        # augmentation, by the argparse dests of timm 1.0's train.py
        "hflip",
        "vflip",
        "scale",
        "ratio",
        "color_jitter",
        "aa",
        "reprob",
        "mixup",
        "cutmix",
        "data",
        "data_dir",
        "dataset",
        "train_split",
        "val_split",
        "model",
        "pretrained",
        "initial_checkpoint",
        "resume",
        "num_classes",
        "gp",
        "img_size",
        "input_size",
        "crop_pct",
        "mean",
        "std",
        "interpolation",
        "batch_size",
        "validation_batch_size",
        "channels_last",
        "opt",
        "opt_eps",
        "opt_betas",
        "momentum",
        "weight_decay",
        "clip_grad",
        "clip_mode",
        "layer_decay",
        "sched",
        "lr",
        "lr_noise",
        "lr_cycle_mul",
        "lr_cycle_decay",
        "lr_cycle_limit",
        "warmup_lr",
        "min_lr",
        "epochs",
        "start_epoch",
        "decay_milestones",
        "decay_epochs",
        "warmup_epochs",
        "cooldown_epochs",
        "patience_epochs",
        "decay_rate",
        "no_aug",
        "smoothing",
        "drop",
        "drop_path",
        "seed",
        "device",
        "torchcompile",
        "amp",
        "amp_dtype",
        "workers",
        "pin_mem",
        "output",
        "experiment",
        "eval_metric",
        "log_interval",
    ]
)


def _study(root: Path) -> optuna.Study:
    return optuna.load_study(study_name="small", storage=f"sqlite:///{root / 'runs' / 'search.db'}")


@pytest.mark.parametrize("loss", ["ce", "label_smoothing", "focal"])
def test_export_uses_timm_names_and_reads_back(loss):
    mapping = export_mapping(to_mapping(TrainConfig(loss=loss, smoothing=0.15)))
    assert tuple(mapping)[: len(TIMM_KEYS)] == TIMM_KEYS
    assert set(TIMM_KEYS) <= TIMM_TRAIN_PY_ARGS
    assert "device" not in mapping  # timm's --device must not become "auto"
    # Keys only `search` reads must not set a timm argument; `data` is timm's deprecated
    # positional, which --data-dir overrides.
    search_only = set(mapping) - set(TIMM_KEYS)
    assert search_only & TIMM_TRAIN_PY_ARGS <= {"data"}
    assert mapping["smoothing"] == (0.15 if loss == "label_smoothing" else 0.0)
    assert TrainConfig(**{**mapping, "data": TrainConfig().data}).loss == loss


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
    assert {p.stem for p in pngs} == {"history", "intermediate", "importances", "parallel", "slice"}
    for png in pngs:
        assert not _is_blank(png), png.name
    index = (report / "index.html").read_text()
    assert all(f'src="{p.name}"' in index for p in pngs)
    assert len((report / "trials.csv").read_text().strip().splitlines()) == 5
    blank = report / "blank.png"
    Image.new("RGB", (300, 200), "white").save(blank)
    assert _is_blank(blank)  # the check itself can fail
