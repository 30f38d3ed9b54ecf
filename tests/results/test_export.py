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
    TRAIN_PY_KEYS,
    export_mapping,
    export_text,
    import_mapping,
)
from search.trainer.config import TrainConfig
from search.trainer.data.config import DataConfig
from search.yaml_dataclasses import from_mapping, to_mapping

TIMM_VERSION = "1.0.31"
CONFIG_ONLY = {"crop_mode"}
"""Keys train.py has no flag for but takes from --config: its parser's set_defaults keeps
every key of the file, and resolve_data_config(vars(args)) reads these."""
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
    "pretrained_path": None,
    "drop": 0.0,
    "drop_path": None,
    "drop_block": None,
    "layer_decay": None,
    "clip_grad": None,
    "clip_mode": "norm",
    "warmup_lr": 1e-5,
    "cooldown_epochs": 0,
    "warmup_prefix": False,
    "channels_last": False,
    "train_interpolation": "random",
    "eval_metric": "top1",
    "torchcompile": None,
    "sched_on_updates": False,
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
        TrainConfig(warmup_epochs=1, drop_path=0.1, clip_grad=1.0, warmup_lr=1e-4, reprob=0.2),
        TrainConfig(loss="ce", mixup=0.2, sched="cosine", aa="rand-m9-mstd0.5"),
    ],
    ids=["ce", "smoothing-plateau", "focal-aug", "fine-tuning", "mixup"],
)
def test_every_exported_training_key_is_a_train_py_argument(config):
    mapping = export_mapping(to_mapping(config), PREPROCESS)
    top = set(mapping) - {SEARCH_KEY}
    assert top <= set(TRAIN_PY_DEFAULTS) | CONFIG_ONLY, top - set(TRAIN_PY_DEFAULTS)
    # Every hyperparameter is written, so train.py's own defaults never leak in.
    assert set(TRAIN_PY_KEYS) - {"pretrained_path"} <= top
    assert mapping["scale"] == list(config.scale) and mapping["train_interpolation"] == "bicubic"
    assert mapping["sched"] in TRAIN_PY_SCHEDULERS
    # Nothing only `search` reads sits where train.py would take it for its own.
    assert SEARCH_KEY not in TRAIN_PY_DEFAULTS
    assert not set(mapping[SEARCH_KEY]) & set(top)
    assert mapping[SEARCH_KEY]["loss"] == config.loss
    assert mapping["smoothing"] == (0.15 if config.loss == "label_smoothing" else 0.0)
    # train.py would crop, flip and jitter otherwise; and no_aug would drop random erasing.
    augmented = config.hflip or config.aa or config.scale != (1, 1) or config.reprob
    assert mapping["no_aug"] is not bool(augmented)
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


def test_a_weights_file_is_exported_as_train_py_takes_it(tmp_path):
    mapping = export_mapping(to_mapping(TrainConfig(pretrained_path=str(tmp_path / "w.pth"))))
    # train.py loads --pretrained-path only together with --pretrained.
    assert mapping["pretrained_path"] == str(tmp_path / "w.pth") and mapping["pretrained"] is True


def test_the_old_names_point_to_train_pys(workdir):
    from search.errors import ConfigError

    for old, new in (("drop_rate", "drop"), ("drop_path_rate", "drop_path"), ("weights", "pretrained_path")):
        with pytest.raises(ConfigError) as err:
            from_mapping(TrainConfig, {old: 0.1}, source="best.yaml")
        assert f"did you mean {new!r}" in str(err.value)


@pytest.mark.parametrize(
    "config, words",
    [
        (TrainConfig(loss="focal"), "timm has no focal loss"),
        (TrainConfig(sched="plateau"), "plateau on top-1 accuracy"),
        (TrainConfig(), "best checkpoint by top-1 accuracy"),
        (TrainConfig(data=DataConfig(path="images")), "train.py trains on all of train/"),
    ],
)
def test_the_header_says_what_train_py_cannot_reproduce(config, words):
    record = {"study": "s", "trial": 3, "metric": "val_macro_f1", "value": 0.5}
    text = export_text({**record, "train_config": to_mapping(config)}, PREPROCESS)
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any(words in line for line in header), header
    assert any("--num-classes 3 --device cpu" in line for line in header)
    assert yaml.safe_load(text)[SEARCH_KEY]["loss"] == config.loss


def test_the_header_names_no_difference_where_there_is_none():
    # A cross-entropy study on val_loss: train.py's eval_metric is loss, so neither plateau
    # nor its best checkpoint differ, and the header says nothing about them.
    record = {"study": "s", "trial": 0, "metric": "val_loss", "value": 0.5}
    config = TrainConfig(sched="plateau")
    text = export_text({**record, "train_config": to_mapping(config)}, PREPROCESS)
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "top-1" not in header and "timm has no" not in header
    assert yaml.safe_load(text)["eval_metric"] == "loss"


def test_derived_keys_are_train_py_arguments():
    assert set(DERIVED_KEYS) <= set(TRAIN_PY_DEFAULTS) | CONFIG_ONLY


@pytest.mark.filterwarnings("ignore:PlateauLRScheduler is deprecated:FutureWarning")
@pytest.mark.parametrize("warmup", [0, 2], ids=["no-warmup", "warmup"])
@pytest.mark.parametrize("sched", ["step", "cosine", "plateau", "none"])
def test_train_py_builds_the_same_learning_rate_for_every_epoch(workdir, sched, warmup):
    """timm's scheduler built through train.py's path from the exported file (its --config
    sets the parser's defaults: a namespace of train.py's defaults overlaid by the file) gives
    the learning rate `search train` trained each epoch with."""
    import argparse
    import json

    from timm.optim import create_optimizer_v2, optimizer_kwargs
    from timm.scheduler import create_scheduler_v2, scheduler_kwargs

    import search
    from search.trainer.data.config import DataConfig

    config = TrainConfig(
        data=DataConfig(name="mnist-longtail"),
        epochs=5,
        batch_size=256,
        lr=0.02,
        sched=sched,
        warmup_epochs=warmup,
        warmup_lr=1e-4,
        decay_epochs=2,
        decay_rate=0.5,
        patience_epochs=0,
        min_lr=1e-4,
        layer_decay=None,
    )
    record = {"study": "s", "trial": 0, "metric": "val_macro_f1", "value": 0.5}
    text = export_text({**record, "train_config": to_mapping(config)})
    (workdir / "best.yaml").write_text(text)
    search.train("best.yaml", out=workdir / "out", progress=False)
    history = json.loads((workdir / "out" / "history.json").read_text())

    args = argparse.Namespace(**{**TRAIN_PY_DEFAULTS, **yaml.safe_load(text)})
    model = __import__("timm").create_model(args.model, num_classes=10, in_chans=1)
    optimizer = create_optimizer_v2(model, **optimizer_kwargs(cfg=args))
    scheduler, epochs = create_scheduler_v2(
        optimizer, **scheduler_kwargs(args, decreasing_metric=False), updates_per_epoch=4
    )
    assert epochs == config.epochs
    train_py = []
    for epoch in range(epochs):
        rates = [group["lr"] for group in optimizer.param_groups]
        train_py.append(sum(rates) / len(rates))  # train.py logs the mean over groups
        for update in range(4):
            scheduler.step_update(num_updates=epoch * 4 + update + 1)
        # train.py feeds plateau its top-1; the same values as search's metric here, so that
        # only the schedule is compared (the header names the metric difference).
        scheduler.step(epoch + 1, history[epoch]["val_macro_f1"])
    assert [row["lr"] for row in history] == pytest.approx(train_py, rel=1e-9)
    if warmup:
        assert history[0]["lr"] == pytest.approx(1e-4)  # warmup starts at warmup_lr


@pytest.mark.parametrize("crop_mode", ["squash", "border"])
def test_the_crop_mode_and_a_non_square_size_reach_timms_data_config(crop_mode):
    from timm.data import resolve_data_config

    prep = {**PREPROCESS, "size": [48, 32], "crop_mode": crop_mode, "crop_pct": 1.0}
    mapping = export_mapping(to_mapping(TrainConfig()), prep)
    assert set(CONFIG_ONLY) <= set(mapping) and "img_size" not in mapping
    # As train.py reads its --config file: every key an attribute of args.
    args = {**TRAIN_PY_DEFAULTS, **mapping}
    resolved = resolve_data_config(args)
    assert resolved["input_size"] == (PREPROCESS["channels"], 48, 32)
    assert resolved["crop_mode"] == crop_mode and resolved["crop_pct"] == 1.0
    # train.py's no-aug training resizes to the input; the header says where search differs.
    text = export_text(
        {"train_config": to_mapping(TrainConfig()), "metric": "val_macro_f1", "study": "s",
         "trial": 0, "value": 0.5},
        prep,
    )
    differs = "search trains on the eval preprocessing (crop_mode border" in text
    assert differs is (crop_mode == "border")
