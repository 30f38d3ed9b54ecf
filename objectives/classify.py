"""Image classification: suggest -> build -> train epoch by epoch -> report -> prune -> return.

The canonical Optuna objective (optuna-examples' pytorch_simple.py) around `search.trainer`.
It returns the trial's best validation metric and stages that epoch's weights for the study's
best checkpoint when they could beat every finished trial.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

import optuna

from search import faults
from search.store import attrs
from search.store.checkpoint import BestKeeper
from search.study.config import StudyConfig
from search.study.live import LiveReporter
from search.study.space import suggest
from search.trainer.config import TrainConfig
from search.trainer.data.load import Datasets
from search.trainer.fit import FitRecord
from search.trainer.loop import Trainer
from search.trainer.report import describe_failure, free_memory, placement
from search.yaml_dataclasses import to_mapping


class ClassifyObjective:
    """Callable objective for `study.optimize`; one instance serves all trials of a worker."""

    def __init__(
        self,
        config: StudyConfig,
        keeper: BestKeeper,
        out_of_time: Callable[[], bool] = lambda: False,
        datasets: Datasets | None = None,
    ) -> None:
        self.config = config
        self.keeper = keeper
        self.out_of_time = out_of_time
        """Whether the study's budget is spent: the trial then stops after its epoch."""
        self.datasets = datasets if datasets is not None else Datasets()

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        config = self.config.train
        try:
            config = config.replace(**suggest(trial, self.config.space)).for_model()
            trial.set_user_attr(attrs.TRAIN_CONFIG, to_mapping(config))
            return self._train(trial, config)
        except optuna.TrialPruned:
            raise
        except BaseException as err:
            trial.set_user_attr(attrs.FAIL_REASON, describe_failure(err, config))
            # The traceback holds the trainer and its tensors: drop them before the next trial.
            traceback.clear_frames(err.__traceback__)
            raise
        finally:
            free_memory()

    def _train(self, trial: optuna.Trial, config: TrainConfig) -> float | tuple[float, float]:
        metric, single = self.config.metric, self.config.cost_objective is None
        trainer = Trainer(config, self.datasets.for_training(config), metric=metric)
        attrs.record_start(trial, placement(trainer), trainer.dataset, trainer.starting_weights)
        fit = FitRecord(trainer)
        trainer.on_batch = LiveReporter(trial, fit)
        # Optuna prunes single-objective studies only; the starting trials are the floor.
        may_prune = single and attrs.START not in trial.user_attrs
        for result in fit.epochs(lambda value: self.keeper.could_be_best(trial.study, value)):
            value = fit.history[-1][metric]
            cost = {"model": config.model, **trainer.cost()}
            attrs.record_epoch(trial, result.epoch, fit.history, cost, trainer.oom_retries)
            if single:
                trial.report(value, result.epoch)
            faults.reach("epoch")
            if result.epoch == config.epochs:
                break  # stopping now would save nothing and discard a finished trial
            reason = None
            if may_prune and trial.should_prune():
                reason = f"pruned after epoch {result.epoch}: {metric}={value:.4f}"
            elif self.out_of_time():
                reason = f"stopped after epoch {result.epoch}: the study's budget is spent"
            if reason is not None:
                trial.set_user_attr(attrs.PRUNED_REASON, reason)
                raise optuna.TrialPruned(reason)
        attrs.record_best(trial, fit.best_epoch, fit.best_se())
        if fit.best_weights is not None:
            summary = fit.metrics(study=trial.study.study_name, trial=trial.number)
            self.keeper.stage(trial, fit.best_weights, to_mapping(config), summary)
        return fit.best_value if single else (fit.best_value, trainer.cost()["train_seconds"])
