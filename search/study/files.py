"""Study files on disk: `--study NAME` is `studies/NAME.yaml`, or a path to a YAML file."""

from __future__ import annotations

import os
import re
from typing import Any

from search.errors import SearchError, shown
from search.store.paths import STUDIES_DIR
from search.yaml_read import read_yaml

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_study_name(name: str, source: str = "--study") -> str:
    if not STUDY_NAME.fullmatch(name):
        raise SearchError(
            f"{source}: {shown(name)} is not a safe study name; use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def resolve_study_file(study: str) -> tuple[str, str]:
    """(name, path) for `--study NAME` (studies/NAME.yaml) or `--study path/to/file.yaml`."""
    if _is_path(study):
        path = study
        name = os.path.splitext(os.path.basename(study))[0]
    else:
        name = check_study_name(study)
        path = str(STUDIES_DIR / f"{study}.yaml")
    if not os.path.isfile(path):
        if os.path.exists(path):
            raise SearchError(f"{path}: not a regular file")
        known = (
            sorted(f[:-5] for f in os.listdir(STUDIES_DIR) if f.endswith(".yaml"))
            if STUDIES_DIR.is_dir()
            else []
        )
        listed = (
            f"; studies here: {', '.join(known)}" if known else f"; no studies in {STUDIES_DIR}/"
        )
        raise SearchError(f"{shown(path)}: no such study file{listed}")
    if not path.endswith((".yaml", ".yml")):
        # Never read (and so never echo) a file not meant as a study file: /etc/shadow, say.
        raise SearchError(f"--study {shown(path)}: a study file must end in .yaml or .yml")
    return check_study_name(name, path), path


def _is_path(study: str) -> bool:
    return study.endswith((".yaml", ".yml")) or os.sep in study


def locate_study(study: str) -> tuple[str, str | None]:
    """(stored name, study file or None) of a study that ran: `--study NAME` (its file
    studies/NAME.yaml, when there is one) or `--study path/to/file.yaml` (named by the file)."""
    if _is_path(study):
        return resolve_study_file(study)
    name = check_study_name(study)
    path = STUDIES_DIR / f"{name}.yaml"
    return name, str(path) if path.is_file() else None


def study_file_setting(path: str | None, key: str) -> Any:
    """A top-level key of a study file (its storage, say), or None without such a file."""
    if path is None or not os.path.isfile(path):
        return None
    data = read_yaml(path)
    return data.get(key) if isinstance(data, dict) else None
