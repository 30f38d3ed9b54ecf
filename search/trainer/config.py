"""The resolved training config: everything one training run needs, and nothing about search.

Keys follow timm's `train.py` (`opt`, `sched`, `decay_epochs`, ...) so an exported config reads
the same to a timm user and, for the losses timm has, drives `train.py --config` as it is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from search.errors import shown
from search.trainer.data.config import DataConfig
from search.yaml_dataclasses import FieldError, check_seed, given_keys_field, replace

__all__ = ["SEARCHABLE", "DataConfig", "TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """One training run, fully resolved: what `search export` writes and `search train` reads."""

    RENAMED: ClassVar[dict[str, str]] = {
        "drop_rate": "drop",
        "drop_path_rate": "drop_path",
        "weights": "pretrained_path",
    }
    """Keys of earlier versions, now named as timm's train.py names them."""

    model: str = "test_resnet"
    """Any timm model name; searchable, with conditions on it (when: {model: [...]})."""
    pretrained: bool | dict[str, bool] = False
    """Start from timm's pretrained weights (downloaded by timm, so online, or from its cache);
    or a mapping from model name to true/false when `model` is searched."""
    pretrained_path: str | dict[str, str | None] | None = None
    """A local weights file (.safetensors or .pth) to start from, as train.py's
    --pretrained-path: loaded by timm's pretrained loader, the classifier replaced for the
    task's classes. Works offline. When `model` is searched, a mapping from each model name to
    its own file (null: from random)."""
    drop: float = 0.0
    """Dropout before the classifier (train.py's --drop, timm's drop_rate)."""
    drop_path: float = 0.0
    """Stochastic depth (train.py's --drop-path), for models that have it."""
    drop_block: float = 0.0
    """DropBlock (train.py's --drop-block), for models that have it."""
    data: DataConfig = field(default_factory=DataConfig)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    opt: str = "adamw"
    weight_decay: float = 0.0
    momentum: float = 0.9
    """Used by sgd, momentum and rmsprop."""
    sched: str = "constant"
    """constant, step, cosine or plateau: timm's schedulers, as train.py builds them
    (trainer/schedule.py)."""
    decay_epochs: int = 2
    """step: epochs between decays."""
    decay_rate: float = 0.1
    """step and plateau: the factor of each decay."""
    patience_epochs: int = 1
    """plateau: epochs without a gain in the study's metric before a decay."""
    min_lr: float = 0.0
    """cosine and plateau: the lowest learning rate."""
    warmup_epochs: int = 0
    """Epochs of linear warmup from warmup_lr, inside the schedule's epochs (as in timm)."""
    warmup_lr: float = 1e-5
    layer_decay: float | None = None
    """Layer-wise LR decay (timm's optimizer factory): earlier layers learn slower."""
    clip_grad: float | None = None
    """Clip gradients to this value (train.py's --clip-grad), as clip_mode says."""
    clip_mode: Literal["norm", "value", "agc"] = "norm"
    """norm (the gradient norm), value (each gradient) or agc (adaptive, the head excluded)."""
    loss: str = "ce"
    """ce, label_smoothing, focal, soft_f1 or weighted_ce."""
    smoothing: float = 0.1
    """Label smoothing, for loss label_smoothing."""
    focal_gamma: float = 2.0
    """Focusing parameter, for loss focal; 0 gives plain cross-entropy."""
    focal_class_weighted: bool = False
    """Weight the focal loss by inverse class frequency."""
    hflip: float = 0.0
    """Probability of a horizontal flip (timm's hflip); no augmentation unless a key is set."""
    vflip: float = 0.0
    scale: tuple[float, ...] = (1.0, 1.0)
    """RandomResizedCrop's range of areas, e.g. [0.08, 1.0] (timm's); the default keeps the
    whole image."""
    ratio: tuple[float, ...] = (1.0, 1.0)
    """RandomResizedCrop's range of aspect ratios, e.g. [0.75, 1.33] (timm's)."""
    color_jitter: float = 0.0
    aa: str | None = None
    """timm's AutoAugment or RandAugment policy, e.g. rand-m9-mstd0.5."""
    reprob: float = 0.0
    """Random erasing probability, on the normalised batch."""
    mixup: float = 0.0
    """Mixup alpha; with cutmix, > 0 makes soft targets (loss ce or label_smoothing only)."""
    cutmix: float = 0.0
    """CutMix alpha."""
    seed: int = 0
    device: str = "auto"
    """auto (CUDA when present), cpu, or cuda[:N]."""
    compile: bool = False
    """torch.compile the model (CUDA only; costs start-up time)."""
    given_keys: frozenset[str] | None = given_keys_field()
    """The keys its file gave (None: built in code); trial 0 keeps `train:`'s own values."""

    def __post_init__(self) -> None:
        # Names of registry entries and files are checked by trainer/checks.py, which may
        # import the registries: a config is plain data and imports nothing above it.
        positive_ints = ("epochs", "batch_size", "decay_epochs")
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise FieldError(name, f"must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise FieldError("lr", f"must be > 0, got {self.lr}")
        if self.opt in ("sgd", "nesterov") and self.momentum == 0:
            # timm's sgd is Nesterov's, which torch refuses without momentum.
            raise FieldError(
                "momentum",
                f"opt {self.opt} is Nesterov's SGD, which needs momentum > 0; for plain SGD "
                "use opt: momentum with momentum: 0",
            )
        checks = {
            "weight_decay": self.weight_decay >= 0,
            "momentum": 0 <= self.momentum < 1,
            "decay_rate": 0 < self.decay_rate <= 1,
            "patience_epochs": self.patience_epochs >= 0,
            "min_lr": self.min_lr >= 0,
            "smoothing": 0 <= self.smoothing < 1,
            "focal_gamma": self.focal_gamma >= 0,
        }
        bounds = {
            "weight_decay": ">= 0",
            "momentum": ">= 0 and < 1",
            "decay_rate": "> 0 and <= 1",
            "patience_epochs": ">= 0",
            "min_lr": ">= 0",
            "smoothing": ">= 0 and < 1",
            "focal_gamma": ">= 0",
        }
        for name, ok in checks.items():
            if not ok:
                raise FieldError(name, f"must be {bounds[name]}, got {getattr(self, name)}")
        for name in ("hflip", "vflip", "reprob"):
            if not 0 <= getattr(self, name) <= 1:
                raise FieldError(
                    name, f"must be a probability in [0, 1], got {getattr(self, name)}"
                )
        for name in ("color_jitter", "mixup", "cutmix"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0, got {getattr(self, name)}")
        for name, high in (("scale", 1.0), ("ratio", 100.0)):
            value = getattr(self, name)
            if not (len(value) == 2 and 0 < value[0] <= value[1] <= high):
                raise FieldError(name, f"must be [low, high] with 0 < low <= high <= {high:g}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise FieldError(
                "warmup_epochs",
                f"must be >= 0 and < epochs ({self.epochs}), got {self.warmup_epochs}",
            )
        if not 0 < self.warmup_lr:
            raise FieldError("warmup_lr", f"must be > 0, got {self.warmup_lr}")
        for name in ("drop", "drop_path", "drop_block"):
            if not 0 <= getattr(self, name) < 1:
                raise FieldError(name, f"must be >= 0 and < 1, got {getattr(self, name)}")
        if self.layer_decay is not None and not 0 < self.layer_decay <= 1:
            raise FieldError("layer_decay", f"must be > 0 and <= 1, got {self.layer_decay}")
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise FieldError("clip_grad", f"must be > 0, got {self.clip_grad}")
        check_seed("seed", self.seed)
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise FieldError("device", f"must be auto, cpu or cuda[:N], got {shown(self.device)}")

    @property
    def model_pretrained(self) -> bool:
        """Whether this config's model starts from timm's pretrained weights."""
        if isinstance(self.pretrained, dict):
            return bool(self.pretrained.get(self.model, False))
        return self.pretrained

    @property
    def model_weights(self) -> str | None:
        """The local weights file this config's model starts from, if any."""
        if isinstance(self.pretrained_path, dict):
            return self.pretrained_path.get(self.model)
        return self.pretrained_path

    @property
    def starts_from_weights(self) -> bool:
        return self.model_pretrained or self.model_weights is not None

    def for_model(self) -> TrainConfig:
        """This config with the per-model mappings resolved to its own model's entries, as
        the export writes it (train.py takes one file and one flag)."""
        return self.replace(pretrained=self.model_pretrained, pretrained_path=self.model_weights)

    def replace(self, **changes: object) -> TrainConfig:
        return replace(self, **changes)


SEARCHABLE = tuple(
    f.name
    for f in dataclasses.fields(TrainConfig)
    if f.name not in ("pretrained_path", "data", "device", "compile", "scale", "ratio", "given_keys")
)
"""TrainConfig fields that a study's search space may name."""
