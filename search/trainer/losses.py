"""Classification losses by name: one `LossInfo` record each, the only list of them.

Each builder takes the config and the training class counts. The record also says what
other modules would otherwise keep in side tables: whether the loss takes Mixup's soft
targets, and what timm's `train.py` trains in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from torch import nn

from search.registry import Registry

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

LossBuilder = Callable[["TrainConfig", torch.Tensor], nn.Module]


@dataclass(frozen=True)
class LossInfo:
    name: str
    build: LossBuilder
    description: str
    soft_targets: bool = False
    """Takes Mixup's and CutMix's soft targets (as cross-entropy on them)."""
    timm: str | None = None
    """What timm's train.py trains for it, in words; None: timm has no such loss."""


LOSSES: Registry[LossInfo] = Registry("loss")


def _loss(name: str, description: str, **info):
    def register(build: LossBuilder) -> LossBuilder:
        LOSSES.register(name, LossInfo(name, build, description, **info))
        return build

    return register


def inverse_frequency_weights(class_counts: torch.Tensor) -> torch.Tensor:
    """Weights proportional to 1/count, scaled so that they average 1 over the classes."""
    counts = class_counts.float().clamp(min=1)
    weights = counts.sum() / (len(counts) * counts)
    return weights / weights.mean()


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al. 2017): mean of -w_y (1 - p_y)^gamma log p_y."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits.float(), dim=-1).gather(1, target[:, None]).squeeze(1)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        if self.weight is not None:
            w = self.weight[target]
            return (w * loss).sum() / w.sum()
        return loss.mean()


class SoftMacroF1Loss(nn.Module):
    """1 - macro-F1 computed from softmax probabilities, so it is differentiable."""

    def __init__(self, num_classes: int, eps: float = 1e-7) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.eps = eps

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probs = logits.float().softmax(dim=-1)
        onehot = F.one_hot(target, self.num_classes).float()
        tp = (probs * onehot).sum(0)
        fp = (probs * (1 - onehot)).sum(0)
        fn = ((1 - probs) * onehot).sum(0)
        f1 = 2 * tp / (2 * tp + fp + fn + self.eps)
        return 1 - f1.mean()


@_loss("ce", "cross-entropy", soft_targets=True, timm="cross-entropy")
def _cross_entropy(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    return nn.CrossEntropyLoss()


@_loss(
    "label_smoothing",
    "cross-entropy with label smoothing (smoothing)",
    soft_targets=True,
    timm="label-smoothing cross-entropy",
)
def _label_smoothing(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    return LabelSmoothingCrossEntropy(smoothing=config.smoothing)


@_loss("focal", "focal loss (focal_gamma, focal_class_weighted)")
def _focal(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    weight = inverse_frequency_weights(class_counts) if config.focal_class_weighted else None
    return FocalLoss(gamma=config.focal_gamma, weight=weight)


@_loss("soft_f1", "1 - macro-F1 of the softmax probabilities")
def _soft_f1(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    return SoftMacroF1Loss(num_classes=len(class_counts))


@_loss("weighted_ce", "cross-entropy weighted by inverse class frequency")
def _weighted_ce(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    return nn.CrossEntropyLoss(weight=inverse_frequency_weights(class_counts))


def create_loss(config: TrainConfig, class_counts: torch.Tensor) -> nn.Module:
    """The training loss; under Mixup or CutMix, cross-entropy on their soft targets (as timm's
    train.py does: label smoothing then happens inside Mixup)."""
    from search.trainer.data.augment import mixes

    if mixes(config):
        return SoftTargetCrossEntropy()
    return LOSSES.get(config.loss).build(config, class_counts)
