"""Optuna: `PruningCallback` reports each epoch to a trial and stops it when Optuna prunes it.

Needs `optuna` (`pip install ".[tune]"`). A study spread over processes or
machines shares an RDB storage; every process runs the same script:

    study = optuna.create_study(study_name="seed002", storage="sqlite:///search.db",
                                load_if_exists=True, pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, n_trials=20)

(`postgresql://user@host/db` instead of SQLite for machines that share no disk.)

Code written for Keras can keep optuna-integration's
`KerasPruningCallback(trial, "val_loss")`: `fit()` runs Keras-style callbacks
through `pytrainc.callbacks.KerasCallback` (it needs Keras installed, which
it subclasses; this module does not).
"""

import math

import optuna as _optuna

from pytrainc.callbacks import Callback

__all__ = ["PruningCallback"]


class PruningCallback(Callback):
    """Reports a monitored value to an Optuna trial after each epoch; raises `optuna.TrialPruned` when pruned.

    The exception leaves `fit()` at the end of the epoch, with the weights of
    that epoch; `study.optimize` marks the trial PRUNED and goes on.

    Args:
        trial: The `optuna.trial.Trial` of the objective function.
        monitor: The logged value to report, for example `"val_loss"` or
            `"val_accuracy"` (the study's direction says which is better).
            Defaults to `"val_loss"`.

    Raises:
        ValueError: at the end of an epoch whose logs lack `monitor`.
        optuna.TrialPruned: when `trial.should_prune()` says so.

    Example:

    >>> import optuna
    >>> from pytrainc.integrations.optuna import PruningCallback
    >>> def objective(trial):
    ...     model = Sequential([Input((8,)), Dense(1, activation="sigmoid")])
    ...     model.compile(optimizer=Adam(trial.suggest_float("lr", 1e-4, 1e-1, log=True)), loss="binary_crossentropy")
    ...     history = model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0,
    ...                         callbacks=[PruningCallback(trial, "val_loss")])
    ...     return history.history["val_loss"][-1]
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    >>> study.optimize(objective, n_trials=3)
    """

    def __init__(self, trial, monitor="val_loss"):
        super().__init__()
        self.trial, self.monitor = trial, monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"PruningCallback monitors {self.monitor!r}, which the epoch's logs lack. Available: {sorted(logs)}"
            )
        value = float(logs[self.monitor])
        if not math.isfinite(value):  # Optuna refuses to report NaN; a diverged trial is a pruned one
            raise _optuna.TrialPruned(f"Trial was pruned at epoch {epoch}: {self.monitor} is {value}.")
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise _optuna.TrialPruned(f"Trial was pruned at epoch {epoch}.")
