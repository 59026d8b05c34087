"""Integrations with search tools people already run; each is an optional extra (`pip install ".[tune]"`).

- `pytrainc.integrations.optuna`: `PruningCallback(trial, monitor)`, which
  reports each epoch to an Optuna trial and stops pruned trials.
- `pytrainc.integrations.hyperopt`: `objective(build_model, ...)`, which
  turns a `build_model(params)` into a function for `hyperopt.fmin`.

Importing this package imports neither library; each module imports its own
when it is imported.
"""
