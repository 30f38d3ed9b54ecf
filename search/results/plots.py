"""Per-class results as a table and a confusion-matrix PNG, for `search train` and `evaluate`."""

from __future__ import annotations

from pathlib import Path

import torch

from search.trainer.metrics import Metrics


def per_class_report(metrics: Metrics, classes: tuple[str, ...]) -> str:
    rows = [f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, r in zip(classes, metrics.per_class()):
        rows.append(
            f"{name:<12} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} {r['support']:>8}"
        )
    rows.append(
        f"{'macro':<12} {metrics.macro_precision:>9.4f} {metrics.macro_recall:>7.4f} {metrics.macro_f1:>7.4f}"
        f" {sum(sum(r) for r in metrics.confusion):>8}   accuracy {metrics.accuracy:.4f}"
    )
    return "\n".join(rows)


def plot_confusion(metrics: Metrics, classes: tuple[str, ...], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = torch.tensor(metrics.confusion, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(classes), 0.8 + 0.6 * len(classes)))
    image = ax.imshow(cm / cm.sum(1, keepdim=True).clamp(min=1), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j,
                i,
                int(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if cm[i, j] > cm[i].sum() / 2 else "black",
            )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="recall")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
