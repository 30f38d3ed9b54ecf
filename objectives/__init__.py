"""Objectives: the glue between an Optuna trial and the trainer.

A study file names one in its `objective` key; `classify` is the image classifier. An
objective may import the study, store and trainer layers; nothing in `search` but the
command line imports an objective.
"""
