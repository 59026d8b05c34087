"""Optuna's pruning through PruningCallback: bad trials stop early, good ones run to the end."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from pytrainc.integrations.optuna import PruningCallback  # noqa: E402
from pytrainc.layers import Dense, Input  # noqa: E402
from pytrainc.models import Sequential  # noqa: E402
from pytrainc.optimizers import Adam  # noqa: E402
from pytrainc.utils import set_random_seed  # noqa: E402

R = np.random.default_rng(0)
X = R.random((128, 8)).astype(np.float32)
Y = (X[:, :4].sum(1, keepdims=True) > 2).astype(np.float32)
EPOCHS = 8


def objective(trial):
    set_random_seed(trial.number)
    model = Sequential([Input((8,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(trial.suggest_float("lr", 1e-6, 1e-1, log=True)), loss="binary_crossentropy")
    history = model.fit(
        X,
        Y,
        batch_size=16,
        epochs=EPOCHS,
        validation_data=(X, Y),
        verbose=0,
        callbacks=[PruningCallback(trial, monitor="val_loss")],
    )
    return history.history["val_loss"][-1]


def test_pruning_stops_bad_trials_early():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.enqueue_trial({"lr": 0.05})  # a good rate first, then ones too small to learn in 8 epochs
    for lr in (1e-6, 2e-6):
        study.enqueue_trial({"lr": lr})
    study.optimize(objective, n_trials=3)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.PRUNED]
    pruned = study.trials[1]
    assert max(pruned.intermediate_values) < EPOCHS - 1  # stopped before the last epoch
    assert len(study.trials[0].intermediate_values) == EPOCHS


def test_a_missing_monitor_is_a_clear_error():
    study = optuna.create_study()
    trial = study.ask()
    callback = PruningCallback(trial, monitor="val_auc")
    with pytest.raises(ValueError, match=r"monitors 'val_auc', which the epoch's logs lack. Available: \['loss'\]"):
        callback.on_epoch_end(0, {"loss": 0.5})
