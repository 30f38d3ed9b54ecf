"""The best trial's complete training config as a YAML file for `search train` and timm.

Keys are timm `train.py`'s own names, so for the losses timm has (cross-entropy, label
smoothing) the same file drives `train.py --config`: timm reads unknown keys as harmless
defaults. The header says when it does not.
"""

from __future__ import annotations

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
TIMM_LOSSES = {"ce": "cross-entropy", "label_smoothing": "label-smoothing cross-entropy"}


def export_mapping(train_config: dict[str, Any]) -> dict[str, Any]:
    """timm's keys first, then the keys only `search train` reads; no key whose default suffices."""
    config = dict(train_config)
    if config["loss"] != "label_smoothing":
        config["smoothing"] = 0.0  # timm applies `smoothing` to every cross-entropy
    ordered = {key: config.pop(key) for key in TIMM_KEYS}
    # RandomResizedCrop's ranges: timm's names when set; unset, the whole image is kept.
    for key in ("scale", "ratio"):
        value = config.pop(key, None)
        if value is not None:
            ordered[key] = value
    # timm's train.py has --device (default cuda); "auto" would break it, and is our default.
    if config.get("device") == "auto":
        config.pop("device")
    for key, default in (("weights", None), ("compile", False)):
        if config.get(key) == default:
            config.pop(key)
    return {**ordered, **config}


def export_text(record: dict[str, Any]) -> str:
    """The exported file: a header saying where it came from and how to use it, then the config."""
    config = export_mapping(record["train_config"])
    loss = config["loss"]
    if loss in TIMM_LOSSES:
        timm_line = (
            f"# timm:  python train.py --config THIS.yaml --data-dir DIR --num-classes N  "
            f"(loss {loss} is timm's {TIMM_LOSSES[loss]})"
        )
    else:
        timm_line = (
            f"# timm:  this file does not drive timm's train.py as it is: timm has no {loss} loss "
            "(only cross-entropy and label smoothing)"
        )
    header = [
        f"# Exported by `search export` from study {record['study']!r}, trial {record['trial']}: "
        f"{record['metric']}={record['value']:.4f}",
        "# Train:  search train --config THIS.yaml",
        timm_line,
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False)
