"""The export against timm's train.py: its argument names and defaults, kept here.

TRAIN_PY_DEFAULTS holds the argparse dests of timm's train.py that an export may set, with
their defaults, as in timm 1.0.31's train.py (the installed timm). A key train.py does not
have would be silently ignored there; a default left to train.py would train differently.
"""

from __future__ import annotations

import pytest
import yaml

from search.results.export import (
    DERIVED_KEYS,
    SEARCH_KEY,
    TIMM_KEYS,
    export_mapping,
    export_text,
    import_mapping,
)
from search.trainer.config import TrainConfig
from search.yaml_dataclasses import from_mapping, to_mapping

TIMM_VERSION = "1.0.31"
TRAIN_PY_DEFAULTS = {
    "data": None,  # the deprecated positional; --data-dir replaces it
    "data_dir": None,
    "model": "resnet50",
    "pretrained": False,
    "num_classes": None,
    "img_size": None,
    "in_chans": None,
    "input_size": None,
    "crop_pct": None,
    "mean": None,
    "std": None,
    "interpolation": "",
    "batch_size": 128,
    "opt": "sgd",
    "momentum": 0.9,
    "weight_decay": 2e-5,
    "sched": "cosine",
    "lr": None,
    "min_lr": 0.0,
    "epochs": 300,
    "decay_epochs": 90,
    "warmup_epochs": 5,
    "patience_epochs": 10,
    "decay_rate": 0.1,
    "no_aug": False,
    "scale": [0.08, 1.0],
    "ratio": [3.0 / 4.0, 4.0 / 3.0],
    "hflip": 0.5,
    "vflip": 0.0,
    "color_jitter": 0.4,
    "aa": None,
    "reprob": 0.0,
    "mixup": 0.0,
    "cutmix": 0.0,
    "smoothing": 0.1,
    "seed": 42,
    "device": "cuda",
}
TRAIN_PY_SCHEDULERS = ("cosine", "tanh", "step", "constant", "multistep", "plateau", "poly")
PREPROCESS = {
    "classes": ["a", "b", "c"],
    "size": 32,
    "channels": 3,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.25, 0.25, 0.25],
    "crop_pct": 0.95,
    "interpolation": "bicubic",
}


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(loss="ce"),
        TrainConfig(loss="label_smoothing", smoothing=0.15, sched="plateau"),
        TrainConfig(loss="focal", hflip=0.5, mixup=0.0, scale=(0.5, 1.0)),
        TrainConfig(loss="ce", mixup=0.2, sched="cosine", aa="rand-m9-mstd0.5"),
    ],
    ids=["ce", "smoothing-plateau", "focal-aug", "mixup"],
)
def test_every_exported_training_key_is_a_train_py_argument(config):
    mapping = export_mapping(to_mapping(config), PREPROCESS)
    top = set(mapping) - {SEARCH_KEY}
    assert top <= set(TRAIN_PY_DEFAULTS), top - set(TRAIN_PY_DEFAULTS)
    # Every hyperparameter is written, so train.py's own defaults never leak in.
    assert set(TIMM_KEYS) <= top
    assert mapping["sched"] in TRAIN_PY_SCHEDULERS
    # Nothing only `search` reads sits where train.py would take it for its own.
    assert SEARCH_KEY not in TRAIN_PY_DEFAULTS
    assert not set(mapping[SEARCH_KEY]) & set(top)
    assert mapping[SEARCH_KEY]["loss"] == config.loss
    assert mapping["smoothing"] == (0.15 if config.loss == "label_smoothing" else 0.0)
    if config.hflip or config.scale or config.aa:
        assert "no_aug" not in mapping
    else:
        assert mapping["no_aug"] is True  # train.py would crop, flip and jitter otherwise
    assert (mapping["img_size"], mapping["crop_pct"], mapping["interpolation"]) == (
        32,
        0.95,
        "bicubic",
    )
    # And it reads back as the same training config.
    back = from_mapping(TrainConfig, import_mapping(mapping), source="x")
    if config.loss != "label_smoothing":  # smoothing is written as 0.0 for timm; unused here
        back = back.replace(smoothing=config.smoothing)
    assert back == config


def test_no_schedule_is_exported_as_timm_constant():
    mapping = export_mapping(to_mapping(TrainConfig(sched="none")))
    assert mapping["sched"] == "constant"
    assert from_mapping(TrainConfig, import_mapping(mapping), source="x").sched == "none"


@pytest.mark.parametrize(
    "config, words",
    [
        (TrainConfig(loss="focal"), "timm has no focal loss"),
        (TrainConfig(sched="plateau"), "plateau on top-1 accuracy"),
        (TrainConfig(), "best checkpoint by top-1 accuracy"),
    ],
)
def test_the_header_says_what_train_py_cannot_reproduce(config, words):
    record = {"study": "s", "trial": 3, "metric": "val_macro_f1", "value": 0.5}
    text = export_text({**record, "train_config": to_mapping(config)}, PREPROCESS)
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any(words in line for line in header), header
    assert any("--num-classes 3 --device cpu" in line for line in header)
    assert yaml.safe_load(text)[SEARCH_KEY]["loss"] == config.loss


def test_derived_keys_are_train_py_arguments():
    assert set(DERIVED_KEYS) <= set(TRAIN_PY_DEFAULTS)
