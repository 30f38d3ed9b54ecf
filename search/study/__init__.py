"""A study from its file: config, search space, sampler and pruner, resume, runner, workers."""
