"""Train/val/test splits: stratified by class, and never splitting a group across two splits."""

from __future__ import annotations

from collections import Counter, defaultdict

import torch

from search.trainer.data.errors import DataError

SPLITS = ("train", "val", "test")


def stratified(
    labels: torch.Tensor,
    classes: tuple[str, ...],
    fractions: dict[str, float],
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Indices per split; each class is cut in the same proportions (at least one per split)."""
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in SPLITS}
    for k in labels.unique().tolist():
        idx = (labels == k).nonzero().squeeze(1)
        need = 1 + sum(1 for s in fractions if fractions[s] > 0)
        if len(idx) < need:
            raise DataError(
                f"class {classes[k]} has {len(idx)} images; each class needs at least {need} "
                "to split"
            )
        idx = idx[torch.randperm(len(idx), generator=generator)]
        start = 0
        for name in ("val", "test"):
            n = max(1, round(len(idx) * fractions[name])) if fractions.get(name, 0) > 0 else 0
            parts[name].append(idx[start : start + n])
            start += n
        parts["train"].append(idx[start:])
    return {name: _joined(p) for name, p in parts.items()}


def grouped(
    labels: torch.Tensor,
    groups: list[str],
    classes: tuple[str, ...],
    fractions: dict[str, float],
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Whole groups per split, filled greedily so that each class gets about its fraction.

    Groups holding the rarest classes are placed first, while val and test still need them;
    a group joins a split that still lacks one of its classes, unless it would take another
    of its classes past twice its share there.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    totals = Counter(labels.tolist())
    shuffled = [list(members)[i] for i in torch.randperm(len(members), generator=generator)]
    rarity = {g: min(totals[k] for k in labels[members[g]].tolist()) for g in shuffled}
    order = sorted(shuffled, key=rarity.__getitem__)  # stable: ties keep the random order
    share = {
        name: {k: max(1, round(n * fractions.get(name, 0))) for k, n in totals.items()}
        for name in ("val", "test")
    }
    filled = {name: Counter() for name in SPLITS}
    chosen: dict[str, list[int]] = {name: [] for name in SPLITS}
    for group in order:
        counts = Counter(labels[members[group]].tolist())
        target = "train"
        for name in ("val", "test"):
            if fractions.get(name, 0) <= 0:
                continue
            lacking = any(filled[name][k] < share[name][k] for k in counts)
            fits = all(filled[name][k] + n <= 2 * share[name][k] for k, n in counts.items())
            if lacking and fits:
                target = name
                break
        filled[target].update(counts)
        chosen[target] += members[group]
    for name in ("val", "test"):
        if fractions.get(name, 0) > 0:
            absent = [classes[k] for k in totals if filled[name][k] == 0]
            if absent:
                raise DataError(
                    f"the groups leave class {', '.join(absent[:5])} out of {name}: each of its "
                    "groups holds too many of its images; add images or lower the split fraction"
                )
    return {name: torch.tensor(sorted(idx), dtype=torch.int64) for name, idx in chosen.items()}


def _joined(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(parts).sort().values if parts else torch.empty(0, dtype=torch.int64)


def assign(
    labels: torch.Tensor,
    classes: tuple[str, ...],
    *,
    given: list[str] | None,
    groups: list[str] | None,
    val_fraction: float,
    test_fraction: float,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Indices of train, val and test: the given split where there is one, else cut here.

    A given split without test rows gets a test split cut from its train rows.
    """
    fractions = {"val": val_fraction, "test": test_fraction}
    if given is None:
        if groups is not None:
            return grouped(labels, groups, classes, fractions, generator)
        return stratified(labels, classes, fractions, generator)
    index = {name: [i for i, s in enumerate(given) if s == name] for name in SPLITS}
    if not index["val"]:
        raise DataError("the given split has no val rows")
    out = {name: torch.tensor(index[name], dtype=torch.int64) for name in SPLITS}
    if not index["test"]:
        train = out["train"]
        sub_groups = [groups[i] for i in index["train"]] if groups is not None else None
        cut = assign(
            labels[train],
            classes,
            given=None,
            groups=sub_groups,
            val_fraction=0.0,
            test_fraction=test_fraction,
            generator=generator,
        )
        out["train"], out["test"] = train[cut["train"]], train[cut["test"]]
    missing = [
        classes[k] for k in labels.unique().tolist() if k not in set(labels[out["train"]].tolist())
    ]
    if missing:
        raise DataError(f"class {', '.join(missing[:5])} has no image in train")
    return out
