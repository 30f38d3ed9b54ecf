"""Where `search` keeps things on disk, named once: everything lives under `runs/`."""

from __future__ import annotations

import os
from pathlib import Path

RUNS_DIR = Path("runs")
STUDIES_DIR = Path("studies")


def default_storage_url() -> str:
    return f"sqlite:///{RUNS_DIR / 'search.db'}"


def default_artifacts_dir() -> Path:
    return RUNS_DIR / "artifacts"


def study_dir(study_name: str) -> Path:
    """A study's checkpoints: `trials/<n>/` and the `best` link."""
    return RUNS_DIR / study_name


def report_dir(study_name: str) -> Path:
    return study_dir(study_name) / "report"


def train_dir(config_path: str) -> Path:
    """`search train --config best.yaml` writes to runs/train/best/."""
    return RUNS_DIR / "train" / os.path.splitext(os.path.basename(config_path))[0]
