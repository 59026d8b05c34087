"""Tests for pytrainc.callbacks against a scripted fake model.

The expected epoch counts follow Keras 3's EarlyStopping algorithm
(keras/src/callbacks/early_stopping.py): at each monitored epoch `wait += 1`;
an improvement sets `best` and resets `wait` to 0 (with a baseline, only if the
value also beats the baseline) and skips the stop check; otherwise training
stops when `wait >= patience and epoch > 0`.
"""

import os

import numpy as np
import pytest

from pytrainc import callbacks
from pytrainc.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    MonitorCallback,
    ProgbarLogger,
)

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
    assert messages == [
        "Early stopping conditioned on metric `val_loss` which is not available. "
        "Available metrics are: loss,accuracy"
    ] * 3
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
    assert out == (
        "Epoch 4: early stopping\n"
        "Restoring model weights from the end of the best epoch: 1.\n"
    )


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
    cbs = CallbackList(
        [user], add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1
    )
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
    cbs = CallbackList(
        [user, es], add_history=True, model=model, verbose=0, epochs=3, steps=7
    )
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
    pattern = r"instance of pytrainc.callbacks.Callback. Received: 'early'"
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
    # Elapsed time is not asserted exactly (no timing in assertions).
    head, sep, rest = lines[1].partition("s - ")
    assert head.startswith("12/12 - ") and head[len("12/12 - "):].isdigit() and sep
    assert rest == "loss: 0.1234 - accuracy: 0.5000 - val_loss: 1.0000e-04"
    assert lines[3].startswith("12/12 - ")
    assert lines[3].endswith("s - loss: 2.0000 - accuracy: 0.7500 - val_loss: nan")


def test_progbar_verbose_2_prints_one_line_per_epoch(capsys):
    run_fit(FakeModel(), [], 3, logs=[{"loss": 0.5}] * 3, steps=4, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3 - 4/4 - ")
        assert line.endswith("s - loss: 0.5000")


def test_progbar_single_epoch_has_no_epoch_header(capsys):
    run_fit(FakeModel(), [], 1, logs=[{"loss": 0.5}], steps=4, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("4/4 - ") and lines[0].endswith("s - loss: 0.5000")


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
    assert out.startswith("5/5 - ") and out.endswith("s - loss: 0.2500\n")


def test_progbar_validation_inside_fit_is_silent(capsys):
    cbs = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=2)
    cbs.on_train_begin()
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 0.25})
    assert capsys.readouterr().out == ""


def test_module_exports():
    assert sorted(callbacks.__all__) == [
        "Callback",
        "CallbackList",
        "EarlyStopping",
        "History",
        "MonitorCallback",
        "ProgbarLogger",
    ]
