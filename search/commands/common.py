"""Flags and look-ups that several commands share: the storage, the artifact store, a study."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

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
    p.add_argument("--study", required=True, metavar="NAME")
    add_storage(p)


def study_url(study: str, storage: str | None) -> tuple[str, str]:
    """(name, storage URL) of a study that already ran; the storage must exist."""
    from search.store.storage import require_existing, resolve_storage_url
    from search.study.files import check_study_name, study_file_setting

    name = check_study_name(study)
    url = resolve_storage_url(storage, study_file_setting(name, "storage"))
    require_existing(url)
    return name, url


def open_study(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(study, storage, url) of a study that already ran."""
    import optuna

    from search.store.storage import load_existing_study, open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    name, url = study_url(args.study, args.storage)
    storage = open_storage(url)
    return load_existing_study(name, storage), storage, url


def artifact_mirror(
    args: argparse.Namespace, storage: Any, file_value: str | None = None, *, reading: bool = False
) -> Any:
    """The artifact mirror; None for a reader whose local store does not exist (it holds nothing).

    A command that only reads must not create the store's directory as a side effect.
    """
    from search.store.artifacts import (
        ArtifactMirror,
        create_artifact_store,
        resolve_artifacts_location,
    )

    location = resolve_artifacts_location(args.artifacts, file_value)
    if reading and not location.startswith("s3://") and not os.path.isdir(location):
        return None
    return ArtifactMirror(create_artifact_store(location), storage)


def artifacts_location(args: argparse.Namespace, file_value: str | None = None) -> str:
    """The artifact store's location, checked (not created) before anything is written."""
    from search.store.artifacts import check_artifacts_location, resolve_artifacts_location

    return check_artifacts_location(resolve_artifacts_location(args.artifacts, file_value))
