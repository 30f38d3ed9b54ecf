"""The best checkpoint of a study, kept safe across crashes and across worker processes.

Layout under `runs/<study>/`:

    trials/<n>/          a finished trial's checkpoint, staged before Optuna is told
    best -> trials/<n>   a symlink, swapped atomically to the trial `study.best_trial` names

A trial directory is written under a temporary name, fsynced and renamed, so it is complete or
absent. `best` is replaced with one `os.replace`, so it never points at a torn directory.
Promotion and clean-up run under a file lock and re-read the study, so two workers never leave
a checkpoint that is not the study's best. Disk use stays bounded: only the best trial and
trials still running keep a directory (and, in a cost study, its Pareto front).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from search import faults
from search.errors import SearchError
from search.store import atomic
from search.store.storage import best_trial

WEIGHTS = "model.safetensors"
CONFIG = "config.yaml"
METRICS = "metrics.json"


def write_checkpoint_dir(
    target: Path, weights: dict[str, Any], config: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """Write weights (safetensors), config (plain YAML) and metrics (JSON) to `target`, atomically."""
    from safetensors.torch import save_file

    with atomic.directory(target) as tmp:
        save_file(weights, str(tmp / WEIGHTS), metadata={"format": "pt"})
        atomic.fsync_file(tmp / WEIGHTS)
        faults.reach("checkpoint")
        for name, text in (
            (CONFIG, yaml.safe_dump(config, sort_keys=False)),
            (METRICS, json.dumps(metrics, indent=2)),
        ):
            (tmp / name).write_text(text, encoding="utf-8")
            atomic.fsync_file(tmp / name)
    return target


def read_checkpoint_dir(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, metrics) of a checkpoint directory."""
    with open(path / CONFIG, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    with open(path / METRICS, encoding="utf-8") as f:
        metrics = json.load(f)
    return config, metrics


class BestKeeper:
    """Keeps `runs/<study>/best` equal to the checkpoint of `study.best_trial`."""

    def __init__(self, directory: str | Path, mirror: Any = None) -> None:
        """`mirror`, an ArtifactMirror, publishes the best to Optuna's artifact store."""
        self.dir = Path(directory)
        self.mirror = mirror
        self.trials_dir = self.dir / "trials"
        self.best_link = self.dir / "best"

    def trial_dir(self, number: int) -> Path:
        return self.trials_dir / str(number)

    def could_be_best(self, study: Any, value: float) -> bool:
        """Whether a trial at `value` could become the study's best, so its weights are worth
        copying. In a cost study the pick depends on the front: always."""
        if len(study.directions) > 1:
            return True
        best = best_trial(study)
        if best is None:
            return True
        maximize = study.direction.name == "MAXIMIZE"
        return value >= best.value if maximize else value <= best.value

    def stage(
        self, trial: Any, weights: dict[str, Any], config: dict[str, Any], metrics: dict[str, Any]
    ) -> Path:
        """Write a finishing trial's checkpoint; call while the trial runs, before it is told.

        With a mirror, the files are also uploaded as the trial's artifacts: Optuna accepts
        artifacts only while a trial runs.
        """
        path = write_checkpoint_dir(self.trial_dir(trial.number), weights, config, metrics)
        if self.mirror is not None:
            self.mirror.publish(trial, path)
        return path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def current(self) -> int | None:
        """The trial number `best` points at, or None: only a link we made, `trials/<n>`, counts."""
        try:
            target = os.readlink(self.best_link)
        except OSError:
            return None
        folder, _, number = target.partition("/")
        return int(number) if folder == "trials" and number.isdigit() else None

    def _point_best_at(self, number: int) -> None:
        tmp = self.dir / f".best-{uuid.uuid4().hex[:8]}"
        os.symlink(os.path.join("trials", str(number)), tmp)
        faults.reach("promote")
        aside = None
        if self.best_link.is_dir() and not self.best_link.is_symlink():
            # A real directory where our link belongs (after `cp -rL runs`, say): a link cannot
            # replace it in one rename, so it moves aside first and goes after the swap.
            aside = self.dir / f".old-best-{uuid.uuid4().hex[:8]}"
            os.rename(self.best_link, aside)
        os.replace(tmp, self.best_link)
        atomic.fsync_dir(self.dir)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)

    def _check_own_layout(self) -> None:
        """Refuse to list or delete through a link that `search` did not make."""
        if self.dir.is_symlink() and not self.dir.is_dir():
            raise SearchError(f"{self.dir} is a broken link; remove it")
        if self.trials_dir.is_symlink():
            raise SearchError(
                f"{self.trials_dir} is a link, not a directory search made; search deletes "
                "checkpoints only inside its own run directory: remove the link"
            )

    def promote(self, study: Any) -> int | None:
        """Point `best` at the study's best trial if its checkpoint is staged; drop dead stages.

        Lists the staged directories before reading the study: a stage written after the
        listing is left alone, and a completed trial that is not the best can never become it.
        """
        from optuna.trial import TrialState

        self._check_own_layout()
        if not self.trials_dir.is_dir() and self.mirror is None:
            return self.current()
        with self._locked():
            self.trials_dir.mkdir(exist_ok=True)
            staged = list(self.trials_dir.iterdir())
            trials = study.get_trials(deepcopy=False)
            running = {
                t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)
            }
            best_frozen = best_trial(study)
            best = best_frozen.number if best_frozen is not None else None
            previous = self.current()
            if best is not None and best != previous:
                if not self.trial_dir(best).is_dir() and self.mirror is not None:
                    # Trained on another machine: take it from the shared artifact store.
                    self.mirror.fetch(study, best, self.trial_dir(best))
                if self.trial_dir(best).is_dir():
                    self._point_best_at(best)  # the clean-up below drops the previous best
            for link in self.dir.glob(".best-*"):  # left by a kill inside _point_best_at
                link.unlink(missing_ok=True)
            for aside in self.dir.glob(".old-best-*"):
                shutil.rmtree(aside, ignore_errors=True)
            keep = {str(n) for n in running} | {str(self.current())}
            if len(study.directions) > 1:
                # A cost study keeps its whole Pareto front: a changed pick rule can choose
                # any of it, and the front is small.
                keep |= {str(t.number) for t in study.best_trials}
            for path in staged:
                name = path.name.removeprefix(".tmp-").split("-", 1)[0]
                if name in keep:
                    continue
                if path.is_symlink():
                    path.unlink()  # never delete what a link we did not make points at
                else:
                    shutil.rmtree(path, ignore_errors=True)
                if self.mirror is not None and name.isdigit():
                    self.mirror.retract(study, int(name))
        return self.current()
