"""The search space: the only place that calls `trial.suggest_*`.

A parameter may be conditional: `when: {sched: step}` suggests it only when the earlier
categorical parameter `sched` took that value (or one of a list of values).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from search.errors import shown
from search.yaml_dataclasses import FieldError, given_keys

if TYPE_CHECKING:
    from search.trainer.config import TrainConfig

Choice = bool | int | float | str


@dataclass(frozen=True)
class ParamSpec:
    """One searched TrainConfig key."""

    type: Literal["categorical", "int", "float"]
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    """Sample uniformly in log space (low must be > 0)."""
    step: int | float | None = None
    choices: list[Choice] | None = None
    when: dict[str, Choice | list[Choice]] | None = None
    """Suggest only when earlier categorical parameters took these values."""

    def __post_init__(self) -> None:
        if self.type == "categorical":
            if self.choices is None:
                raise FieldError("choices", "is required for a categorical parameter")
            if not self.choices:
                raise FieldError("choices", "must list at least one value")
            if len(set(map(repr, self.choices))) != len(self.choices):
                raise FieldError("choices", f"has duplicates: {shown(self.choices)}")
            for key in ("low", "high", "step"):
                if getattr(self, key) is not None:
                    raise FieldError(key, "applies to int and float parameters, not categorical")
            if self.log:
                raise FieldError("log", "applies to int and float parameters, not categorical")
            return
        if self.choices is not None:
            raise FieldError("choices", f"applies to categorical parameters, not {self.type}")
        if self.low is None or self.high is None:
            raise FieldError(
                "low" if self.low is None else "high", f"is required for a {self.type} parameter"
            )
        if self.type == "int":
            for key in ("low", "high", "step"):
                value = getattr(self, key)
                if value is not None and not float(value).is_integer():
                    raise FieldError(key, f"must be an integer for an int parameter, got {value}")
        if self.low > self.high:
            raise FieldError("low", f"must be <= high, got low={self.low} > high={self.high}")
        if self.log and self.low <= 0:
            raise FieldError("low", f"must be > 0 for a log range, got {self.low}")
        if self.log and self.step is not None:
            raise FieldError("step", "cannot be combined with log: true")
        if self.step is not None and self.step <= 0:
            raise FieldError("step", f"must be > 0, got {self.step}")

    def condition_values(self, param: str) -> list[Choice]:
        assert self.when is not None
        value = self.when[param]
        return value if isinstance(value, list) else [value]

    def applies(self, chosen: dict[str, Any]) -> bool:
        """Whether every `when` condition holds for the parameters chosen so far."""
        if not self.when:
            return True
        return all(p in chosen and chosen[p] in self.condition_values(p) for p in self.when)

    def bounds(self) -> list[Choice]:
        """The values at the edges of the range: checking both validates the whole range."""
        if self.type == "categorical":
            return list(self.choices or [])
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]


def suggest(trial: Any, space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Sample one point of `space` in file order, skipping parameters whose condition fails."""
    chosen: dict[str, Any] = {}
    for name, spec in space.items():
        if not spec.applies(chosen):
            continue
        if spec.type == "categorical":
            chosen[name] = trial.suggest_categorical(name, spec.choices)
        elif spec.type == "int":
            step = int(spec.step) if spec.step is not None else 1
            chosen[name] = trial.suggest_int(
                name, int(spec.low), int(spec.high), step=step, log=spec.log
            )
        else:
            chosen[name] = trial.suggest_float(
                name, float(spec.low), float(spec.high), step=spec.step, log=spec.log
            )
    return chosen


def baseline_params(space: dict[str, ParamSpec], fixed: dict[str, Any]) -> dict[str, Any]:
    """The `train:` section's own values for the searched keys that `space` can take: the
    config a user would have trained by hand, as Optuna params. A value outside its range (or
    not among its choices) is left out, for the sampler to pick."""
    chosen: dict[str, Any] = {}
    for name, spec in space.items():
        if not spec.applies(chosen) or name not in fixed:
            continue
        value = fixed[name]
        if spec.type == "categorical":
            if value in (spec.choices or []):
                chosen[name] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            cast = int if spec.type == "int" else float
            if float(spec.low) <= value <= float(spec.high) and (
                spec.type == "float" or float(value).is_integer()
            ):
                chosen[name] = cast(value)
    return chosen


STARTING_RECIPE: dict[str, Any] = {
    "opt": "adamw",
    "lr": 5e-3,
    "batch_size": 32,
    "sched": "cosine",
    "min_lr": 1e-6,
    "loss": "ce",
}
"""Trial 0's values for the searched keys that `train:` leaves at the trainer's defaults:
AdamW on batches of 32, cosine annealing, cross-entropy. Chosen among 13 recipes on variants
of the benchmark suite's problems (docs/benchmarks.md, "The starting recipe"); the trainer's
own lr 1e-3 and constant schedule undertrain in a few epochs."""
FINE_TUNING_LR = 3e-4
"""The recipe's lr when training starts from weights (`pretrained` or `weights`): far lower,
as fine-tuning wants."""


STARTS = ("the starting configuration", "the starting configuration, class-weighted")
CLASS_WEIGHTED = {"loss": "weighted_ce", "lr": 3e-3}
"""Trial 1's changes to the recipe: cross-entropy weighted by inverse class frequency, which
targets macro-F1 on imbalanced data, at a learning rate where it does not collapse on the
benchmark's noisiest problem (docs/benchmarks.md, "Trial 1")."""


def starting_params(space: dict[str, ParamSpec], train: TrainConfig) -> list[dict[str, Any]]:
    """The study's first trials, before the sampler: trial 0 (first_trial_params), then the
    same with CLASS_WEIGHTED's loss and lr where `train:` leaves them out (the fine-tuning lr
    from weights), when the space can hold that loss."""
    first = first_trial_params(space, train)
    weighted = first_trial_params(space, train, {**STARTING_RECIPE, **CLASS_WEIGHTED})
    if weighted.get("loss") != CLASS_WEIGHTED["loss"] or weighted == first:
        return [first]
    return [first, weighted]


def first_trial_params(
    space: dict[str, ParamSpec], train: TrainConfig, recipe: dict[str, Any] = STARTING_RECIPE
) -> dict[str, Any]:
    """Trial 0 as Optuna params: `train:`'s own values for the searched keys it sets (a value
    equal to the trainer's default included), the starting recipe for those it leaves out, each
    where the space can hold it (see baseline_params). A TrainConfig built in code, not read
    from a file, counts its non-default values as set."""
    defaults = {f.name: f.default for f in fields(train)}
    given = given_keys(train)
    fixed, unset = {}, set()
    for name in space:
        value = getattr(train, name)
        if (name not in given) if given is not None else value == defaults[name]:
            unset.add(name)
        fixed[name] = recipe.get(name, value) if name in unset else value
    first = baseline_params(space, fixed)
    # The fine-tuning lr only where trial 0's own model starts from weights.
    if "lr" in unset and train.replace(model=first.get("model", train.model)).starts_from_weights:
        first = baseline_params(space, {**fixed, "lr": FINE_TUNING_LR})
    return first
