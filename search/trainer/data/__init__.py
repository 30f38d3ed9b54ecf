"""Images for training: config, sources, splits, the memory and stream pipelines, augmentation.

Modules are imported by their full names: this package re-exports nothing, so that reading
its config does not import torch.
"""
