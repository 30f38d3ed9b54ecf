"""Where `search` keeps things on disk, named once: everything lives under `runs/`."""

from __future__ import annotations

import os
from pathlib import Path

from search.errors import SearchError
from search.store.urls import canonical, storage_key

RUNS_DIR = Path("runs")
STUDIES_DIR = Path("studies")


def check_creatable_dir(path: str, label: str) -> None:
    """Raise SearchError, starting with `label`, unless directory `path` exists or could be made.

    Creates nothing: bad input must leave nothing behind.
    """
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise SearchError(f"{label}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SearchError(f"{label}: {probe} is not writable")


def default_storage_url() -> str:
    return f"sqlite:///{RUNS_DIR / 'search.db'}"


def default_artifacts_dir() -> Path:
    return RUNS_DIR / "artifacts"


def study_dir(study_name: str, storage_url: str) -> Path:
    """A study's checkpoints (`trials/<n>/` and the `best` link), unique per storage and study.

    runs/<study> for the default storage, runs/<study>-<8 hex of the storage URL> for any
    other: two studies of one name in two databases never share a checkpoint.
    """
    if canonical(storage_url) == canonical(default_storage_url()):
        return RUNS_DIR / study_name
    return RUNS_DIR / f"{study_name}-{storage_key(storage_url)}"


def data_report_dir(study_name: str) -> Path:
    """`search data` output: about the images, whatever storage the study uses."""
    return RUNS_DIR / "data" / study_name


def evaluation_dir() -> Path:
    return RUNS_DIR / "evaluate"


def report_dir(study_name: str, storage_url: str) -> Path:
    return study_dir(study_name, storage_url) / "report"


def train_dir(config_path: str) -> Path:
    """`search train --config best.yaml` writes to runs/train/best/."""
    return RUNS_DIR / "train" / os.path.splitext(os.path.basename(config_path))[0]
