"""Epoch metrics from confusion counts over the whole split, never averaged over batches."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torchmetrics.classification import MulticlassAUROC, MulticlassConfusionMatrix

from search.trainer.metric_registry import METRICS


@dataclass(frozen=True)
class Metrics:
    """Macro-averaged metrics of one split; `confusion[i][j]` counts true class i predicted j."""

    macro_f1: float
    accuracy: float
    macro_precision: float
    macro_recall: float
    loss: float
    confusion: list[list[int]]
    roc_auc: float = float("nan")
    """Macro one-vs-rest ROC-AUC of the predicted probabilities (threshold-free)."""

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{m.attribute}": getattr(self, m.attribute) for m in METRICS.entries()}

    def value(self, metric: str) -> float:
        """The value of a study's metric (`val_macro_f1`, ...) on this split."""
        return getattr(self, METRICS.get(metric).attribute)

    def per_class(self) -> list[dict[str, float]]:
        """Precision, recall, F1 and support of each class, for the final report."""
        cm = torch.tensor(self.confusion, dtype=torch.float64)
        precision, recall, f1 = _rates(*_counts(cm))
        support = cm.sum(1)
        return [
            {"precision": p, "recall": r, "f1": f, "support": int(s)}
            for p, r, f, s in zip(
                precision.tolist(), recall.tolist(), f1.tolist(), support.tolist()
            )
        ]


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # A class never predicted (or never present) scores 0, as sklearn's zero_division=0 does.
    return torch.where(den > 0, num / den.clamp(min=1e-12), torch.zeros_like(num))


def _counts(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class true positives, actual (row sums) and predicted (column sums) of a matrix."""
    return cm.diag(), cm.sum(1), cm.sum(0)


def _rates(
    tp: torch.Tensor, actual: torch.Tensor, predicted: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class precision, recall and F1 from per-class counts (over any leading dims)."""
    return _safe_div(tp, predicted), _safe_div(tp, actual), _safe_div(2 * tp, actual + predicted)


def _macro(tp: torch.Tensor, actual: torch.Tensor, predicted: torch.Tensor) -> dict:
    """The metrics a confusion matrix determines, from its per-class counts."""
    precision, recall, f1 = _rates(tp, actual, predicted)
    return {
        "macro_f1": f1.mean(-1),
        "accuracy": _safe_div(tp.sum(-1), actual.sum(-1)),
        "macro_precision": precision.mean(-1),
        "macro_recall": recall.mean(-1),
    }


RESAMPLED = tuple(m.attribute for m in METRICS.entries() if m.resampled)
"""The metrics `resampled_se` takes: those `_macro` computes."""


def resampled_se(
    confusion: list[list[int]] | torch.Tensor, metric: str, draws: int = 200, seed: int = 0
) -> float | None:
    """How far `metric` would move by chance if the split's images were drawn again: its
    standard error over bootstrap resamples of the split.

    Resampling images resamples the confusion matrix's cells, so the matrix is all it needs
    (its counts, or expected counts for a model that does not exist yet).
    It is the Poisson bootstrap (each image drawn a Poisson(1) number of times), which touches
    only the non-empty cells: 1,000 classes cost no more than their images. On a val split with
    a handful of images in its rarest class this is often larger than the gaps between trials.
    None for what the matrix does not determine (loss, ROC-AUC) and for an empty split.
    """
    if metric not in RESAMPLED:
        return None
    cm = torch.as_tensor(confusion, dtype=torch.float64)
    true, predicted = cm.nonzero(as_tuple=True)
    if len(true) == 0:
        return None
    counts = cm[true, predicted]
    hits = true == predicted
    classes = cm.shape[0]
    generator = torch.Generator().manual_seed(seed)
    values = []
    chunk = max(1, min(draws, 2**22 // len(counts)))  # bounds one batch's memory
    for start in range(0, draws, chunk):
        drawn = torch.poisson(counts.expand(min(chunk, draws - start), -1), generator)
        per_class = torch.zeros(len(drawn), classes, dtype=torch.float64)
        values.append(
            _macro(
                per_class.index_add(1, true[hits], drawn[:, hits]),
                per_class.index_add(1, true, drawn),
                per_class.index_add(1, predicted, drawn),
            )[metric]
        )
    return torch.cat(values).std().item()


def metrics_from_confusion(
    confusion: torch.Tensor, loss: float = float("nan"), roc_auc: float = float("nan")
) -> Metrics:
    cm = confusion.detach().to("cpu", torch.float64)
    macro = _macro(*_counts(cm))
    return Metrics(
        **{name: value.item() for name, value in macro.items()},
        loss=loss,
        confusion=confusion.to("cpu", torch.int64).tolist(),
        roc_auc=roc_auc,
    )


class ConfusionCounter:
    """Accumulates a confusion matrix over an epoch, on the device the predictions live on."""

    def __init__(self, num_classes: int, device: torch.device | str = "cpu") -> None:
        self._matrix = MulticlassConfusionMatrix(num_classes=num_classes, validate_args=False).to(
            device
        )
        # Exact (thresholds=None): it keeps every probability of the split, N x C floats.
        self._auroc = MulticlassAUROC(
            num_classes=num_classes, average="macro", thresholds=None, validate_args=False
        ).to(device)
        self._loss_sum: torch.Tensor | float = 0.0  # a tensor on the device: no sync per batch
        self._count = 0

    def update(
        self, logits: torch.Tensor, target: torch.Tensor, loss: torch.Tensor | None = None
    ) -> None:
        self._matrix.update(logits.argmax(dim=-1), target)
        self._auroc.update(logits.float().softmax(dim=-1), target)
        if loss is not None:
            self._loss_sum = self._loss_sum + loss.detach() * len(target)
            self._count += len(target)

    def compute(self) -> Metrics:
        mean_loss = float(self._loss_sum) / self._count if self._count else float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class absent from the split scores 0, as documented
            roc_auc = float(self._auroc.compute())
        return metrics_from_confusion(self._matrix.compute(), mean_loss, roc_auc)
