"""A CSV or TSV manifest with a row per image: the `csv` source."""

from __future__ import annotations

import os

from search.trainer.data.config import DataConfig
from search.trainer.data.errors import DataError
from search.trainer.data.samples import SPLIT_VALUES, Samples


def read_manifest(path: str, columns: dict[str, str | None]):
    """A CSV or TSV as strings, and the files of its path column, relative to its folder.

    `columns` maps each config key to the column it names (None: not used); a missing one is
    a DataError naming the key and the columns there are. The path column comes first.
    """
    import pandas as pd

    sep = "\t" if path.endswith((".tsv", ".tab")) else ","
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = " ".join(str(err).split())[:160]
        raise DataError(f"{path}: not a readable CSV ({first})", "csv") from None
    for key, column in columns.items():
        if column is not None and column not in table.columns:
            listed = ", ".join(map(str, table.columns[:20]))
            raise DataError(f"{path}: no column {column!r}; its columns: {listed}", key)
    if table.empty:
        raise DataError(f"{path}: has no rows", "csv")
    base = os.path.dirname(os.path.abspath(path))
    path_column = next(iter(columns.values()))
    return table, [os.path.join(base, p) for p in table[path_column]]


def list_csv(config: DataConfig) -> Samples:
    path = config.csv
    assert path is not None
    named = {
        "path_column": config.path_column,
        **{f"label_columns[{i}]": c for i, c in enumerate(config.label_columns)},
        "split_column": config.split_column,
        "group_column": config.group_column,
    }
    table, files = read_manifest(path, named)
    missing = [p for p, f in zip(table[config.path_column], files) if not os.path.isfile(f)]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(files)} files in {path} do not exist, first: "
            f"{', '.join(missing[:5])}",
            "csv",
        )
    names = table[list(config.label_columns)].astype(str).agg("_".join, axis=1)
    classes = tuple(sorted(names.unique()))
    index = {name: k for k, name in enumerate(classes)}
    if len(classes) < 2:
        raise DataError(f"{path}: needs at least 2 classes, found {len(classes)}", "label_columns")
    splits = None
    if config.split_column is not None:
        raw = table[config.split_column].str.strip().str.lower()
        unknown = sorted(set(raw) - set(SPLIT_VALUES))
        if unknown:
            raise DataError(
                f"{path}: split values must be train, val or test; found {', '.join(unknown[:5])}",
                "split_column",
            )
        splits = [SPLIT_VALUES[v] for v in raw]
    groups = list(table[config.group_column]) if config.group_column is not None else None
    return Samples(files, [index[n] for n in names], classes, splits, groups)
