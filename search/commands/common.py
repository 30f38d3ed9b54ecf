"""Flags and look-ups that several commands share: the storage, the artifact store, a study."""

from __future__ import annotations

import argparse
from typing import Any

from search.env import ARTIFACTS_ENV, STORAGE_ENV


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


def artifact_mirror(args: argparse.Namespace, storage: Any, file_value: str | None = None) -> Any:
    from search.store.artifacts import (
        ArtifactMirror,
        create_artifact_store,
        resolve_artifacts_location,
    )

    location = resolve_artifacts_location(args.artifacts, file_value)
    return ArtifactMirror(create_artifact_store(location), storage)
