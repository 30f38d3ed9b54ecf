"""search: hyperparameter search for PyTorch image classifiers.

Importing the package is cheap: torch, timm and optuna are imported only by the modules that
need them, so `search --help` stays fast.
"""

__version__ = "0.1.0"
