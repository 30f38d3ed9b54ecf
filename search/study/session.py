"""A study made ready to run, in one place: its file read and checked, its storage opened,
the Optuna study created or resumed with the sampler and pruner the checks built, its best
checkpoint's keeper and its clock. Nothing is written before every check has passed."""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from search import faults
from search.store.artifacts import check_artifacts_location, open_mirror, resolve_artifacts_location
from search.store.checkpoint import BestKeeper
from search.store.clock import StudyClock
from search.store.paths import study_dir
from search.store.storage import open_storage, resolve_storage_url
from search.study.checks import check_study
from search.study.config import StudyConfig, load_study_config
from search.study.create import create_or_resume
from search.study.files import check_study_name, resolve_study_file
from search.trainer.data.dataset import Dataset
from search.trainer.data.load import Datasets


@dataclass(frozen=True)
class StudyFile:
    """A study file read, with the run's overrides applied."""

    name: str
    """The name the study is stored under: the file's, or --name."""
    path: str
    config: StudyConfig
    seed: int | None = None


def read_study_file(
    study: str,
    *,
    name: str | None = None,
    seed: int | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    budget: float | str | None = None,
) -> StudyFile:
    """`study` (a name in studies/ or a path) as config, with the run's overrides."""
    file_name, path = resolve_study_file(study)
    config = load_study_config(path)
    if seed is not None:
        config = config.with_overrides(train=config.train.replace(seed=seed))
    config = config.with_overrides(n_trials=n_trials, timeout=timeout, budget=budget)
    stored = check_study_name(name, "--name") if name is not None else file_name
    return StudyFile(stored, path, config, seed)


@dataclass(frozen=True)
class PreparedStudy:
    file: StudyFile
    url: str
    study: optuna.Study
    keeper: BestKeeper
    clock: StudyClock
    datasets: Datasets
    dataset: Dataset
    """The `train:` model's dataset, already loaded."""

    @property
    def config(self) -> StudyConfig:
        return self.file.config


def prepare_study(
    file: StudyFile, *, storage: str | None = None, artifacts: str | None = None
) -> PreparedStudy:
    """Check everything, then open the storage and create or resume the study."""
    config = file.config
    # Our own line per trial says what Optuna's log would, without its tracebacks.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    checked = check_study(config, file.path, seed=file.seed)
    location = check_artifacts_location(resolve_artifacts_location(artifacts, config.artifacts))
    url = resolve_storage_url(storage, config.storage)
    rdb = open_storage(url, config.heartbeat)
    study = create_or_resume(
        file.name, config, rdb, seed=file.seed, sampler=checked.sampler, pruner=checked.pruner
    )
    faults.reach("study-ready")
    keeper = BestKeeper(study_dir(file.name, url), open_mirror(location, rdb))
    clock = StudyClock(study, config.budget_s)
    return PreparedStudy(file, url, study, keeper, clock, checked.datasets, checked.dataset)
