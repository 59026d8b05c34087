"""Tests for pytrainc.callbacks against a scripted fake model.

The expected epoch counts follow Keras 3's EarlyStopping algorithm
(keras/src/callbacks/early_stopping.py): at each monitored epoch `wait += 1`;
an improvement sets `best` and resets `wait` to 0 (with a baseline, only if the
value also beats the baseline) and skips the stop check; otherwise training
stops when `wait >= patience and epoch > 0`.
"""

import csv
import os
import re
import sys

import numpy as np
import pytest

from pytrainc import callbacks
from pytrainc.callbacks import _util, progbar_logger
from pytrainc.callbacks import (
    BatchSizeScheduler,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    MonitorCallback,
    ProgbarLogger,
    ReduceLROnPlateau,
    TensorBoard,
    TerminateOnNaN,
)
from pytrainc.optimizers import SGD
from pytrainc.optimizers.schedules import ExponentialDecay
from pytrainc.testing import KERAS_LINE_1, KERAS_LINE_2, TTY

nan = float("nan")
inf = float("inf")


class FakeModel:
    """Stands in for pytrainc.models.Model: weights remember their epoch."""

    def __init__(self, metrics=None, views=False):
        self.stop_training = False
        self.history = None
        self._weights = [np.full((2, 3), -1.0), np.full(3, -1.0)]
        self._views = views
        if metrics is not None:
            self.metrics = metrics

    def train_epoch(self, epoch):
        # In place, like an engine with one flat parameter buffer.
        for w in self._weights:
            w[...] = float(epoch)

    def get_weights(self):
        if self._views:
            return list(self._weights)
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        for w, new in zip(self._weights, weights):
            w[...] = new

    def weights_epoch(self):
        """Index of the epoch that produced the current weights (-1: initial)."""
        values = {float(v) for w in self._weights for v in w.ravel()}
        assert len(values) == 1, values
        return int(values.pop())


def run_fit(model, cbs_in, epochs, val_losses=None, *, logs=None, steps=2, verbose=0):
    """Drives a CallbackList like Model.fit, with scripted epoch logs.

    `val_losses` gives `{"loss": ..., "val_loss": v}` per epoch; `logs` gives
    the whole dict per epoch instead. The script may be shorter than `epochs`
    when the test expects training to stop; running past its end fails.
    """
    if logs is None:
        logs = [{"loss": 1.0, "val_loss": v} for v in val_losses]
    cbs = CallbackList(
        cbs_in,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False
    cbs.on_train_begin()
    epoch_logs = None
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        if cbs.has_train_batch_hooks:
            for b in range(steps):
                cbs.on_train_batch_begin(b)
                cbs.on_train_batch_end(b, {"loss": float(b)})
        model.train_epoch(epoch)
        if epoch >= len(logs):
            pytest.fail(f"training did not stop: no scripted logs for epoch {epoch}")
        epoch_logs = dict(logs[epoch])
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return model.history


def epochs_run(history):
    return len(history.epoch)


class StopAt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            self.model.stop_training = True


class Metric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


# ---------------------------------------------------------------- EarlyStopping


def test_keras_docstring_example_runs_four_epochs():
    # Keras's docstring: EarlyStopping(monitor='loss', patience=3) on a fit
    # whose loss never improves after epoch 0 -> "Only 4 epochs are run".
    # Epoch 0 is an improvement over +inf (wait=0); epochs 1, 2, 3 each add one
    # to wait; at epoch 3 wait=3 >= patience=3 -> stop, so epochs 0..3 ran.
    model = FakeModel()
    cb = EarlyStopping(monitor="loss", patience=3)
    losses = [{"loss": 1.0 + 0.5 * i} for i in range(10)]
    history = run_fit(model, [cb], 10, logs=losses)
    assert len(history.history["loss"]) == 4
    assert cb.stopped_epoch == 3
    assert model.stop_training is True
    assert cb.best == 1.0 and cb.best_epoch == 0


def test_patience_counts_epochs_since_last_improvement():
    # best: 5 (e0), 4 (e1); e2 wait=1; 3 (e3) resets; e4 wait=1; e5 wait=2 -> stop.
    cb = EarlyStopping(patience=2)
    history = run_fit(FakeModel(), [cb], 10, [5, 4, 4.5, 3, 3.5, 3.6, 3.7, 3.8, 3.9, 4])
    assert epochs_run(history) == 6
    assert cb.stopped_epoch == 5
    assert cb.best == 3 and cb.best_epoch == 3


def test_patience_zero_stops_at_first_non_improvement():
    cb = EarlyStopping(patience=0)
    history = run_fit(FakeModel(), [cb], 5, [3, 2, 2, 1, 0])
    assert epochs_run(history) == 3  # Equal is not better: stop at epoch 2.
    assert cb.stopped_epoch == 2


def test_never_stops_at_epoch_zero():
    # A NaN at epoch 0 is no improvement and wait=1 >= 0, but Keras requires
    # epoch > 0 to stop.
    cb = EarlyStopping(patience=0)
    history = run_fit(FakeModel(), [cb], 3, [nan, 1.0, 0.5])
    assert epochs_run(history) == 3
    assert cb.stopped_epoch == 0
    assert cb.best == 0.5


def test_change_of_exactly_min_delta_is_not_an_improvement():
    # Values are exact in binary: 0.75 + 0.25 == 1.0 is not < 1.0.
    cb = EarlyStopping(min_delta=0.25, patience=1)
    history = run_fit(FakeModel(), [cb], 4, [1.0, 0.75, 0.5, 0.25])
    assert epochs_run(history) == 2
    assert cb.best == 1.0


def test_change_larger_than_min_delta_is_an_improvement():
    cb = EarlyStopping(min_delta=0.25, patience=1)
    history = run_fit(FakeModel(), [cb], 3, [1.0, 0.5, 0.0])
    assert epochs_run(history) == 3
    assert cb.best == 0.0


def test_min_delta_in_max_mode_and_negative_min_delta_uses_absolute_value():
    cb = EarlyStopping(monitor="val_accuracy", min_delta=-0.25, patience=1)
    assert cb.min_delta == 0.25
    logs = [{"val_accuracy": a} for a in (0.25, 0.5, 0.75)]
    history = run_fit(FakeModel(), [cb], 3, logs=logs)
    assert epochs_run(history) == 2  # 0.5 - 0.25 == 0.25 is not > 0.25.
    assert cb.best == 0.25


def test_baseline_never_beaten_stops_after_patience_epochs():
    # Epoch 0 beats +inf but not the baseline, so wait stays 1; epochs 1, 2
    # bring it to 3 >= patience.
    cb = EarlyStopping(patience=3, baseline=0.5)
    history = run_fit(FakeModel(), [cb], 10, [1.0] * 10)
    assert epochs_run(history) == 3
    assert cb.stopped_epoch == 2


def test_beating_baseline_resets_wait():
    cb = EarlyStopping(patience=2, baseline=0.5)
    history = run_fit(FakeModel(), [cb], 10, [1.0, 0.4, 0.45, 0.46, 0.47, 0.48])
    # e0 wait=1; e1 beats baseline -> wait=0; e2 wait=1; e3 wait=2 -> stop.
    assert epochs_run(history) == 4
    assert cb.best == 0.4 and cb.best_epoch == 1


def test_baseline_improvements_above_baseline_do_not_trigger_stop():
    # Keras 3: an improvement over `best` returns before the patience check,
    # even when it does not beat the baseline and wait >= patience. Training
    # stops at the first epoch that does not improve.
    cb = EarlyStopping(patience=2, baseline=0.5)
    history = run_fit(FakeModel(), [cb], 10, [1.0, 0.9, 0.8, 0.7, 0.7, 0.6])
    assert epochs_run(history) == 5
    assert cb.wait == 5
    assert cb.stopped_epoch == 4


@pytest.mark.parametrize("views", [False, True])
def test_restore_best_weights_after_early_stop(views):
    # With views=True the model hands out views that the next epoch overwrites;
    # the callback must have copied them.
    model = FakeModel(views=views)
    cb = EarlyStopping(patience=2, restore_best_weights=True)
    history = run_fit(model, [cb], 10, [3, 1, 2, 2, 2, 2])
    assert epochs_run(history) == 4
    assert cb.best_epoch == 1
    assert model.weights_epoch() == 1


def test_restore_best_weights_when_training_runs_to_last_epoch():
    model = FakeModel()
    cb = EarlyStopping(patience=10, restore_best_weights=True)
    history = run_fit(model, [cb], 4, [3, 1, 2, 2])
    assert epochs_run(history) == 4
    assert cb.stopped_epoch == 0
    assert model.weights_epoch() == 1


def test_restore_best_weights_when_another_callback_stops_training():
    model = FakeModel()
    cb = EarlyStopping(patience=10, restore_best_weights=True)
    history = run_fit(model, [cb, StopAt(2)], 10, [3, 1, 2, 0, 0])
    assert epochs_run(history) == 3
    assert cb.stopped_epoch == 0
    assert model.weights_epoch() == 1


def test_without_restore_best_weights_the_last_weights_stay():
    model = FakeModel()
    cb = EarlyStopping(patience=2)
    run_fit(model, [cb], 10, [3, 1, 2, 2, 2])
    assert cb.best_weights is None
    assert model.weights_epoch() == 3


def test_start_from_epoch_ignores_warm_up_epochs():
    # Epochs 0-2 are ignored; epoch 3 is the first monitored one (best=4);
    # epoch 4 does not improve and patience=0 -> stop at epoch 4.
    cb = EarlyStopping(patience=0, start_from_epoch=3, restore_best_weights=True)
    model = FakeModel()
    history = run_fit(model, [cb], 8, [1, 2, 3, 4, 5, 6, 7, 8])
    assert epochs_run(history) == 5
    assert cb.stopped_epoch == 4
    assert cb.best == 4 and cb.best_epoch == 3
    assert model.weights_epoch() == 3
    # Without the warm-up, the same sequence stops at epoch 1.
    cb = EarlyStopping(patience=0)
    assert epochs_run(run_fit(FakeModel(), [cb], 8, [1, 2, 3, 4, 5, 6, 7, 8])) == 2


@pytest.mark.parametrize(
    "monitor, values, expected_epochs",
    [
        ("val_loss", [3, 2, 1], 3),
        ("val_loss", [1, 2, 3], 2),
        ("val_accuracy", [0.5, 0.6, 0.7], 3),
        ("val_accuracy", [0.7, 0.6, 0.5], 2),
        ("auc", [0.5, 0.6, 0.7], 3),
        ("val_mean_squared_error", [3, 2, 1], 3),
        ("mae", [1, 2, 3], 2),
    ],
)
def test_auto_mode_infers_direction_from_name(monitor, values, expected_epochs):
    cb = EarlyStopping(monitor=monitor, patience=0)
    logs = [{monitor: v} for v in values]
    assert epochs_run(run_fit(FakeModel(), [cb], 3, logs=logs)) == expected_epochs


def test_auto_mode_unknown_name_raises():
    cb = EarlyStopping(monitor="val_foo")
    with pytest.raises(ValueError, match=r"monitor='val_foo'.*mode='min'.*mode='max'"):
        run_fit(FakeModel(), [cb], 2, logs=[{"val_foo": 1.0}] * 2)


def test_auto_mode_uses_model_metric_direction():
    # "foo" is unknown by name; the compiled metric (nested as in Keras's
    # CompileMetrics container) says higher is better.
    class Container:
        metrics = [Metric("foo", "up")]

    model = FakeModel(metrics=[Metric("bar", "down"), Container()])
    cb = EarlyStopping(monitor="val_foo", patience=0)
    logs = [{"val_foo": v} for v in (1.0, 2.0, 3.0)]
    assert epochs_run(run_fit(model, [cb], 3, logs=logs)) == 3
    # The metric direction wins over the name.
    model = FakeModel(metrics=[Metric("accuracy", "down")])
    cb = EarlyStopping(monitor="accuracy", patience=0)
    logs = [{"accuracy": v} for v in (1.0, 2.0, 3.0)]
    assert epochs_run(run_fit(model, [cb], 3, logs=logs)) == 2


def test_explicit_mode_overrides_name():
    cb = EarlyStopping(monitor="val_loss", mode="max", patience=0)
    assert epochs_run(run_fit(FakeModel(), [cb], 3, [1, 2, 3])) == 3


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match=r"mode 'sideways' is unknown") as record:
        cb = EarlyStopping(mode="sideways", patience=0)
    assert cb.mode == "auto"
    # The warning points at this file, not inside pytrainc.
    assert os.path.basename(record[0].filename) == "test_callbacks.py"
    assert epochs_run(run_fit(FakeModel(), [cb], 3, [1, 2, 3])) == 2


@pytest.mark.parametrize("bad", [nan, inf, -inf])
def test_non_finite_value_is_never_an_improvement_min(bad):
    cb = EarlyStopping(patience=2)
    history = run_fit(FakeModel(), [cb], 10, [1.0, bad, bad, bad])
    assert epochs_run(history) == 3
    assert cb.best == 1.0 and cb.best_epoch == 0


@pytest.mark.parametrize("bad", [nan, inf, -inf])
def test_non_finite_value_is_never_an_improvement_max(bad):
    cb = EarlyStopping(monitor="val_accuracy", patience=1)
    logs = [{"val_accuracy": v} for v in (0.5, bad, 0.9)]
    history = run_fit(FakeModel(), [cb], 3, logs=logs)
    assert epochs_run(history) == 2
    assert cb.best == 0.5


def test_non_finite_first_value_leaves_best_unset():
    cb = EarlyStopping(patience=5, restore_best_weights=True)
    model = FakeModel()
    run_fit(model, [cb], 3, [nan, 2.0, 1.0])
    assert cb.best == 1.0 and cb.best_epoch == 2
    assert model.weights_epoch() == 2


def test_is_improvement_direct():
    cb = MonitorCallback(monitor="loss", mode="min", min_delta=0.5)
    assert cb._is_improvement(1.0, None)
    assert not cb._is_improvement(nan, None)
    assert not cb._is_improvement(-inf, 0.0)
    assert cb._is_improvement(0.0, 1.0)
    assert not cb._is_improvement(0.5, 1.0)  # Exactly min_delta.
    up = MonitorCallback(monitor="score", mode="max")
    assert up._is_improvement(2.0, 1.0)
    assert not up._is_improvement(1.0, 1.0)
    assert not up._is_improvement(inf, 1.0)


def test_reuse_across_two_fits_resets_state():
    cb = EarlyStopping(patience=1, restore_best_weights=True)
    first = run_fit(FakeModel(), [cb], 5, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert epochs_run(first) == 2 and cb.stopped_epoch == 1
    # Without a reset, 5.0 would not beat the old best 0.1 and the second fit
    # would stop at epoch 1.
    model = FakeModel()
    second = run_fit(model, [cb], 3, [5.0, 4.0, 3.0])
    assert epochs_run(second) == 3
    assert cb.stopped_epoch == 0
    assert cb.wait == 0
    assert cb.best == 3.0 and cb.best_epoch == 2
    assert model.weights_epoch() == 2


def test_missing_monitor_warns_with_available_keys_and_keeps_training():
    cb = EarlyStopping(monitor="val_loss", patience=0)
    logs = [{"loss": 3.0, "accuracy": 0.5}] * 3
    with pytest.warns(UserWarning) as record:
        history = run_fit(FakeModel(), [cb], 3, logs=logs)
    assert epochs_run(history) == 3
    messages = [str(w.message) for w in record]
    assert (
        messages
        == [
            "Early stopping conditioned on metric `val_loss` which is not available. "
            "Available metrics are: loss,accuracy"
        ]
        * 3
    )
    assert os.path.basename(record[0].filename) == "test_callbacks.py"


def test_non_numeric_monitored_value_raises():
    cb = EarlyStopping(monitor="loss")
    with pytest.raises(TypeError, match=r"`loss` to be a number. Received: 'high'"):
        run_fit(FakeModel(), [cb], 1, logs=[{"loss": "high"}])


def test_numpy_scalar_monitored_value_is_accepted():
    cb = EarlyStopping(monitor="loss", patience=0)
    logs = [{"loss": np.float32(v)} for v in (2.0, 1.0, 1.5)]
    assert epochs_run(run_fit(FakeModel(), [cb], 3, logs=logs)) == 3
    assert cb.best == 1.0 and isinstance(cb.best, float)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"patience": -1},
            ValueError,
            r"`patience` to be a non-negative integer. Received: patience=-1",
        ),
        (
            {"patience": 1.5},
            TypeError,
            r"`patience`.*Received: patience=1.5 of type float",
        ),
        ({"patience": True}, TypeError, r"`patience`"),
        (
            {"start_from_epoch": -2},
            ValueError,
            r"`start_from_epoch`.*Received: start_from_epoch=-2",
        ),
        ({"min_delta": nan}, ValueError, r"`min_delta` to be a finite number"),
        ({"min_delta": "0.1"}, TypeError, r"`min_delta` to be a real number"),
        ({"baseline": inf}, ValueError, r"`baseline` to be a finite number"),
        ({"monitor": 3}, TypeError, r"`monitor`.*Received: monitor=3 of type int"),
        ({"monitor": ""}, ValueError, r"non-empty"),
    ],
)
def test_argument_validation(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        EarlyStopping(**kwargs)


def test_verbose_prints_stop_and_restore_messages(capsys):
    cb = EarlyStopping(monitor="loss", patience=3, verbose=1, restore_best_weights=True)
    run_fit(FakeModel(), [cb], 10, logs=[{"loss": 1.0 + i} for i in range(10)])
    out = capsys.readouterr().out
    assert out == ("Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 1.\n")


def test_silent_by_default(capsys):
    cb = EarlyStopping(monitor="loss", patience=0, restore_best_weights=True)
    run_fit(FakeModel(), [cb], 3, logs=[{"loss": 1.0 + i} for i in range(3)])
    assert capsys.readouterr().out == ""


# ------------------------------------------------------- CallbackList, History


class Recorder(Callback):
    def __init__(self, name, journal):
        super().__init__()
        self.name = name
        self.journal = journal

    def on_epoch_end(self, epoch, logs=None):
        self.journal.append((self.name, epoch, id(logs)))
        logs[f"seen_by_{self.name}"] = 1.0


def test_callbacks_run_in_order_with_same_logs_and_history_last():
    journal = []
    model = FakeModel()
    recorders = [Recorder("a", journal), Recorder("b", journal)]
    history = run_fit(model, recorders, 2, [1.0, 0.5])
    assert [(n, e) for n, e, _ in journal] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    # Both callbacks of an epoch saw the same dict object.
    assert journal[0][2] == journal[1][2] and journal[2][2] == journal[3][2]
    # History ran after them: it recorded the keys they added to that dict.
    assert history.history["seen_by_a"] == [1.0, 1.0]
    assert history.history["seen_by_b"] == [1.0, 1.0]


def test_default_callbacks_are_appended_last():
    user = Callback()
    cbs = CallbackList([user], add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1)
    assert cbs.callbacks[0] is user
    assert isinstance(cbs.callbacks[1], History)
    assert isinstance(cbs.callbacks[2], ProgbarLogger)
    assert len(cbs.callbacks) == 3


def test_existing_history_and_progbar_are_not_duplicated():
    history, progbar = History(), ProgbarLogger()
    model = FakeModel()
    cbs = CallbackList(
        [history, progbar],
        add_history=True,
        add_progbar=True,
        model=model,
        verbose=1,
        epochs=1,
        steps=1,
    )
    assert cbs.callbacks == [history, progbar]
    assert model.history is history


def test_set_model_and_params_reach_every_callback():
    model = FakeModel()
    user, es = Callback(), EarlyStopping()
    cbs = CallbackList([user, es], add_history=True, model=model, verbose=0, epochs=3, steps=7)
    for cb in cbs.callbacks:
        assert cb.model is model
        assert cb.params == {"verbose": 0, "epochs": 3, "steps": 7}
    assert model.history is cbs.callbacks[-1]


def test_subclass_without_super_init_still_has_attributes():
    class Lazy(Callback):
        def __init__(self):
            pass

    cb = Lazy()
    assert cb.model is None and cb.params is None
    model = FakeModel()
    CallbackList([cb], model=model, epochs=1)
    assert cb.model is model and cb.params == {"epochs": 1}


def test_callbacklist_rejects_non_callbacks():
    pattern = r"instance of pytrainc.callbacks.Callback, or an object with Keras's callback methods .*Received: 'early'"
    with pytest.raises(TypeError, match=pattern):
        CallbackList(["early"])
    with pytest.raises(TypeError, match=r"list of Callback instances"):
        CallbackList(42)


def test_exception_from_callback_propagates_unchanged():
    class Boom(Exception):
        pass

    error = Boom("callback failed")
    journal = []

    class Raiser(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise error

    with pytest.raises(Boom) as info:
        run_fit(FakeModel(), [Raiser(), Recorder("after", journal)], 3, [1, 2, 3])
    assert info.value is error
    assert journal == []  # Callbacks after the failing one did not run.


def test_history_records_logs_and_epochs():
    model = FakeModel()
    logs = [
        {"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75},
        {"loss": 0.25, "accuracy": 0.5, "val_loss": 0.5},
    ]
    history = run_fit(model, [], 2, logs=logs)
    assert isinstance(history, History)
    assert model.history is history
    assert history.epoch == [0, 1]
    assert history.history == {
        "loss": [0.5, 0.25],
        "accuracy": [0.25, 0.5],
        "val_loss": [0.75, 0.5],
    }


def test_history_reused_keeps_values_and_resets_epoch():
    # Keras 3's History clears `epoch` in on_train_begin but keeps `history`.
    history = History()
    model = FakeModel()
    run_fit(model, [history], 2, [1.0, 2.0])
    run_fit(model, [history], 1, [3.0])
    assert history.epoch == [0]
    assert history.history["val_loss"] == [1.0, 2.0, 3.0]


# ------------------------------------------------------------ batch-hook flags


class TrainBatchUser(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((batch, dict(logs)))


class LegacyBatchUser(Callback):
    def on_batch_end(self, batch, logs=None):
        pass


class EvalBatchUser(Callback):
    def on_test_batch_begin(self, batch, logs=None):
        pass


class PredictBatchUser(Callback):
    def on_predict_batch_end(self, batch, logs=None):
        pass


def test_builtin_callbacks_have_no_batch_hooks():
    cbs = CallbackList(
        [History(), ProgbarLogger(), EarlyStopping()],
        add_history=True,
        add_progbar=True,
        verbose=1,
        epochs=1,
        steps=1,
    )
    assert not cbs.has_train_batch_hooks
    assert not cbs.has_test_batch_hooks
    assert not cbs.has_predict_batch_hooks
    assert not CallbackList([Callback()]).has_train_batch_hooks


def test_user_batch_hook_sets_the_right_flag():
    cbs = CallbackList(
        [EarlyStopping(), TrainBatchUser()],
        add_history=True,
        add_progbar=True,
        verbose=1,
        epochs=1,
        steps=1,
    )
    assert cbs.has_train_batch_hooks
    assert not cbs.has_test_batch_hooks
    assert not cbs.has_predict_batch_hooks
    assert CallbackList([LegacyBatchUser()]).has_train_batch_hooks
    assert CallbackList([EvalBatchUser()]).has_test_batch_hooks
    assert not CallbackList([EvalBatchUser()]).has_train_batch_hooks
    assert CallbackList([PredictBatchUser()]).has_predict_batch_hooks


def test_progbar_subclass_overriding_batch_hook_counts():
    class LiveBar(ProgbarLogger):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert CallbackList([LiveBar()]).has_train_batch_hooks


def test_hook_assigned_on_instance_counts():
    cb = Callback()
    cb.on_train_batch_begin = lambda batch, logs=None: None
    assert CallbackList([cb]).has_train_batch_hooks


def test_batch_hooks_receive_batch_logs():
    user = TrainBatchUser()
    run_fit(FakeModel(), [user], 2, [1.0, 0.5], steps=3)
    assert user.batches == [(b, {"loss": float(b)}) for b in range(3)] * 2


def test_legacy_on_batch_end_is_called_through_train_batch_end():
    calls = []

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)

    run_fit(FakeModel(), [Legacy()], 1, [1.0], steps=2)
    assert calls == [0, 1]


# ----------------------------------------------------------------- ProgbarLogger


def test_progbar_verbose_1(capsys):
    logs = [
        {"loss": 0.123449, "accuracy": 0.5, "val_loss": 0.0001},
        {"loss": 2.0, "accuracy": 0.75, "val_loss": nan},
    ]
    run_fit(FakeModel(), [], 2, logs=logs, steps=12, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0] == "Epoch 1/2"
    assert lines[2] == "Epoch 2/2"
    # Keras 3's line; times are not asserted exactly (no timing in assertions).
    assert re.fullmatch(
        KERAS_LINE_1 % "12/12" + r" - loss: 0\.1234 - accuracy: 0\.5000 - val_loss: 1\.0000e-04", lines[1]
    )
    assert re.fullmatch(KERAS_LINE_1 % "12/12" + r" - loss: 2\.0000 - accuracy: 0\.7500 - val_loss: nan", lines[3])


def test_progbar_verbose_2_prints_one_line_per_epoch(capsys):
    run_fit(FakeModel(), [], 3, logs=[{"loss": 0.5}] * 3, steps=4, verbose=2)
    # Keras 3's two lines per epoch.
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    for i in range(3):
        assert lines[2 * i] == f"Epoch {i + 1}/3"
        assert re.fullmatch(KERAS_LINE_2 % "4/4" + r" - loss: 0\.5000", lines[2 * i + 1])


def test_progbar_single_epoch_has_no_epoch_header(capsys):
    run_fit(FakeModel(), [], 1, logs=[{"loss": 0.5}], steps=4, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(KERAS_LINE_1 % "4/4" + r" - loss: 0\.5000", lines[0])


def test_progbar_silent_with_verbose_0(capsys):
    progbar = ProgbarLogger()
    cbs = CallbackList([progbar], verbose=0, epochs=2, steps=1)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_train_end()
    assert capsys.readouterr().out == ""
    assert not CallbackList([], add_progbar=False).callbacks


def test_progbar_evaluate_outside_fit(capsys):
    cbs = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=None)
    cbs.on_test_begin()
    for b in range(5):
        cbs.on_test_batch_begin(b)
        cbs.on_test_batch_end(b, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.25})
    out = capsys.readouterr().out
    assert re.fullmatch(KERAS_LINE_1 % "5/5" + r" - loss: 0\.2500\n", out)


def test_progbar_validation_inside_fit_is_silent(capsys):
    cbs = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=2)
    cbs.on_train_begin()
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 0.25})
    assert capsys.readouterr().out == ""


def test_module_exports():
    assert sorted(callbacks.__all__) == [
        "BackupAndRestore",
        "BatchSizeScheduler",
        "CSVLogger",
        "Callback",
        "CallbackList",
        "EarlyStopping",
        "History",
        "KerasCallback",
        "LambdaCallback",
        "LearningRateScheduler",
        "ModelCheckpoint",
        "MonitorCallback",
        "ProgbarLogger",
        "ReduceLROnPlateau",
        "SwapEMAWeights",
        "TensorBoard",
        "TerminateOnNaN",
    ]
    for name in callbacks.__all__:
        # One module per callback, as in Keras 3 (pytrainc.callbacks.early_stopping, ...).
        assert getattr(callbacks, name).__module__.startswith("pytrainc.callbacks.")


# ----------------------------------------------------------- shared fakes (new)


class SavingModel(FakeModel):
    """A FakeModel with an optimizer and save methods that record their calls."""

    def __init__(self, learning_rate=0.1, optimizer=None, metrics=None):
        super().__init__(metrics=metrics)
        self.optimizer = optimizer if optimizer is not None else SGD(learning_rate)
        self.saves = []
        self._train_batch_size = 32

    def save(self, path):
        self.saves.append(("model", path))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path):
        self.saves.append(("weights", path))
        with open(path, "w") as f:
            f.write("weights")


def saved_names(model, root):
    return [(kind, os.path.relpath(path, root)) for kind, path in model.saves]


# ------------------------------------------------------------- ModelCheckpoint


def test_checkpoint_file_names_use_epoch_from_1_and_logs(tmp_path):
    model = SavingModel()
    pattern = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.ptc")
    run_fit(model, [ModelCheckpoint(pattern)], 3, [0.5, 0.25, 0.125])
    assert saved_names(model, tmp_path) == [
        ("model", os.path.join("ckpt", "w.01-0.50.ptc")),
        ("model", os.path.join("ckpt", "w.02-0.25.ptc")),
        ("model", os.path.join("ckpt", "w.03-0.12.ptc")),
    ]
    assert (tmp_path / "ckpt").is_dir()  # Created by the callback.


def test_checkpoint_weights_only_calls_save_weights(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(tmp_path / "w{epoch}.npz", save_weights_only=True)
    run_fit(model, [cb], 2, [1.0, 2.0])
    assert saved_names(model, tmp_path) == [("weights", "w1.npz"), ("weights", "w2.npz")]


def test_checkpoint_save_best_only_min(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(str(tmp_path / "best-{epoch}.ptc"), save_best_only=True)
    nan = float("nan")
    run_fit(model, [cb], 6, [1.0, 0.5, 0.7, 0.4, nan, 0.4])
    # Improvements at epochs 1, 2 and 4 (from 1); NaN and ties never improve.
    assert saved_names(model, tmp_path) == [
        ("model", "best-1.ptc"),
        ("model", "best-2.ptc"),
        ("model", "best-4.ptc"),
    ]
    assert cb.best == 0.4


def test_checkpoint_save_best_only_max_and_threshold(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(
        str(tmp_path / "best.ptc"),
        monitor="val_accuracy",
        save_best_only=True,
        initial_value_threshold=0.6,
    )
    logs = [{"val_accuracy": v} for v in (0.5, 0.7, 0.65, 0.9)]
    run_fit(model, [cb], 4, logs=logs)
    # mode="auto" maximizes accuracy; 0.5 does not beat the threshold 0.6.
    assert saved_names(model, tmp_path) == [("model", "best.ptc")] * 2
    assert cb.best == 0.9


def test_checkpoint_resets_best_between_fits(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(str(tmp_path / "best.ptc"), monitor="loss", save_best_only=True)
    run_fit(model, [cb], 1, logs=[{"loss": 0.1}])
    model.saves.clear()
    run_fit(model, [cb], 1, logs=[{"loss": 5.0}])
    assert len(model.saves) == 1


def test_checkpoint_verbose_messages(tmp_path, capsys):
    model = SavingModel()
    path = str(tmp_path / "m.ptc")
    cb = ModelCheckpoint(path, monitor="loss", save_best_only=True, verbose=1)
    run_fit(model, [cb], 2, logs=[{"loss": 0.5}, {"loss": 0.75}])
    assert capsys.readouterr().out.splitlines() == [
        f"Epoch 1: loss improved from inf to 0.50000, saving model to {path}",
        f"Epoch 1: finished saving model to {path}",
        "Epoch 2: loss did not improve from 0.50000",
    ]
    cb = ModelCheckpoint(path, verbose=1)
    run_fit(model, [cb], 1, [1.0])
    assert capsys.readouterr().out.splitlines() == [
        f"Epoch 1: saving model to {path}",
        f"Epoch 1: finished saving model to {path}",
    ]


def test_checkpoint_missing_filepath_key_raises_keyerror(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "w-{val_acc:.2f}.ptc"))
    with pytest.raises(
        KeyError,
        match=r"Failed to format this callback filepath.*val_acc.*"
        r"Available keys: loss, val_loss, epoch",
    ):
        run_fit(SavingModel(), [cb], 1, [0.5])


def test_checkpoint_bad_format_spec_raises_valueerror(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "w-{loss:d}.ptc"))
    with pytest.raises(ValueError, match=r"Failed to format this callback filepath"):
        run_fit(SavingModel(), [cb], 1, [0.5])


def test_checkpoint_missing_monitor_warns_and_saves(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(str(tmp_path / "m.ptc"), save_best_only=True)
    with pytest.warns(UserWarning, match=r"Can save best model only with val_loss available"):
        run_fit(model, [cb], 1, logs=[{"loss": 1.0}])
    assert len(model.saves) == 1


def test_checkpoint_unknown_monitor_with_auto_mode_fails_at_train_begin(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.ptc"), monitor="score", save_best_only=True)
    with pytest.raises(ValueError, match=r"cannot tell whether monitor='score' should be minimized"):
        run_fit(SavingModel(), [cb], 1, logs=[{"score": 1.0}])
    # Without save_best_only the monitor is not used.
    model = SavingModel()
    run_fit(model, [ModelCheckpoint(str(tmp_path / "m.ptc"), monitor="score")], 1, logs=[{"score": 1.0}])
    assert len(model.saves) == 1


@pytest.mark.parametrize("name", ["m.keras", "M.KERAS", "m-{epoch}.keras"])
def test_checkpoint_keras_zip_format_is_refused_for_weights_only(tmp_path, name):
    with pytest.raises(ValueError, match=r"save_weights_only=True writes weights, and a '.keras' file holds a whole"):
        ModelCheckpoint(str(tmp_path / name), save_weights_only=True)
    ModelCheckpoint(str(tmp_path / name))  # a whole model: Keras 3's format


def test_checkpoint_keras_format_after_formatting_is_refused_for_weights_only(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "m.{ext}"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"'.keras' file holds a whole model"):
        run_fit(SavingModel(), [cb], 1, logs=[{"ext": "keras"}])


@pytest.mark.parametrize("name,weights_only", [("m.h5", False), ("w.weights.h5", True), ("w.h5", True)])
def test_checkpoint_writes_h5_that_loads(tmp_path, name, weights_only):
    pytest.importorskip("h5py")
    import numpy as np

    import pytrainc
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential

    model = Sequential([Input((3,)), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / name
    model.fit(
        np.ones((8, 3)),
        np.zeros((8, 2)),
        epochs=1,
        verbose=0,
        callbacks=[ModelCheckpoint(str(path), save_weights_only=weights_only)],
    )
    if weights_only:
        other = Sequential([Input((3,)), Dense(2)])
        other.load_weights(path)
    else:
        other = pytrainc.models.load_model(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_whole_model_as_npz_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"save_weights_only=True"):
        ModelCheckpoint(str(tmp_path / "m.npz"))


@pytest.mark.parametrize("save_freq", [0, -3, "batch", 1.5, True])
def test_checkpoint_bad_save_freq(tmp_path, save_freq):
    with pytest.raises(ValueError, match=r"Unrecognized save_freq"):
        ModelCheckpoint(str(tmp_path / "m.ptc"), save_freq=save_freq)


def test_checkpoint_positional_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"positional fields"):
        ModelCheckpoint(str(tmp_path / "m-{}.ptc"))
    with pytest.raises(ValueError, match=r"as a format string"):
        ModelCheckpoint(str(tmp_path / "m-{epoch.ptc"))


def test_checkpoint_existing_directory_raises(tmp_path):
    (tmp_path / "d.ptc").mkdir()
    cb = ModelCheckpoint(str(tmp_path / "d.ptc"))
    with pytest.raises(IsADirectoryError, match=r"non-directory filepath"):
        run_fit(SavingModel(), [cb], 1, [1.0])


def test_checkpoint_save_freq_in_batches_counts_across_epochs(tmp_path):
    model = SavingModel()
    cb = ModelCheckpoint(str(tmp_path / "{epoch}-{batch}.ptc"), save_freq=3)
    assert CallbackList([cb]).has_train_batch_hooks
    assert not CallbackList([ModelCheckpoint(str(tmp_path / "m.ptc"))]).has_train_batch_hooks
    run_fit(model, [cb], 3, [1.0, 1.0, 1.0], steps=2)
    # Batches 1..6 overall: saves after the 3rd (epoch 2, batch 1) and the 6th.
    assert saved_names(model, tmp_path) == [("model", "2-1.ptc"), ("model", "3-2.ptc")]


# ----------------------------------------------------------- ReduceLROnPlateau


def test_reduce_lr_with_cooldown_and_min_lr():
    model = SavingModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=2, min_lr=0.2)
    history = run_fit(model, [cb], 9, [1.0] * 9)
    # Keras 3's algorithm, by hand: reductions at the end of epochs 1, 3 and
    # 5 (cooldown 2 after each); at 5, 0.25 * 0.5 is clamped to min_lr=0.2,
    # which is not reduced again. Logs hold the rate used during the epoch.
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    assert model.optimizer.learning_rate == 0.2


def test_reduce_lr_improvement_resets_wait():
    model = SavingModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.1, patience=2, min_delta=0.01)
    logs = [{"loss": v} for v in (1.0, 0.995, 0.5, 0.6, 0.55)]
    run_fit(model, [cb], 5, logs=logs)
    # 0.995 is within min_delta of 1.0 (wait=1); 0.5 resets; 0.6, 0.55 -> wait=2.
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    assert cb.wait == 0 and cb.best == 0.5


def test_reduce_lr_verbose_message(capsys):
    model = SavingModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, verbose=1)
    run_fit(model, [cb], 2, logs=[{"loss": 1.0}, {"loss": 1.0}])
    assert capsys.readouterr().out == "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"


def test_reduce_lr_missing_monitor_warns_and_logs_rate():
    model = SavingModel(learning_rate=0.5)
    cb = ReduceLROnPlateau(patience=0)
    with pytest.warns(
        UserWarning,
        match=r"Learning rate reduction is conditioned on metric "
        r"`val_loss` which is not available. Available "
        r"metrics are: loss,learning_rate",
    ):
        history = run_fit(model, [cb], 1, logs=[{"loss": 1.0}])
    assert history.history["learning_rate"] == [0.5]


def test_reduce_lr_state_resets_on_train_begin():
    model = SavingModel(learning_rate=1.0)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    run_fit(model, [cb], 2, logs=[{"loss": 0.1}, {"loss": 0.2}])
    assert model.optimizer.learning_rate == 0.5
    # A fresh best: 1.0 improves on +inf, not a plateau against the old 0.1.
    run_fit(model, [cb], 1, logs=[{"loss": 1.0}])
    assert model.optimizer.learning_rate == 0.5 and cb.best == 1.0


def test_reduce_lr_with_schedule_optimizer_raises_typeerror():
    optimizer = SGD(ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5))
    model = SavingModel(optimizer=optimizer)
    cb = ReduceLROnPlateau(monitor="loss", patience=0)
    with pytest.raises(
        TypeError,
        match=r"ReduceLROnPlateau cannot set the learning rate.*"
        r"LearningRateSchedule",
    ):
        run_fit(model, [cb], 2, logs=[{"loss": 1.0}, {"loss": 1.0}])


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"factor": 1.0}, ValueError, r"does not support a factor >= 1.0. Received factor=1.0"),
        ({"factor": 2}, ValueError, r"factor >= 1.0"),
        ({"factor": 0.0}, ValueError, r"factor in \(0, 1\)"),
        ({"factor": "0.5"}, TypeError, r"`factor` to be a real number"),
        ({"patience": -1}, ValueError, r"`patience` to be a non-negative integer"),
        ({"cooldown": -2}, ValueError, r"`cooldown` to be a non-negative integer"),
        ({"min_lr": -1e-3}, ValueError, r"`min_lr` >= 0"),
        ({"min_delta": float("nan")}, ValueError, r"`min_delta` to be a finite number"),
    ],
)
def test_reduce_lr_argument_validation(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ReduceLROnPlateau(**kwargs)


def test_reduce_lr_unknown_monitor_with_auto_mode():
    cb = ReduceLROnPlateau(monitor="score")
    with pytest.raises(ValueError, match=r"mode='auto'"):
        run_fit(SavingModel(), [cb], 1, logs=[{"score": 1.0}])


def test_reduce_lr_unknown_mode_warns():
    with pytest.warns(UserWarning, match=r"ReduceLROnPlateau mode 'up' is unknown"):
        cb = ReduceLROnPlateau(mode="up")
    assert cb.mode == "auto"


# ------------------------------------------------------- LearningRateScheduler


def test_lr_scheduler_sets_rate_each_epoch_and_logs_it():
    model = SavingModel(learning_rate=0.1)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch == 0 else lr * 0.5

    history = run_fit(model, [LearningRateScheduler(schedule)], 3, [1.0, 1.0, 1.0])
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.05)]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025]
    assert model.optimizer.learning_rate == 0.025


def test_lr_scheduler_accepts_one_argument_schedule(capsys):
    model = SavingModel()
    cb = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)
    history = run_fit(model, [cb], 2, [1.0, 1.0])
    assert history.history["learning_rate"] == [0.1, 0.05]
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 1: LearningRateScheduler setting learning rate to 0.1.",
        "Epoch 2: LearningRateScheduler setting learning rate to 0.05.",
    ]


def test_lr_scheduler_type_error_inside_schedule_is_not_swallowed():
    def schedule(epoch, lr):
        raise TypeError("bug in the schedule")

    with pytest.raises(TypeError, match="bug in the schedule"):
        run_fit(SavingModel(), [LearningRateScheduler(schedule)], 1, [1.0])


@pytest.mark.parametrize("value", ["0.1", None, [0.1]])
def test_lr_scheduler_non_number_output(value):
    cb = LearningRateScheduler(lambda epoch, lr: value)
    with pytest.raises(ValueError, match=r"output of the `schedule` function should be a float"):
        run_fit(SavingModel(), [cb], 1, [1.0])


@pytest.mark.parametrize("value", [-0.1, float("inf"), float("nan")])
def test_lr_scheduler_invalid_rate(value):
    cb = LearningRateScheduler(lambda epoch, lr: value)
    with pytest.raises(ValueError, match=r"LearningRateScheduler cannot set the learning rate"):
        run_fit(SavingModel(), [cb], 1, [1.0])


def test_lr_scheduler_with_schedule_optimizer_raises_typeerror():
    model = SavingModel(optimizer=SGD(ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)))
    cb = LearningRateScheduler(lambda epoch, lr: lr)
    with pytest.raises(TypeError, match=r"LearningRateScheduler cannot set the learning rate"):
        run_fit(model, [cb], 1, [1.0])


def test_lr_scheduler_needs_callable_and_optimizer():
    with pytest.raises(TypeError, match=r"`schedule` to be a function"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match=r'optimizer has a "learning_rate" attribute'):
        run_fit(FakeModel(), [LearningRateScheduler(lambda e, lr: lr)], 1, [1.0])


# --------------------------------------------------------------- TerminateOnNaN


class BatchJournal(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


def test_terminate_on_nan_is_an_engine_hook_not_a_batch_hook():
    cbs = CallbackList([TerminateOnNaN()], add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1)
    assert not cbs.has_train_batch_hooks
    assert cbs.engine_batch_hooks == {"nonfinite_loss"}
    assert CallbackList([EarlyStopping()]).engine_batch_hooks == frozenset()


@pytest.mark.parametrize("bad", [nan, inf, -inf, np.float32("nan")])
def test_terminate_on_nan_through_engine_hook(capsys, bad):
    model = FakeModel()
    journal = BatchJournal()
    cbs = CallbackList([TerminateOnNaN(), journal], model=model, epochs=1, steps=10)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_engine_batch_end("nonfinite_loss", 6, {"loss": bad})
    assert model.stop_training is True
    assert capsys.readouterr().out == "Batch 6: Invalid loss, terminating training\n"
    assert journal.batches == []  # Only callbacks waiting for that event run.
    cbs.on_engine_batch_end("another_event", 7, {"loss": bad})
    assert capsys.readouterr().out == ""


def test_terminate_on_nan_finite_loss_does_nothing(capsys):
    model = FakeModel()
    cbs = CallbackList([TerminateOnNaN()], model=model)
    cbs.on_engine_batch_end("nonfinite_loss", 0, {"loss": 1e30})
    cbs.on_engine_batch_end("nonfinite_loss", 0, {"accuracy": nan})
    assert model.stop_training is False
    assert capsys.readouterr().out == ""


def test_terminate_on_nan_reports_a_batch_once(capsys):
    # fit() running batch by batch may call it through both routes.
    model = FakeModel()
    cbs = CallbackList([TerminateOnNaN(), BatchJournal()], model=model)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_engine_batch_end("nonfinite_loss", 2, {"loss": nan})
    cbs.on_train_batch_end(2, {"loss": nan})
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_terminate_on_nan_in_per_batch_mode(capsys):
    model = FakeModel()
    cb = TerminateOnNaN()

    class NanAtBatch1(Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    cbs = CallbackList([NanAtBatch1(), cb], model=model)
    assert cbs.has_train_batch_hooks
    cbs.on_train_batch_end(0, {"loss": 0.5})
    assert not model.stop_training
    cbs.on_train_batch_end(1, {"loss": inf})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"


def test_terminate_on_nan_raise_error():
    cbs = CallbackList([TerminateOnNaN(raise_error=True)], model=FakeModel())
    with pytest.raises(RuntimeError, match=r"NaN or Inf loss encountered at batch 3. Loss value: nan"):
        cbs.on_engine_batch_end("nonfinite_loss", 3, {"loss": nan})


def test_unknown_engine_hook_kind_is_refused():
    class Odd(Callback):
        _engine_batch_hook = "gradient_explosion"

    with pytest.raises(ValueError, match=r"`_engine_batch_hook`='gradient_explosion'.*nonfinite_loss"):
        CallbackList([Odd()])


# ----------------------------------------------------------- BatchSizeScheduler


class BatchSizeJournal(Callback):
    """Records `model._train_batch_size` after every callback's on_epoch_begin."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def on_epoch_begin(self, epoch, logs=None):
        self.sizes.append(self.model._train_batch_size)


def test_batch_size_rule_doubles_every_n_epochs_up_to_cap():
    model = SavingModel()
    model._train_batch_size = 32
    journal = BatchSizeJournal()
    cb = BatchSizeScheduler(every=2, max_batch_size=100)
    history = run_fit(model, [cb, journal], 7, [1.0] * 7)
    assert journal.sizes == [32, 32, 64, 64, 100, 100, 100]
    assert history.history["batch_size"] == [32, 32, 64, 64, 100, 100, 100]
    # Reset for the next fit: the rule starts again from fit's batch size.
    model._train_batch_size = 16
    history = run_fit(model, [cb, journal], 3, [1.0] * 3)
    assert history.history["batch_size"][-3:] == [16, 16, 32]


def test_batch_size_rule_with_factor_and_resumed_epoch():
    model = SavingModel()
    model._train_batch_size = 8
    cb = BatchSizeScheduler(every=10, factor=4)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_begin(25)  # Resumed with initial_epoch=25: two steps of x4.
    assert model._train_batch_size == 128


def test_batch_size_function_schedule(capsys):
    model = SavingModel()
    model._train_batch_size = 10
    seen = []

    def schedule(epoch, batch_size):
        seen.append((epoch, batch_size))
        return batch_size if epoch == 0 else np.int64(batch_size + 5)

    cb = BatchSizeScheduler(schedule, max_batch_size=18, verbose=1)
    history = run_fit(model, [cb], 3, [1.0] * 3)
    assert seen == [(0, 10), (1, 10), (2, 15)]
    assert history.history["batch_size"] == [10, 15, 18]
    assert type(model._train_batch_size) is int
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 2: BatchSizeScheduler setting batch size to 15.",
        "Epoch 3: BatchSizeScheduler setting batch size to 18.",
    ]


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({}, ValueError, r"exactly one of `schedule`.*and `every`"),
        ({"schedule": lambda e, b: b, "every": 2}, ValueError, r"exactly one of"),
        ({"schedule": 64}, TypeError, r"`schedule` to be a function"),
        ({"every": 0}, ValueError, r"`every` to be a positive integer. Received: every=0"),
        ({"every": 2.5}, TypeError, r"`every` to be a positive integer"),
        ({"every": 2, "factor": 1}, ValueError, r"`factor` to be an integer >= 2"),
        ({"every": 2, "factor": 2.0}, TypeError, r"`factor` to be an integer >= 2"),
        ({"every": 2, "max_batch_size": 0}, ValueError, r"`max_batch_size` to be a positive"),
        ({"every": 2, "max_batch_size": True}, TypeError, r"`max_batch_size`"),
    ],
)
def test_batch_size_scheduler_argument_validation(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        BatchSizeScheduler(**kwargs)


@pytest.mark.parametrize(
    "value, error, pattern",
    [
        (0, ValueError, r"return a positive integer. Received: 0 at epoch 0"),
        (-8, ValueError, r"Received: -8"),
        (32.0, TypeError, r"Received: 32.0 of type float"),
        (True, TypeError, r"of type bool"),
        ("64", TypeError, r"of type str"),
    ],
)
def test_batch_size_schedule_bad_results(value, error, pattern):
    cb = BatchSizeScheduler(lambda epoch, batch_size: value)
    with pytest.raises(error, match=pattern):
        run_fit(SavingModel(), [cb], 1, [1.0])


def test_batch_size_cap_below_fit_batch_size():
    model = SavingModel()
    model._train_batch_size = 64
    with pytest.raises(ValueError, match=r"max_batch_size=32, batch_size=64"):
        run_fit(model, [BatchSizeScheduler(every=1, max_batch_size=32)], 1, [1.0])


def test_batch_size_scheduler_needs_model_batch_size():
    with pytest.raises(RuntimeError, match=r"model._train_batch_size"):
        run_fit(FakeModel(), [BatchSizeScheduler(every=1)], 1, [1.0])


def test_batch_size_scheduler_is_not_a_batch_hook():
    assert not CallbackList([BatchSizeScheduler(every=1)]).has_train_batch_hooks


# -------------------------------------------------------------------- CSVLogger


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_csv_logger_content(tmp_path):
    path = tmp_path / "run" / "log.csv"
    logs = [
        {"loss": 0.5, "val_loss": 0.75, "accuracy": 0.25},
        {"loss": 0.25, "accuracy": 0.5, "val_loss": np.float32(0.5), "extra": 1.0},
    ]
    with pytest.warns(UserWarning, match=r"not writing 'extra'"):
        run_fit(FakeModel(), [CSVLogger(path)], 2, logs=logs)
    # Keras's layout: epoch from 0, then the first epoch's keys sorted;
    # csv's Excel dialect ends lines with \r\n.
    assert read_bytes(path) == (b"epoch,accuracy,loss,val_loss\r\n0,0.25,0.5,0.75\r\n1,0.5,0.25,0.5\r\n")


def test_csv_logger_missing_values_iterables_and_separator(tmp_path):
    path = tmp_path / "log.tsv"
    logs = [{"loss": 1.0, "sizes": [1, 2]}, {"sizes": np.array([3])}]
    run_fit(FakeModel(), [CSVLogger(str(path), separator="\t")], 2, logs=logs)
    rows = list(csv.reader(open(path, newline=""), delimiter="\t"))
    assert rows == [
        ["epoch", "loss", "sizes", "val_loss", "val_sizes"],  # Keras 3: val_ columns when the first epoch has none
        ["0", "1.0", '"[1, 2]"', "NA", "NA"],
        ["1", "NA", '"[3]"', "NA", "NA"],
    ]


def test_csv_logger_overwrites_by_default_and_appends_on_request(tmp_path):
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(path)], 1, logs=[{"loss": 3.0}])
    run_fit(FakeModel(), [CSVLogger(path)], 1, logs=[{"loss": 2.0}])
    assert read_bytes(path) == b"epoch,loss,val_loss\r\n0,2.0,NA\r\n"
    # Appending keeps the header's columns, even if the keys come in another
    # order or with new ones (left out with a warning).
    with pytest.warns(UserWarning, match=r"not writing 'accuracy'"):
        run_fit(FakeModel(), [CSVLogger(path, append=True)], 1, logs=[{"accuracy": 0.5, "loss": 1.0}])
    assert read_bytes(path) == b"epoch,loss,val_loss\r\n0,2.0,NA\r\n0,1.0,NA\r\n"


def test_csv_logger_append_to_missing_or_empty_file_writes_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(b"")
    run_fit(FakeModel(), [CSVLogger(path, append=True)], 1, logs=[{"loss": 1.0}])
    assert read_bytes(path) == b"epoch,loss,val_loss\r\n0,1.0,NA\r\n"


def test_csv_logger_rows_are_on_disk_after_each_epoch(tmp_path):
    path = tmp_path / "log.csv"

    class Check(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                assert read_bytes(path).count(b"\r\n") == 2  # Header and epoch 0.

    # Check runs before the logger of the same epoch.
    run_fit(FakeModel(), [Check(), CSVLogger(path)], 2, logs=[{"loss": 1.0}] * 2)


@pytest.mark.parametrize("separator", ["", ";;", "\n", '"', 1])
def test_csv_logger_bad_separator(tmp_path, separator):
    with pytest.raises(ValueError, match=r"separator"):
        CSVLogger(tmp_path / "log.csv", separator=separator)


# --------------------------------------------------------------- LambdaCallback


def test_lambda_callback_calls_its_functions():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch, logs["val_loss"])),
        on_train_end=lambda logs: calls.append("end"),
    )
    assert not CallbackList([cb]).has_train_batch_hooks
    run_fit(FakeModel(), [cb], 2, [0.5, 0.25])
    assert calls == ["begin", ("epoch", 0, 0.5), ("epoch", 1, 0.25), "end"]


def test_lambda_callback_batch_and_other_hooks():
    batches, progress = [], []
    cb = LambdaCallback(
        on_train_batch_end=lambda batch, logs: batches.append(batch),
        on_train_progress=lambda steps, logs: progress.append(steps),
    )
    cbs = CallbackList([cb])
    assert cbs.has_train_batch_hooks and cbs.has_train_progress_hooks
    run_fit(FakeModel(), [cb], 1, [1.0], steps=3)
    cbs.on_train_progress(3, {"loss": 1.0})
    assert batches == [0, 1, 2] and progress == [3]


def test_lambda_callback_rejects_unknown_hooks_and_non_callables():
    with pytest.raises(TypeError, match=r"unexpected hook 'on_epoch_ed'"):
        LambdaCallback(on_epoch_ed=print)
    with pytest.raises(TypeError, match=r"`on_epoch_end` to be a function"):
        LambdaCallback(on_epoch_end="print")


# ------------------------------------------------ EarlyStopping -> History marks


def test_early_stopping_records_restored_epoch_in_history():
    model = FakeModel()
    cb = EarlyStopping(patience=1, restore_best_weights=True)
    history = run_fit(model, [cb], 10, [3.0, 1.0, 2.0, 2.5])
    assert cb.restored_epoch == 1 and history.restored_epoch == 1
    # A later fit without restoring clears it.
    history = run_fit(model, [history], 1, [1.0])
    assert history.restored_epoch is None


def test_history_without_restore_has_no_restored_epoch():
    history = run_fit(FakeModel(), [EarlyStopping(patience=0)], 5, [1.0, 2.0])
    assert history.restored_epoch is None


# ------------------------------------------------------- progress (tqdm / plain)


def drive_progress(verbose, logs, steps=12, epochs=2, chunks=(3, 9, 12)):
    progbar = ProgbarLogger()
    cbs = CallbackList([progbar], verbose=verbose, epochs=epochs, steps=steps)
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        for done in chunks:
            cbs.on_train_progress(done, {"loss": 1.0 / done})
        cbs.on_epoch_end(epoch, dict(logs))
    cbs.on_train_end()
    return cbs


def test_progress_hook_is_not_a_batch_hook():
    class Watcher(Callback):
        def on_train_progress(self, steps_done, logs=None):
            pass

    cbs = CallbackList([Watcher()])
    assert cbs.has_train_progress_hooks
    assert not cbs.has_train_batch_hooks
    assert not CallbackList([Callback()]).has_train_progress_hooks


def test_progress_needed_only_for_verbose_1_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    # capsys: not a terminal -> plain lines, no chunks needed.
    assert not CallbackList([], add_progbar=True, verbose=1).has_train_progress_hooks
    monkeypatch.setattr(sys, "stdout", TTY())
    assert CallbackList([], add_progbar=True, verbose=1).has_train_progress_hooks
    assert not CallbackList([], add_progbar=True, verbose=2).has_train_progress_hooks


def test_progress_verbose_1_non_terminal_is_plain_lines(capsys):
    drive_progress(1, {"loss": 0.5, "val_loss": 0.25})
    lines = capsys.readouterr().out.split("\n")
    assert "\r" not in "".join(lines)
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[4] == ""
    for line in (lines[1], lines[3]):
        assert re.fullmatch(KERAS_LINE_1 % "12/12" + r" - loss: 0\.5000 - val_loss: 0\.2500", line)


def test_progress_verbose_2_non_terminal_one_line_per_epoch(capsys):
    drive_progress(2, {"loss": 0.5})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0] == "Epoch 1/2" and re.fullmatch(KERAS_LINE_2 % "12/12" + r" - loss: 0\.5000", lines[1])


def test_progress_verbose_0_is_silent(capsys):
    drive_progress(0, {"loss": 0.5})
    assert capsys.readouterr().out == ""


def test_progress_bar_on_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    drive_progress(1, {"loss": 0.5, "val_loss": 0.25}, chunks=(12,))
    out = tty.getvalue()
    assert out.startswith("Epoch 1/2\n")
    assert "\r" in out  # Redrawn in place.
    # Each epoch's bar ends complete, with the epoch's metrics, and stays.
    # tqdm pads a redraw with spaces to cover a longer previous one.
    finals = [line.rsplit("\r", 1)[-1].rstrip() for line in out.split("\n") if "12/12 ━" in line]
    assert len(finals) == 2
    for final in finals:
        # Keras 3's layout: time per step, not a rate.
        assert re.fullmatch(KERAS_LINE_1 % "12/12" + r" - loss: 0\.5000 - val_loss: 0\.2500", final)
    assert "Epoch 2/2\n" in out
    assert _util._active_bar is None


def test_progress_bar_shows_running_metrics_mid_epoch(monkeypatch):
    pytest.importorskip("tqdm")
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    progbar = ProgbarLogger()
    cbs = CallbackList([progbar], verbose=1, epochs=1, steps=10)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    progbar._bar.mininterval = 0  # Draw every update (fit throttles for real).
    cbs.on_train_progress(4, {"loss": 0.75})
    mid = tty.getvalue().rsplit("\r", 1)[-1].rstrip()
    assert re.fullmatch(r" 4/10 ━{8}─{12} \d+s \d+(?:s|ms|us)/step - loss: 0\.7500", mid)
    cbs.on_epoch_end(0, {"loss": 0.5})
    cbs.on_train_end()


def test_messages_of_other_callbacks_do_not_break_the_bar(monkeypatch):
    pytest.importorskip("tqdm")
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    model = FakeModel()
    cb = EarlyStopping(monitor="loss", patience=0, verbose=1)
    cbs = CallbackList([cb], add_progbar=True, model=model, verbose=1, epochs=3, steps=4)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_epoch_begin(1)
    cbs.on_train_progress(2, {"loss": 2.0})
    cbs.on_engine_batch_end("nonfinite_loss", 0, {"loss": nan})  # No such callback: no-op.
    cbs.on_epoch_end(1, {"loss": 2.0})
    cbs.on_train_end()
    lines = [line.rsplit("\r", 1)[-1] for line in tty.getvalue().split("\n")]
    assert "Epoch 2: early stopping" in lines


def test_progress_without_tqdm_falls_back_to_plain_lines(monkeypatch):
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    monkeypatch.setattr(progbar_logger, "_tqdm_bar_class", False)
    assert not CallbackList([], add_progbar=True, verbose=1).has_train_progress_hooks
    drive_progress(1, {"loss": 0.5})
    lines = tty.getvalue().splitlines()
    assert "\r" not in tty.getvalue()
    assert lines[0] == "Epoch 1/2" and re.fullmatch(KERAS_LINE_1 % "12/12" + " - loss: 0\\.5000", lines[1])


def test_progbar_reads_steps_at_every_epoch(capsys):
    # fit() may update params["steps"] when the batch size changes.
    cbs = CallbackList([], add_progbar=True, verbose=2, epochs=2, steps=8)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.params["steps"] = 4
    cbs.on_epoch_begin(1)
    cbs.on_epoch_end(1, {"loss": 1.0})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("8/8 - ")
    assert lines[2] == "Epoch 2/2" and lines[3].startswith("4/4 - ")


# ------------------------------------------------------------------ TensorBoard


class FakeVariable:
    def __init__(self, name, value):
        self.name = name
        self._value = np.asarray(value, dtype=np.float32)

    def numpy(self):
        return self._value.copy()


class TensorBoardModel(SavingModel):
    def __init__(self):
        super().__init__(learning_rate=0.05)
        self.weights = [
            FakeVariable("dense/kernel", np.linspace(-1, 1, 12).reshape(3, 4)),
            FakeVariable("dense/bias", np.zeros(4)),
        ]


def read_events(directory):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0}
    )
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag):
    return [(e.step, round(e.value, 6)) for e in accumulator.Scalars(tag)]


def test_tensorboard_epoch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX")
    model = TensorBoardModel()
    cb = TensorBoard(log_dir=tmp_path / "logs", histogram_freq=2)
    assert not CallbackList([cb]).has_train_batch_hooks
    logs = [
        {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.5, "val_accuracy": 0.25},
        {"loss": 0.5, "accuracy": 0.75, "val_loss": 1.25, "val_accuracy": 0.5},
        {"loss": 0.25, "accuracy": 0.875, "val_loss": 1.0, "val_accuracy": 0.75, "learning_rate": 0.01},
    ]
    run_fit(model, [cb], 3, logs=logs)
    assert sorted(os.listdir(tmp_path / "logs")) == ["train", "validation"]
    train = read_events(tmp_path / "logs" / "train")
    assert sorted(train.Tags()["scalars"]) == ["epoch_accuracy", "epoch_learning_rate", "epoch_loss"]
    assert scalars(train, "epoch_loss") == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert scalars(train, "epoch_accuracy") == [(0, 0.5), (1, 0.75), (2, 0.875)]
    # The optimizer's rate, unless a callback logged the rate of the epoch.
    assert scalars(train, "epoch_learning_rate") == [(0, 0.05), (1, 0.05), (2, 0.01)]
    val = read_events(tmp_path / "logs" / "validation")
    assert sorted(val.Tags()["scalars"]) == ["epoch_accuracy", "epoch_loss"]
    assert scalars(val, "epoch_loss") == [(0, 1.5), (1, 1.25), (2, 1.0)]
    # Histograms at epochs 0 and 2, of every weight.
    assert sorted(train.Tags()["histograms"]) == ["dense/bias/histogram", "dense/kernel/histogram"]
    kernel = train.Histograms("dense/kernel/histogram")
    assert [e.step for e in kernel] == [0, 2]
    assert kernel[0].histogram_value.num == 12
    assert kernel[0].histogram_value.min == -1.0 and kernel[0].histogram_value.max == 1.0


def test_tensorboard_batch_scalars_with_update_freq(tmp_path):
    pytest.importorskip("tensorboardX")
    cb = TensorBoard(log_dir=str(tmp_path), update_freq=2)
    assert CallbackList([cb]).has_train_batch_hooks
    run_fit(TensorBoardModel(), [cb], 2, [1.0, 1.0], steps=3)
    train = read_events(tmp_path / "train")
    # Batches 1..6 over two epochs; written every 2nd; run_fit logs loss=b.
    assert scalars(train, "batch_loss") == [(2, 1.0), (4, 0.0), (6, 2.0)]


def test_tensorboard_steps_per_second_and_evaluation(tmp_path):
    pytest.importorskip("tensorboardX")
    model = TensorBoardModel()
    cb = TensorBoard(log_dir=str(tmp_path), write_steps_per_second=True)
    cbs = CallbackList([cb], model=model, epochs=1, steps=4)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    model.optimizer._iterations[0] += 4  # What the engine does.
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_train_end()
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 0.75})  # A later model.evaluate().
    train = read_events(tmp_path / "train")
    assert train.Scalars("epoch_steps_per_second")[0].value > 0
    val = read_events(tmp_path / "validation")
    assert scalars(val, "evaluation_loss_vs_iterations") == [(4, 0.75)]


def test_tensorboard_repeated_fits_keep_all_event_files(tmp_path):
    pytest.importorskip("tensorboardX")
    cb = TensorBoard(log_dir=str(tmp_path))
    model = TensorBoardModel()
    run_fit(model, [cb], 1, logs=[{"loss": 1.0}])
    run_fit(model, [cb], 1, logs=[{"loss": 0.5}])
    assert len(os.listdir(tmp_path / "train")) == 2
    assert [e.value for e in read_events(tmp_path / "train").Scalars("epoch_loss")] == [1.0, 0.5]


def test_tensorboard_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install tensorboardX"):
        TensorBoard()


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"update_freq": 0}, r"`update_freq` to be 'epoch', 'batch' or a positive integer"),
        ({"update_freq": "step"}, r"update_freq='step'"),
        ({"profile_batch": 5}, r"profile_batch must be 0"),
        ({"embeddings_freq": 1}, r"no Embedding layer"),
        ({"write_images": True}, r"write_images=True\) is not supported"),
    ],
)
def test_tensorboard_unsupported_or_bad_options(kwargs, pattern):
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match=pattern):
        TensorBoard(**kwargs)


def test_tensorboard_histogram_freq_validation():
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match=r"`histogram_freq` to be a non-negative integer"):
        TensorBoard(histogram_freq=-1)


def test_bar_of_an_interrupted_fit_is_closed_by_the_next_fit(monkeypatch):
    pytest.importorskip("tqdm")
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    first = CallbackList([], add_progbar=True, verbose=1, epochs=2, steps=4)
    first.on_train_begin()
    first.on_epoch_begin(0)
    first.on_train_progress(2, {"loss": 1.0})
    stale = _util._active_bar
    assert stale is not None
    # KeyboardInterrupt here: fit never reaches on_epoch_end / on_train_end.
    second = CallbackList([], add_progbar=False, verbose=0, epochs=1, steps=4)
    second.on_train_begin()
    assert _util._active_bar is None
    assert stale.disable  # tqdm marks a closed bar disabled.
    _util._print("message")
    assert tty.getvalue().endswith("\nmessage\n")
