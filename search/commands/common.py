"""Flags that several commands share: the storage, the artifact store, a study, numbers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from search.env import ARTIFACTS_ENV, STORAGE_ENV
from search.errors import SearchError


def positive(kind: type):
    """An argparse type: a number of `kind` that must be > 0."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def bounded_int(low: int, high: int, what: str):
    """An argparse type: an integer with low <= value <= high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low} to {high}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def output_file(path: str) -> Path:
    """`-o FILE` checked before any work: a file name in a directory that exists."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise SearchError(
            f"-o {path}: is a directory; give a file name, such as {path.rstrip('/')}/best.yaml"
        )
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise SearchError(f"-o {path}: directory {parent} does not exist")
    return Path(path)


def add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        metavar="URL",
        help=f"Optuna storage URL (default: ${STORAGE_ENV}, then the study file's storage, "
        "then sqlite:///runs/search.db)",
    )


def add_artifacts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--artifacts",
        metavar="PATH",
        help="artifact store: a directory shared by all machines, or s3://bucket "
        f"(default: ${ARTIFACTS_ENV}, then the study file's artifacts, then runs/artifacts)",
    )


def add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--study",
        required=True,
        metavar="NAME|PATH",
        help="a study's name, or the path of the study file it ran from",
    )
    add_storage(p)
