"""Everything checked before a study starts, in one place, so that bad input writes nothing."""

from __future__ import annotations

from search.study.config import StudyConfig
from search.study.pruners import create_pruner
from search.study.samplers import create_sampler
from search.trainer.checks import check_train_config


def check_study(config: StudyConfig, source: str) -> None:
    """Build the sampler and pruner, look the model up in timm and decode the images.

    Each failure is a ConfigError naming `source` and the key.
    """
    create_sampler(config.sampler, source=source)
    create_pruner(config.pruner, source=source)
    check_train_config(config.train, source, "train")
