"""`search data`: a look at a study's images before searching (counts, sizes, duplicates, leaks).

It splits the data exactly as a trial will, reads only image headers, and hashes files to find
exact duplicates, within a split and across splits (a leak that flatters validation).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import torch

from search.results.crop import crop_lines, crop_summary
from search.trainer.data.config import DataConfig
from search.trainer.data.load import load_dataset
from search.trainer.data.pipeline import read_header
from search.trainer.data.resolve import resolve_data_config
from search.trainer.data.sources import SOURCES, list_samples
from search.trainer.data.splits import SPLITS, assign
from search.trainer.metrics import resampled_se

IMBALANCE_ADVICE = 3.0
"""From this ratio of the largest class to the smallest, accuracy stops telling the truth."""
ASSUMED_RECALL = 0.8
"""Before any model exists, the val split's noise is shown for one that gets this share of
every class right, its errors spread evenly over the other classes."""


def _builtin_facts(config: DataConfig) -> dict[str, Any]:
    ds = load_dataset(config)
    labels = {s: ds.split(s).labels for s in SPLITS}
    hashes = {
        s: [hashlib.sha256(bytes(img.flatten().tolist())).hexdigest() for img in ds.split(s).images]
        for s in SPLITS
    }
    height, width = ds.height_width
    size = f"{width}x{height}"
    total = sum(len(v) for v in labels.values())
    return {
        "classes": ds.classes,
        "labels": labels,
        "hashes": hashes,
        "sizes": {size: total},
        "modes": {"L": total},
        "unreadable": [],
        "groups": None,
    }


def _file_facts(config: DataConfig) -> dict[str, Any]:
    samples = list_samples(config)
    sizes, modes, unreadable, kept = Counter(), Counter(), [], []
    for i, file in enumerate(samples.files):
        try:
            width, height, mode = read_header(file)  # as a streamed dataset checks its files
        except OSError:
            unreadable.append(file)
            continue
        sizes[f"{width}x{height}"] += 1
        modes[mode] += 1
        kept.append(i)
    all_labels = torch.tensor(samples.labels, dtype=torch.int64)[kept]
    groups = [samples.groups[i] for i in kept] if samples.groups else None
    parts = assign(
        all_labels,
        samples.classes,
        given=[samples.splits[i] for i in kept] if samples.splits else None,
        groups=groups,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        generator=torch.Generator().manual_seed(config.seed),
    )
    files = [samples.files[i] for i in kept]
    return {
        "classes": samples.classes,
        "labels": {s: all_labels[idx] for s, idx in parts.items()},
        "hashes": {s: [_file_hash(files[j]) for j in idx.tolist()] for s, idx in parts.items()},
        "sizes": dict(sizes.most_common()),
        "modes": dict(modes.most_common()),
        "unreadable": unreadable,
        "groups": {s: len({groups[j] for j in idx.tolist()}) for s, idx in parts.items()}
        if groups
        else None,
    }


def _file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _duplicates(hashes: dict[str, list[str]]) -> dict[str, int]:
    """Images whose exact bytes appear more than once: within one split, and across splits."""
    where: dict[str, list[str]] = defaultdict(list)
    for split, values in hashes.items():
        for value in values:
            where[value].append(split)
    within = sum(len(s) - len(set(s)) for s in where.values())
    across = sum(1 for s in where.values() if len(set(s)) > 1)
    return {"within_splits": within, "across_splits": across}


def val_noise(val_counts: list[int]) -> float | None:
    """The bootstrap standard error of val macro-F1 on a split of these class counts, for the
    model ASSUMED_RECALL describes: how finely the split can tell two trials apart."""
    classes = len(val_counts)
    if classes < 2 or not sum(val_counts):
        return None
    counts = torch.tensor(val_counts, dtype=torch.float64).unsqueeze(1)
    wrong = counts * (1 - ASSUMED_RECALL) / (classes - 1)
    # Expected counts: the bootstrap draws each cell as Poisson, so they need not be whole.
    confusion = wrong.expand(-1, classes) * (1 - torch.eye(classes, dtype=torch.float64))
    confusion += torch.diag(counts.squeeze(1) * ASSUMED_RECALL)
    return resampled_se(confusion, "macro_f1")


def summarize(config: DataConfig, model: str) -> dict[str, Any]:
    """Counts per split and class, imbalance, sizes and modes, duplicates, groups, and advice."""
    resolved = resolve_data_config(config, model)
    facts = _builtin_facts(resolved) if SOURCES.get(config.source).builtin else _file_facts(resolved)
    classes = facts["classes"]
    counts = {
        split: dict(zip(classes, torch.bincount(labels, minlength=len(classes)).tolist()))
        for split, labels in facts["labels"].items()
    }
    totals = [sum(counts[s][c] for s in SPLITS) for c in classes]
    imbalance = max(totals) / max(1, min(totals))
    duplicates = _duplicates(facts["hashes"])
    val_counts = [counts["val"][c] for c in classes]
    noise = val_noise(val_counts)
    summary = {
        "source": config.csv or config.path or config.source,
        "classes": list(classes),
        "counts": counts,
        "imbalance": round(imbalance, 2),
        "sizes": facts["sizes"],
        "crop": crop_summary(resolved, facts["sizes"]),
        "modes": facts["modes"],
        "unreadable": facts["unreadable"],
        "duplicates": duplicates,
        "groups": facts["groups"],
        "val_macro_f1_se": round(noise, 4) if noise is not None else None,
        "rarest_val_class": classes[min(range(len(classes)), key=val_counts.__getitem__)],
    }
    summary["advice"] = advice(summary)
    return summary


def advice(summary: dict[str, Any]) -> str:
    """One line on what to do first."""
    if summary["duplicates"]["across_splits"]:
        return (
            f"{summary['duplicates']['across_splits']} identical images sit in two splits: "
            "validation is flattered; remove the copies or tie them with group_column"
        )
    if summary["imbalance"] >= IMBALANCE_ADVICE:
        return (
            f"imbalance {summary['imbalance']:.0f}:1: optimise val_macro_f1 (not accuracy); "
            "consider loss focal or weighted_ce"
        )
    if summary["unreadable"]:
        return f"{len(summary['unreadable'])} files cannot be read and will be skipped"
    return "classes are balanced and splits are clean: val_accuracy and val_macro_f1 will agree"


def render(summary: dict[str, Any]) -> str:
    classes = summary["classes"]
    width = max(12, *(len(c) for c in classes))
    rows = [f"{'class':<{width}} {'train':>7} {'val':>7} {'test':>7}"]
    for c in classes:
        rows.append(f"{c:<{width}} " + " ".join(f"{summary['counts'][s][c]:>7}" for s in SPLITS))
    sizes = ", ".join(f"{k} ({v})" for k, v in list(summary["sizes"].items())[:5])
    modes = ", ".join(f"{k} ({v})" for k, v in summary["modes"].items())
    dup = summary["duplicates"]
    lines = [
        f"data     {summary['source']}: {len(classes)} classes",
        *rows,
        f"imbalance {summary['imbalance']:.1f}:1 (largest class / smallest)",
        *_noise_line(summary),
        f"sizes    {sizes}",
        *crop_lines(summary["crop"]),
        f"modes    {modes}",
        f"unreadable {len(summary['unreadable'])}"
        + (f": {', '.join(summary['unreadable'][:5])}" if summary["unreadable"] else ""),
        f"duplicates {dup['within_splits']} within splits, {dup['across_splits']} across splits",
    ]
    if summary["groups"]:
        lines.append("groups   " + ", ".join(f"{s} {n}" for s, n in summary["groups"].items()))
    lines.append(f"advice   {summary['advice']}")
    return "\n".join(lines)


def _noise_line(summary: dict[str, Any]) -> list[str]:
    se = summary["val_macro_f1_se"]
    if se is None:
        return []
    rarest = summary["rarest_val_class"]
    return [
        f"val noise ±{se:.3f} on macro-F1 (bootstrap standard error for a model right on "
        f"{ASSUMED_RECALL:.0%} of each class; rarest val class {rarest}: "
        f"{summary['counts']['val'][rarest]} images): trials closer than that are not clearly apart"
    ]


def plot_balance(summary: dict[str, Any], path: Path) -> Path:
    """Images per class and split, as grouped bars: the imbalance at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = summary["classes"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(classes) + 2), 4.0))
    width = 0.27
    for i, split in enumerate(SPLITS):
        values = [summary["counts"][split][c] for c in classes]
        positions = [k + (i - 1) * width for k in range(len(classes))]
        ax.bar(positions, values, width, label=split)
    ax.set_xticks(range(len(classes)), classes, rotation=45 if len(classes) > 8 else 0, ha="right")
    ax.set_ylabel("images")
    ax.set_title(f"class balance (imbalance {summary['imbalance']:.1f}:1)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
