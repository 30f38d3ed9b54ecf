"""The best trial's complete training config as a YAML file for `search train` and timm.

Every top-level key is an argument of timm's `train.py`, under its own name, with the value
that reproduces the trial there: every hyperparameter and augmentation setting (so none of
train.py's own defaults leaks in), the scheduler by timm's name, the input size, crop and
normalisation the trial used. What only `search` reads (its losses, the data, the study's
metric) sits under one `search:` key, which no train.py argument can collide with. The header
says, in plain words, what train.py still does differently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from search.trainer.losses import LOSSES
from search.trainer.metric_registry import METRICS
from search.trainer.schedule import FIXED_SCHEDULE, SCHEDULERS

TRAIN_PY_KEYS = (
    "model",
    "pretrained",
    "pretrained_path",
    "drop",
    "drop_path",
    "drop_block",
    "opt",
    "lr",
    "weight_decay",
    "momentum",
    "layer_decay",
    "clip_grad",
    "clip_mode",
    "sched",
    "decay_epochs",
    "decay_rate",
    "patience_epochs",
    "min_lr",
    "warmup_epochs",
    "warmup_lr",
    "smoothing",
    "batch_size",
    "epochs",
    "seed",
    "hflip",
    "vflip",
    "scale",
    "ratio",
    "color_jitter",
    "aa",
    "reprob",
    "mixup",
    "cutmix",
)
"""TrainConfig keys that are timm train.py arguments of the same name and meaning."""
FIXED_KEYS = {**FIXED_SCHEDULE, "channels_last": True}
"""train.py arguments that `search` never changes, written as it trains."""
DERIVED_KEYS = (
    "no_aug",
    "img_size",
    "input_size",
    "in_chans",
    "crop_pct",
    "crop_mode",
    "mean",
    "std",
    "interpolation",
    "train_interpolation",
    "eval_metric",
    "device",
    "torchcompile",
    *FIXED_KEYS,
)
"""train.py arguments the export adds from the trial's data and run, and `search train` reads
from its own config instead."""
SEARCH_KEY = "search"
TIMM_MIN_VERSION = "1.0.31"
"""The timm whose train.py takes every exported value (`sched: constant` is new in 1.0.31)."""


def export_mapping(
    train_config: dict[str, Any],
    preprocess: dict[str, Any] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """train.py's keys at the top, what only `search` reads under `search:` (with the study's
    metric, which `search train` keeps its best checkpoint by)."""
    config = dict(train_config)
    if config["loss"] != "label_smoothing":
        config["smoothing"] = 0.0  # train.py applies `smoothing` to every cross-entropy
    timm = {key: config.pop(key) for key in TRAIN_PY_KEYS}
    timm["sched"] = SCHEDULERS.get(timm["sched"]).timm
    timm["scale"], timm["ratio"] = list(timm["scale"]), list(timm["ratio"])
    if timm["pretrained_path"] is None:
        timm.pop("pretrained_path")
    else:
        timm["pretrained"] = True  # train.py loads --pretrained-path only with --pretrained
    augmented = any(
        train_config.get(key) for key in ("hflip", "vflip", "color_jitter", "aa", "reprob")
    ) or any(list(train_config.get(key) or (1.0, 1.0)) != [1.0, 1.0] for key in ("scale", "ratio"))
    # train.py would otherwise crop, flip and jitter by its own defaults; with no_aug it also
    # turns random erasing off, so reprob counts as augmentation here.
    timm["no_aug"] = not augmented
    timm.update(FIXED_KEYS)
    if preprocess is not None:
        size = preprocess["size"]
        if isinstance(size, int):
            timm["img_size"] = size
        else:  # (H, W): train.py takes a non-square input as --input-size C H W
            timm["input_size"] = [preprocess["channels"], *size]
        timm.update(
            in_chans=preprocess["channels"],
            crop_pct=preprocess["crop_pct"],
            # not a train.py flag, but a --config key that its resolve_data_config reads
            crop_mode=preprocess.get("crop_mode", "center"),
            mean=list(preprocess["mean"]),
            std=list(preprocess["std"]),
            interpolation=preprocess["interpolation"],
            train_interpolation=preprocess["interpolation"],
        )
    if metric == "val_loss":
        timm["eval_metric"] = "loss"  # train.py's own name for the same choice
    device = config.pop("device", "auto")
    if device != "auto":  # train.py has no "auto" (our default); it defaults to cuda
        timm["device"] = device
    if config.pop("compile", False):
        timm["torchcompile"] = "inductor"
    if metric is not None:
        config = {"metric": metric, **config}
    return {**timm, SEARCH_KEY: config}


def exported_metric(exported: dict[str, Any]) -> str | None:
    """The study metric an exported file names, or None (a plain TrainConfig file)."""
    section = exported.get(SEARCH_KEY)
    return section.get("metric") if isinstance(section, dict) else None


def import_mapping(exported: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig keys of an exported file (the inverse of `export_mapping`)."""
    if SEARCH_KEY not in exported:
        return exported  # a plain TrainConfig mapping
    config = {k: v for k, v in exported.items() if k not in (*DERIVED_KEYS, SEARCH_KEY)}
    if "device" in exported:
        config["device"] = exported["device"]
    if exported.get("torchcompile"):
        config["compile"] = True
    if config.get("pretrained_path") is not None:
        config["pretrained"] = False  # the file is what loads; --pretrained only enables it
    search = {k: v for k, v in (exported[SEARCH_KEY] or {}).items() if k != "metric"}
    return {**config, **search}


def differences(config: dict[str, Any], metric: str | None) -> list[str]:
    """What timm's train.py does differently with this file, in plain words; nothing else."""
    search = config[SEARCH_KEY]
    loss = LOSSES.get(search["loss"])
    notes = []
    if loss.timm is None:
        notes.append(f"timm has no {loss.name} loss ({loss.description}): train.py trains "
                     "cross-entropy instead")
    watched = metric or "val_macro_f1"
    if metric != "val_loss":
        attribute = METRICS.get(watched).attribute
        if config["sched"] == "plateau":
            notes.append(f"train.py steps plateau on top-1 accuracy, this study on {attribute}")
        notes.append(f"train.py keeps its best checkpoint by top-1 accuracy, search by {attribute}")
    notes.append(
        "search trains with bf16 autocast on CUDA (add --amp --amp-dtype bfloat16) and in "
        "float32 on the CPU"
    )
    if config.get("no_aug") and "crop_pct" in config:
        # train.py's no-aug training transform is Resize(size) then CenterCrop(size)
        square = "input_size" not in config
        theirs = "center" if square else "squash"
        if config["crop_pct"] != 1.0 or config["crop_mode"] != theirs:
            notes.append(
                f"with no augmentation train.py trains on the image resized to the input "
                f"({theirs}, crop_pct 1); search trains on the eval preprocessing "
                f"(crop_mode {config['crop_mode']}, crop_pct {config['crop_pct']:g})"
            )
    data = search.get("data", {})
    notes.append(f"data: point --data-dir at the images ({_data_source(data)})")
    if data.get("path") and data.get("test_fraction"):
        notes.append(
            "where the folder has no test/ split, search trained on train/ less the "
            f"{data['test_fraction']:g} it held out for test; train.py trains on all of train/"
        )
    return notes


def _data_source(data: dict[str, Any]) -> str:
    if data.get("csv"):
        return f"a CSV, {data['csv']}, which train.py cannot read: give it an ImageFolder"
    if data.get("path"):
        return data["path"]
    return f"the built-in {data.get('name') or 'mnist'}, which train.py does not have"


def export_text(record: dict[str, Any], preprocess: dict[str, Any] | None = None) -> str:
    """The exported file: a header saying where it came from and how to use it, then the config."""
    config = export_mapping(record["train_config"], preprocess, record["metric"])
    classes = len(preprocess["classes"]) if preprocess else "N"
    header = [
        f"# Exported by `search export` from study {record['study']!r}, trial {record['trial']}: "
        f"{record['metric']}={record['value']:.4f}",
        "# Train:  search train --config THIS.yaml",
        f"# timm:   python train.py --config THIS.yaml --data-dir DIR --num-classes {classes} "
        "--device cpu (or cuda)",
        f"#         (train.py is in timm's repository, not in its wheel: timm >= {TIMM_MIN_VERSION})",
        "# What train.py does differently:",
        *(f"#   - {note}" for note in differences(config, record["metric"])),
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False)


def recorded_preprocessing(checkpoint: str | None) -> dict[str, Any] | None:
    """A checkpoint's recorded image preparation, when it is here to read."""
    if checkpoint is None:
        return None
    metrics = Path(checkpoint) / "metrics.json"
    return json.loads(metrics.read_text()).get("preprocess") if metrics.is_file() else None
