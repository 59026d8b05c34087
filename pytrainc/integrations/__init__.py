"""Integrations with search tools people already run; each is an optional extra (`pip install ".[tune]"`).

- `pytrainc.integrations.optuna`: `PruningCallback(trial, monitor)`, which
  reports each epoch to an Optuna trial and stops pruned trials.
- `pytrainc.integrations.hyperopt`: `objective(build_model, ...)`, which
  turns a `build_model(params)` into a function for `hyperopt.fmin`.
- `pytrainc.integrations.ray`: `ReportCallback()`, which reports each epoch
  to Ray Tune with its `BackupAndRestore` backup as the checkpoint, and
  `restore_checkpoint(backup_dir)`, which resumes a trial Ray restores
  (`pip install ".[ray]"`).

Importing this package imports neither library; each module imports its own
when it is imported.
"""
