"""The best trial's complete training config as a YAML file for `search train` and timm.

Every key that timm's `train.py` has is written under its own name, with the value that
reproduces the trial there (`sched: constant` for no schedule, `no_aug` when nothing was
augmented, the input size and normalisation the trial used). The keys only `search` reads sit
under one `search:` key, which no `train.py` argument can collide with. The header says what
`train.py` cannot reproduce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

TIMM_KEYS = (
    "model",
    "opt",
    "lr",
    "weight_decay",
    "momentum",
    "sched",
    "decay_epochs",
    "decay_rate",
    "patience_epochs",
    "min_lr",
    "warmup_epochs",
    "smoothing",
    "batch_size",
    "epochs",
    "seed",
    "hflip",
    "vflip",
    "color_jitter",
    "aa",
    "reprob",
    "mixup",
    "cutmix",
)
"""TrainConfig keys that are timm train.py arguments of the same meaning."""
DERIVED_KEYS = ("no_aug", "img_size", "in_chans", "crop_pct", "mean", "std", "interpolation")
"""train.py arguments the export adds from the trial's data, and `search train` ignores."""
AUGMENT_KEYS = ("hflip", "vflip", "scale", "ratio", "color_jitter", "aa")
SEARCH_KEY = "search"
TIMM_LOSSES = {"ce": "cross-entropy", "label_smoothing": "label-smoothing cross-entropy"}
SCHED_NAMES = {"none": "constant"}
"""Our scheduler names that timm spells otherwise."""


def export_mapping(
    train_config: dict[str, Any],
    preprocess: dict[str, Any] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """timm's keys at the top, what only `search` reads under `search:` (with the study's
    metric, which `search train` keeps its best checkpoint by)."""
    config = dict(train_config)
    if config["loss"] != "label_smoothing":
        config["smoothing"] = 0.0  # timm applies `smoothing` to every cross-entropy
    timm = {key: config.pop(key) for key in TIMM_KEYS}
    timm["sched"] = SCHED_NAMES.get(timm["sched"], timm["sched"])
    for key in ("scale", "ratio"):  # RandomResizedCrop's ranges: unset, the whole image is kept
        value = config.pop(key, None)
        if value is not None:
            timm[key] = value
    if not any(train_config.get(key) for key in AUGMENT_KEYS):
        timm["no_aug"] = True  # train.py would otherwise crop, flip and jitter by default
    if preprocess is not None:
        timm.update(
            img_size=preprocess["size"],
            in_chans=preprocess["channels"],
            crop_pct=preprocess["crop_pct"],
            mean=list(preprocess["mean"]),
            std=list(preprocess["std"]),
            interpolation=preprocess["interpolation"],
        )
    # timm's train.py has --device (default cuda); "auto" would break it, and is our default.
    if config.get("device") == "auto":
        config.pop("device")
    for key, default in (("weights", None), ("compile", False)):
        if config.get(key) == default:
            config.pop(key)
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
    timm_to_ours = {v: k for k, v in SCHED_NAMES.items()}
    config["sched"] = timm_to_ours.get(config.get("sched"), config.get("sched"))
    if config["sched"] is None:
        config.pop("sched")
    search = {k: v for k, v in (exported[SEARCH_KEY] or {}).items() if k != "metric"}
    return {**config, **search}


def _caveats(config: dict[str, Any]) -> list[str]:
    """What timm's train.py does differently with this file."""
    search = config[SEARCH_KEY]
    loss = search["loss"]
    notes = []
    if loss not in TIMM_LOSSES:
        notes.append(f"timm has no {loss} loss: train.py trains cross-entropy instead")
    if config["sched"] == "plateau":
        notes.append("train.py steps plateau on top-1 accuracy, this study on macro-F1")
    notes.append("train.py keeps its best checkpoint by top-1 accuracy, search by macro-F1")
    notes.append(f"data: point --data-dir at the images ({_data_source(search.get('data', {}))})")
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
        *(f"#   - {note}" for note in _caveats(config)),
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False)


def recorded_preprocessing(checkpoint: str | None) -> dict[str, Any] | None:
    """A checkpoint's recorded image preparation, when it is here to read."""
    if checkpoint is None:
        return None
    metrics = Path(checkpoint) / "metrics.json"
    return json.loads(metrics.read_text()).get("preprocess") if metrics.is_file() else None
