"""`search report`: PNG plots of a study, its trials as CSV, and an index.html that shows them."""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.results.trials import trials_frame
from search.store import attrs
from search.store.anytime import Progress, describe_progress, improvements, value_se
from search.store.storage import best_trial, trial_value

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
PLOTS: dict[str, tuple[str, str]] = {
    "history": (
        "plot_optimization_history",
        "Optimization history: each trial's value and the best so far",
    ),
    "intermediate": (
        "plot_intermediate_values",
        "Validation metric per epoch: pruned trials stop early",
    ),
    "importances": ("plot_param_importances", "Parameter importances (fANOVA)"),
    "parallel": ("plot_parallel_coordinate", "Parallel coordinates of the parameters"),
    "slice": ("plot_slice", "Slices: the value against each parameter"),
}


def _figure(result):
    first = result.flat[0] if hasattr(result, "flat") else result
    return first.figure


def write_report(study: optuna.Study, out: Path) -> dict[str, str]:
    """Write the plots Optuna's matplotlib backend draws; a plot it cannot draw is listed, not fatal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    skipped: dict[str, str] = {}
    plots = dict(PLOTS)
    kwargs: dict = {}
    if len(study.directions) > 1:  # a cost study: its Pareto front, and the metric alone
        plots["pareto"] = ("plot_pareto_front", PARETO_CAPTION)
        kwargs = {"target": trial_value, "target_name": study.user_attrs.get(attrs.METRIC, "value")}
    for name, (function, caption) in plots.items():
        plot: Callable = getattr(ovm, function)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # experimental API, tight_layout on colorbars
                fig = _figure(plot(study, **_plot_kwargs(name, kwargs)))
                fig.set_size_inches(
                    max(fig.get_size_inches()[0], 9), max(fig.get_size_inches()[1], 5)
                )
                fig.tight_layout()
                fig.savefig(out / f"{name}.png", dpi=90)
            written[name] = caption
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            skipped[name] = f"{caption}: not drawn ({err})"
        finally:
            plt.close("all")
    if _plot_cost(study, out / "cost.png"):
        written["cost"] = COST_CAPTION
    progress = improvements(study)
    if _plot_progress(study, progress, out / "progress.png"):
        written["progress"] = PROGRESS_CAPTION
    trials_frame(study).to_csv(out / "trials.csv", index=False)
    top = best_trial(study)
    line = describe_progress(progress, se=value_se(top))
    _write_index(study, out, top, written, skipped, line)
    return written


PARETO_CAPTION = "The Pareto front: no trial is both better and cheaper than one on the front"


def _plot_kwargs(name: str, target: dict) -> dict:
    """A cost study's plots of one objective name it; the front and the per-epoch plot take none."""
    return {} if name in ("pareto", "intermediate") else target


COST_CAPTION = "The metric against training seconds, by model: what each model's F1 costs"


def _plot_cost(study: optuna.Study, path: Path) -> bool:
    """Each finished trial at (training seconds, best value), coloured by its model."""
    import matplotlib.pyplot as plt

    points: dict[str, list[tuple[float, float]]] = {}
    for t in study.get_trials(deepcopy=False):
        cost = t.user_attrs.get(attrs.COST)
        history = t.user_attrs.get(attrs.HISTORY)
        if not cost or not history or t.state not in FINISHED:
            continue
        value = trial_value(t) if t.values else t.intermediate_values[t.last_step]
        points.setdefault(cost["model"], []).append((cost["train_seconds"], value))
    if not points:
        return False
    fig, ax = plt.subplots(figsize=(9, 5))
    for model, xy in sorted(points.items()):
        ax.scatter(*zip(*xy), label=model, s=40, alpha=0.8)
    ax.set_xlabel("training seconds (pruned trials stop early)")
    ax.set_ylabel(study.user_attrs.get(attrs.METRIC, "value"))
    ax.set_title("value against cost, by model")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


PROGRESS_CAPTION = (
    "The best value against the study's own time (every run and worker): a flat tail over many "
    "trials says more budget is unlikely to help"
)


def _plot_progress(study: optuna.Study, progress: Progress, path: Path) -> bool:
    """The best-so-far step curve over study time, from the runs' recorded spans."""
    import matplotlib.pyplot as plt

    steps, spent = progress.steps, progress.spent
    if not steps:
        return False
    minutes = [s.seconds / 60 for s in steps] + [spent / 60]
    values = [s.value for s in steps] + [steps[-1].value]
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.step(minutes, values, where="post")
    ax.scatter(minutes[:-1], values[:-1], s=30, zorder=3)
    for s in steps:
        ax.annotate(
            f"#{s.trial}", (s.seconds / 60, s.value), textcoords="offset points", xytext=(3, 4)
        )
    ax.set_xlabel("study time (minutes; all runs and workers)")
    ax.set_ylabel(f"best {study.user_attrs.get(attrs.METRIC, 'value')} so far")
    ax.set_title("how the best value evolved")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _write_index(
    study: optuna.Study,
    out: Path,
    top: FrozenTrial | None,
    written: dict[str, str],
    skipped: dict[str, str],
    progress: str | None,
) -> None:
    best = (
        f"best value {trial_value(top):.4f} (trial {top.number})"
        if top
        else "no complete trial yet"
    )
    figures = "\n".join(
        f'<figure><img src="{name}.png" alt="{html.escape(c)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for name, c in written.items()
    )
    notes = "".join(f"<li>{html.escape(text)}</li>" for text in skipped.values())
    if progress:
        best = f"{best}. {progress}"
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(study.study_name)}: search report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}} img{{max-width:100%}}</style></head>
<body><h1>{html.escape(study.study_name)}</h1>
<p>{len(study.trials)} trials, {best}. All trials: <a href="trials.csv">trials.csv</a>.</p>
{figures}
{f"<ul>{notes}</ul>" if notes else ""}
</body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")
