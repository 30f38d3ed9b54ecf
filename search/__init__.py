"""search: hyperparameter search for PyTorch image classifiers.

    import search
    study = search.run("smoke", n_trials=2)       # an optuna.Study
    print(search.best("smoke")["value"])

Importing the package is cheap: torch, timm and optuna are imported only by the functions
that need them, so `search --help` stays fast.
"""

from search.api import best, export, predict, run, train

__all__ = ["best", "export", "predict", "run", "train"]
__version__ = "0.1.0"
