"""Callbacks written for Keras, not pytrainc, run in pytrainc's fit: a keras.callbacks.Callback
subclass, a plain object with Keras's methods, and optuna-integration's KerasPruningCallback."""

import numpy as np
import pytest

from pytrainc import testing
from pytrainc.callbacks import CallbackList, KerasCallback

N, B = 64, 16


def _model():
    model = testing.mlp(s=0)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _data():
    return testing.data(N, (8,), s=3), testing.data(N, (1,), s=4)


class _Duck:
    """No base class at all: only the methods a Keras CallbackList calls."""

    def __init__(self):
        self.calls, self.model, self.params = [], None, None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))
        if epoch == 1:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_a_duck_typed_callback_sees_keras_hooks_and_can_stop_training():
    x, y = _data()
    model = _model()
    duck = _Duck()
    history = model.fit(x, y, batch_size=B, epochs=5, validation_data=(x, y), verbose=0, callbacks=[duck])
    assert len(history.history["loss"]) == 2
    assert duck.model is model and duck.params["epochs"] == 5
    keys = ["loss", "mae", "val_loss", "val_mae"]
    assert duck.calls == ["train_begin", ("epoch_end", 0, keys), ("epoch_end", 1, keys), "train_end"]


def test_a_duck_without_batch_hooks_keeps_whole_epochs_in_one_engine_call():
    wrapped = CallbackList([_Duck()])
    assert isinstance(wrapped.callbacks[0], KerasCallback)
    assert not wrapped.has_train_batch_hooks and not wrapped.has_test_batch_hooks
    # The same training as with no callback at all, bitwise.
    x, y = _data()
    plain, with_duck = _model(), _model()
    plain.fit(x, y, batch_size=B, epochs=2, verbose=0)
    with_duck.fit(x, y, batch_size=B, epochs=2, verbose=0, callbacks=[_Duck()])
    assert testing.same_arrays(plain.get_weights(), with_duck.get_weights())


def test_something_without_keras_methods_is_refused_clearly():
    with pytest.raises(TypeError, match=r"or an object with Keras's callback methods .*Received: 3 of type int"):
        _model().fit(*_data(), verbose=0, callbacks=[3])
    with pytest.raises(TypeError, match="set_model, set_params and on_epoch_end"):
        KerasCallback(object())


def test_a_keras_callback_subclass_gets_its_batch_hooks():
    keras = testing.keras_torch()

    class Batches(keras.callbacks.Callback):  # overrides Keras's alias only, as old Keras code does
        def __init__(self):
            super().__init__()
            self.batches, self.epochs = [], []

        def on_batch_end(self, batch, logs=None):
            self.batches.append((batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(round(logs["loss"], 6))

    x, y = _data()
    model = _model()
    cb = Batches()
    history = model.fit(x, y, batch_size=B, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert [b for b, _ in cb.batches] == [0, 1, 2, 3] * 2
    assert cb.batches[0][1] == ["loss", "mae"]
    assert cb.epochs == [round(v, 6) for v in history.history["loss"]]
    assert cb.model is model
    listed = CallbackList([keras.callbacks.Callback()])  # Keras's empty hooks: no batch calls
    assert not listed.has_train_batch_hooks and not listed.has_test_batch_hooks


def test_optuna_integrations_keras_pruning_callback_prunes_pytrainc_trials():
    testing.keras_torch()  # KerasPruningCallback subclasses keras.callbacks.Callback
    optuna = pytest.importorskip("optuna")
    optuna_integration = pytest.importorskip("optuna_integration")
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential
    from pytrainc.optimizers import Adam
    from pytrainc.utils import set_random_seed

    r = np.random.default_rng(0)
    x = r.random((128, 8)).astype(np.float32)
    y = (x[:, :4].sum(1, keepdims=True) > 2).astype(np.float32)
    epochs = 8

    def objective(trial):
        set_random_seed(trial.number)
        model = Sequential([Input((8,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
        model.compile(optimizer=Adam(trial.suggest_float("lr", 1e-6, 1e-1, log=True)), loss="binary_crossentropy")
        history = model.fit(
            x,
            y,
            batch_size=16,
            epochs=epochs,
            validation_data=(x, y),
            verbose=0,
            callbacks=[optuna_integration.KerasPruningCallback(trial, "val_loss")],
        )
        return history.history["val_loss"][-1]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    for lr in (0.05, 1e-6, 2e-6):  # a good rate first, then ones too small to learn in 8 epochs
        study.enqueue_trial({"lr": lr})
    study.optimize(objective, n_trials=3)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.PRUNED]
    assert len(study.trials[0].intermediate_values) == epochs
    assert max(study.trials[1].intermediate_values) < epochs - 1  # stopped early
