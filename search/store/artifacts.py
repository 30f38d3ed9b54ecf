"""The best checkpoint mirrored into Optuna's artifact store.

Through the store, optuna-dashboard shows a trial's weights, config and metrics, and a worker on
another machine fetches the study's best checkpoint it did not train itself. Only the current
best keeps its weights in the store; a superseded best keeps its small config and metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import (
    FileSystemArtifactStore,
    download_artifact,
    get_all_artifact_meta,
    upload_artifact,
)
from optuna.artifacts.exceptions import ArtifactNotFound

from search.env import ARTIFACTS_ENV
from search.errors import SearchError
from search.store import atomic
from search.store.checkpoint import CONFIG, METRICS, WEIGHTS
from search.store.paths import check_creatable_dir, default_artifacts_dir

FILES = (WEIGHTS, CONFIG, METRICS)
MIMETYPES = {
    WEIGHTS: "application/octet-stream",
    CONFIG: "application/yaml",
    METRICS: "application/json",
}


def resolve_artifacts_location(cli_value: str | None, file_value: str | None = None) -> str:
    """--artifacts, then $SEARCH_ARTIFACTS, then the study file's `artifacts`, then runs/artifacts."""
    return cli_value or os.environ.get(ARTIFACTS_ENV) or file_value or str(default_artifacts_dir())


def check_artifacts_location(location: str) -> str:
    """Raise SearchError for a location that cannot work; creates nothing."""
    if location.startswith("s3://"):
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise SearchError(
                f"--artifacts {location}: an s3:// store needs boto3 (pip install boto3)"
            ) from None
        if not location[len("s3://") :].split("/", 1)[0]:
            raise SearchError(f"--artifacts {location}: name a bucket, as in s3://bucket")
    else:
        check_creatable_dir(location, f"--artifacts {location}")
    return location


def create_artifact_store(location: str) -> Any:
    """A directory (local or a shared mount), or s3://bucket for S3-compatible storage."""
    check_artifacts_location(location)
    if location.startswith("s3://"):
        from optuna.artifacts import Boto3ArtifactStore

        return Boto3ArtifactStore(location[len("s3://") :].split("/", 1)[0])
    os.makedirs(location, exist_ok=True)
    return FileSystemArtifactStore(location)


class ArtifactMirror:
    """Publishes, retracts and fetches a trial's checkpoint files in the artifact store."""

    def __init__(self, store: Any, storage: optuna.storages.BaseStorage) -> None:
        self.store = store
        self.storage = storage

    def _metas(self, study: optuna.Study, number: int) -> dict[str, Any]:
        """The artifacts of trial `number`; none for a number the study does not have."""
        trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
        if trial is None:
            return {}
        return {m.filename: m for m in get_all_artifact_meta(trial, storage=self.storage)}

    def publish(self, trial: optuna.Trial, directory: Path) -> None:
        """Upload a running trial's checkpoint files as its artifacts."""
        for name in FILES:
            upload_artifact(
                artifact_store=self.store,
                file_path=str(directory / name),
                study_or_trial=trial,
                mimetype=MIMETYPES[name],
            )

    def retract(self, study: optuna.Study, number: int) -> None:
        meta = self._metas(study, number).get(WEIGHTS)
        if meta is not None:
            try:
                self.store.remove(meta.artifact_id)
            except ArtifactNotFound:
                pass  # another worker retracted it first

    def fetch(self, study: optuna.Study, number: int, target: Path) -> bool:
        """Download a trial's checkpoint into `target`, whole or not at all."""
        metas = self._metas(study, number)
        if not all(name in metas for name in FILES):
            return False
        try:
            with atomic.directory(target) as tmp:
                for name in FILES:
                    download_artifact(
                        artifact_store=self.store,
                        file_path=str(tmp / name),
                        artifact_id=metas[name].artifact_id,
                    )
        except (ArtifactNotFound, OSError):
            return False
        return True


def open_mirror(
    location: str, storage: optuna.storages.BaseStorage, *, reading: bool = False
) -> ArtifactMirror | None:
    """The artifact mirror at `location`; None for a reader whose local store does not exist
    (it holds nothing), since a command that only reads must not create the store's directory."""
    if reading and not location.startswith("s3://") and not os.path.isdir(location):
        return None
    return ArtifactMirror(create_artifact_store(location), storage)
