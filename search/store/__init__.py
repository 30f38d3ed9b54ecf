"""Where results are kept: run paths, the Optuna storage, checkpoints and the artifact mirror."""
