"""Callbacks: hooks into `fit()`, `evaluate()` and `predict()`.

The names and semantics follow Keras 3 (`keras/src/callbacks/`): `Callback`,
`CallbackList`, `History`, `ProgbarLogger`, `MonitorCallback` and
`EarlyStopping`. Two pytrainc-specific rules:

- A monitored value that is not finite (NaN, +inf or -inf) never counts as an
  improvement, in either direction.
- `CallbackList.has_train_batch_hooks` (and the test/predict variants) tell the
  training loop whether any callback needs per-batch calls. When none does, the
  whole epoch runs in one call to the C engine.
"""

import math
import numbers
import operator
import os
import sys
import time
import warnings

import numpy as np

__all__ = [
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "MonitorCallback",
    "ProgbarLogger",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _warn(message):
    """Warns at the first stack frame outside the pytrainc package.

    Callback warnings are raised several frames below the user's code
    (`fit` -> `CallbackList` -> callback), so a fixed `stacklevel=2` would point
    inside pytrainc. This walks up to the caller the message is meant for.
    """
    stacklevel = 2  # The caller of _warn, as with a plain stacklevel=2.
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
        stacklevel += 1
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _print(message):
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _check_non_negative_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner} expects `{name}` to be a non-negative integer. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(
            f"{owner} expects `{name}` to be a non-negative integer. "
            f"Received: {name}={value}"
        )
    return int(value)


def _check_finite_number(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner} expects `{name}` to be a real number. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise ValueError(
            f"{owner} expects `{name}` to be a finite number. Received: {name}={value}"
        )
    return float(value)


class Callback:
    """Base class used to build new callbacks.

    Callbacks are passed to `fit()`, `evaluate()` and `predict()` to hook into
    the stages of training, evaluation and inference. Subclass `Callback` and
    override the methods of the stages you need; the others do nothing.

    Overriding a batch hook (`on_train_batch_begin`, `on_train_batch_end`, or
    their aliases `on_batch_begin` / `on_batch_end`) makes `fit()` return to
    Python after every batch, which is slower than running the whole epoch in
    the C engine. Override epoch hooks when they are enough.

    Attributes:
        model: The model being trained, set by `set_model()`. `None` until then.
        params: Dict of training parameters (`verbose`, `epochs`, `steps`), set
            by `set_params()`. `None` until then.

    Example:

    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    # Class-level defaults so that a subclass whose `__init__` forgets to call
    # `super().__init__()` still has both attributes.
    model = None
    params = None

    def __init__(self):
        self.model = None
        self.params = None

    def set_params(self, params):
        """Stores the training parameters in `self.params`.

        Args:
            params: Dict of training parameters, for example
                `{"verbose": 1, "epochs": 10, "steps": 32}`.
        """
        self.params = params

    def set_model(self, model):
        """Stores the model in `self.model`.

        Args:
            model: The model the callback is used with.
        """
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch of `fit()`.

        Args:
            epoch: Integer, index of the epoch (0-based).
            logs: Dict. Currently empty.
        """

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch of `fit()`.

        Args:
            epoch: Integer, index of the epoch (0-based).
            logs: Dict of metric results for this epoch, for example
                `{"loss": 0.2, "accuracy": 0.7, "val_loss": 0.3}`. Validation
                keys are prefixed with `val_`. All callbacks receive the same
                dict object.
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in `fit()`.

        Args:
            batch: Integer, index of the batch within the epoch.
            logs: Dict. Currently empty.
        """
        # For backwards compatibility with callbacks that override the alias.
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch in `fit()`.

        Args:
            batch: Integer, index of the batch within the epoch.
            logs: Dict of metric results up to this batch.
        """
        # For backwards compatibility with callbacks that override the alias.
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch of `evaluate()` or of validation.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch of `evaluate()` or of validation.

        Args:
            batch: Integer, index of the batch.
            logs: Dict of metric results up to this batch.
        """

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch of `predict()`.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch of `predict()`.

        Args:
            batch: Integer, index of the batch.
            logs: Dict. Currently empty.
        """

    def on_train_begin(self, logs=None):
        """Called at the beginning of `fit()`.

        Args:
            logs: Dict. Currently empty.
        """

    def on_train_end(self, logs=None):
        """Called at the end of `fit()`.

        Args:
            logs: Dict, the logs of the last epoch.
        """

    def on_test_begin(self, logs=None):
        """Called at the beginning of `evaluate()` or of validation.

        Args:
            logs: Dict. Currently empty.
        """

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate()` or of validation.

        Args:
            logs: Dict of metric results.
        """

    def on_predict_begin(self, logs=None):
        """Called at the beginning of `predict()`.

        Args:
            logs: Dict. Currently empty.
        """

    def on_predict_end(self, logs=None):
        """Called at the end of `predict()`.

        Args:
            logs: Dict. Currently empty.
        """


class History(Callback):
    """Records the logs of every epoch; `fit()` returns this object.

    Added automatically by `fit()`. As in Keras, `on_train_begin` clears
    `epoch` but keeps `history`, so an instance passed to several `fit()` calls
    accumulates the values of all of them.

    Attributes:
        history: Dict mapping each log key (`"loss"`, `"val_loss"`, ...) to the
            list of its values, one per epoch.
        epoch: List of the indices of the epochs recorded in the current `fit()`.

    Example:

    >>> history = History()  # `model.fit()` returns the one it used.
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> history.on_epoch_end(1, {"loss": 0.25, "val_loss": 0.5})
    >>> history.history
    {'loss': [0.5, 0.25], 'val_loss': [0.75, 0.5]}
    >>> history.epoch
    [0, 1]
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        # Keras re-attaches itself here so `model.history` is always the
        # History of the latest epoch.
        if self.model is not None:
            self.model.history = self


def _format_value(value):
    # Keras's Progbar: 4 decimals, or scientific notation for tiny values.
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


class ProgbarLogger(Callback):
    """Prints the metrics of every epoch to `sys.stdout`.

    Added automatically by `fit()`, `evaluate()` and `predict()` when
    `verbose != 0`. Its verbosity, number of epochs and steps come from
    `params` (`set_params`).

    With `verbose=1`, `fit()` prints `Epoch i/N` at the start of each epoch
    (when `N > 1`) and, at its end, a line such as
    `32/32 - 1s - loss: 0.1234 - accuracy: 0.9500`. With `verbose=2`, it prints
    only one line per epoch: `Epoch i/N - 32/32 - 1s - loss: 0.1234 - ...`.
    Values are formatted as in Keras: 4 decimals, scientific notation when the
    absolute value is at most 1e-3.

    Its batch hooks only count steps, so it does not make `fit()` leave the C
    engine after every batch.

    Example:

    >>> logger = ProgbarLogger()
    >>> logger.set_params({"verbose": 1, "epochs": 2, "steps": 4})
    >>> logger.on_epoch_begin(0)
    Epoch 1/2
    >>> logger.on_epoch_end(0, {"loss": 0.69314, "accuracy": 0.0001})
    4/4 - 0s - loss: 0.6931 - accuracy: 1.0000e-04
    """

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.seen = 0
        self._start = None
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self):
        self.seen = 0
        self._start = time.time()

    def _emit(self, logs, prefix=""):
        if not self.verbose:
            return
        target = self.target if self.target else self.seen
        parts = []
        if prefix:
            parts.append(prefix)
        if target:
            parts.append(f"{target}/{target}")
        start = self._start if self._start is not None else time.time()
        parts.append(f"{time.time() - start:.0f}s")
        for key, value in (logs or {}).items():
            parts.append(f"{key}: {_format_value(value)}")
        _print(" - ".join(parts))

    def on_train_begin(self, logs=None):
        # Inside fit(), validation runs silently.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose == 1 and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_epoch_end(self, epoch, logs=None):
        prefix = ""
        if self.verbose == 2 and self.epochs > 1:
            prefix = f"Epoch {epoch + 1}/{self.epochs}"
        self._emit(logs, prefix)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self.seen = batch + 1

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._emit(logs)

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_predict_batch_end(self, batch, logs=None):
        self.seen = batch + 1

    def on_predict_end(self, logs=None):
        # Prediction results are not metrics: print the count and time only.
        self._emit(None)


# A callback needs per-batch calls when it overrides one of these hooks.
# ProgbarLogger's batch hooks only count steps, which `params["steps"]` already
# gives, so they are treated like Callback's empty ones.
_TRAIN_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
)
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")
_DEFAULT_HOOKS = {
    name: {
        cls.__dict__[name]
        for cls in (Callback, ProgbarLogger)
        if name in cls.__dict__
    }
    for name in _TRAIN_BATCH_HOOKS + _TEST_BATCH_HOOKS + _PREDICT_BATCH_HOOKS
}


def _overrides_any(callback, names):
    for name in names:
        method = getattr(callback, name)
        # A bound method exposes its function; a function assigned on the
        # instance has no __func__ and always counts as an override.
        function = getattr(method, "__func__", method)
        if function not in _DEFAULT_HOOKS[name]:
            return True
    return False


def _flatten_callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            "CallbackList expects `callbacks` to be a list of Callback instances. "
            f"Received: callbacks={callbacks!r} of type {type(callbacks).__name__}"
        )
    flat = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten_callbacks(item))
        elif isinstance(item, Callback):
            flat.append(item)
        else:
            raise TypeError(
                "CallbackList expects every callback to be an instance of "
                "pytrainc.callbacks.Callback. "
                f"Received: {item!r} of type {type(item).__name__}"
            )
    return flat


class CallbackList(Callback):
    """Calls a list of callbacks through one object.

    Callbacks run in the order given and all receive the same `logs` dict. The
    `History` and `ProgbarLogger` added by `add_history` / `add_progbar` run
    after them. An exception raised by a callback propagates unchanged and the
    callbacks after it are not called.

    Args:
        callbacks: List of `Callback` instances (nested lists are flattened), a
            single `Callback`, or `None`. Defaults to `None`.
        add_history: Whether to append a `History` unless the list already
            holds one. Defaults to `False`.
        add_progbar: Whether to append a `ProgbarLogger` unless the list
            already holds one. Defaults to `False`.
        model: Model passed to every callback's `set_model()`; its `history`
            attribute is set to the list's `History`. Defaults to `None`.
        **params: Training parameters (`verbose`, `epochs`, `steps`) passed to
            every callback's `set_params()` when not empty.

    Raises:
        TypeError: If `callbacks` holds something that is not a `Callback`.

    Example:

    >>> class TinyModel:  # Anything with `stop_training` and `history`.
    ...     stop_training = False
    >>> model = TinyModel()
    >>> cbs = CallbackList([EarlyStopping(monitor="loss")], add_history=True,
    ...                    model=model, verbose=0, epochs=10, steps=32)
    >>> cbs.on_train_begin()
    >>> cbs.on_epoch_begin(0)
    >>> cbs.on_epoch_end(0, {"loss": 0.5})
    >>> cbs.on_train_end({"loss": 0.5})
    >>> model.history.history
    {'loss': [0.5]}
    """

    def __init__(
        self,
        callbacks=None,
        add_history=False,
        add_progbar=False,
        model=None,
        **params,
    ):
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks)
        self._history = None
        self._progbar = None
        for callback in self.callbacks:
            if isinstance(callback, ProgbarLogger):
                self._progbar = callback
            elif isinstance(callback, History):
                self._history = callback
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    @property
    def has_train_batch_hooks(self):
        """Whether some callback needs `on_train_batch_begin/end` calls."""
        return any(_overrides_any(cb, _TRAIN_BATCH_HOOKS) for cb in self.callbacks)

    @property
    def has_test_batch_hooks(self):
        """Whether some callback needs `on_test_batch_begin/end` calls."""
        return any(_overrides_any(cb, _TEST_BATCH_HOOKS) for cb in self.callbacks)

    @property
    def has_predict_batch_hooks(self):
        """Whether some callback needs `on_predict_batch_begin/end` calls."""
        return any(_overrides_any(cb, _PREDICT_BATCH_HOOKS) for cb in self.callbacks)

    # The hooks below pass `logs` positionally and create at most one dict, so
    # every callback sees the very same object.

    def on_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_end(batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_end(logs)


# Name fragments used by mode="auto" when the model's metrics do not say which
# direction is better. Keras 3 only knows "loss" by name and asks the compiled
# metric objects for the rest; pytrainc adds the common metric names.
_MAX_FRAGMENTS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou")
_MIN_FRAGMENTS = ("error", "crossentropy", "hinge", "divergence", "poisson", "logcosh")
_MIN_TOKENS = ("mse", "mae", "mape", "msle", "rmse")


def _iter_metrics(metrics):
    # Compiled-metric containers (Keras's CompileMetrics / MetricsList) hold
    # their metrics in a `metrics` list; walk into them.
    for metric in metrics:
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            yield from _iter_metrics(inner)
        else:
            yield metric


def _direction_from_model(model, name):
    try:
        metrics = getattr(model, "metrics", None)
    except Exception:  # A model may refuse before it is compiled.
        return None
    if not isinstance(metrics, (list, tuple)):
        return None
    for metric in _iter_metrics(metrics):
        if getattr(metric, "name", None) != name:
            continue
        direction = getattr(metric, "_direction", None)
        if direction is None:
            direction = getattr(metric, "direction", None)
        if direction in ("up", "down"):
            return direction
    return None


def _direction_from_name(name):
    name = name.lower()
    if name == "loss" or name.endswith("_loss"):
        return "down"
    if any(fragment in name for fragment in _MAX_FRAGMENTS):
        return "up"
    if any(fragment in name for fragment in _MIN_FRAGMENTS):
        return "down"
    if any(token in _MIN_TOKENS for token in name.split("_")):
        return "down"
    return None


class MonitorCallback(Callback):
    """Base class for callbacks that watch whether a metric improves.

    Shared by `EarlyStopping` (and, later, `ModelCheckpoint` and
    `ReduceLROnPlateau`): it holds the monitored key, the direction (`mode`),
    the `min_delta` threshold and decides whether a value is an improvement.
    Not meant to be used directly.

    In `"auto"` mode the direction is resolved at `on_train_begin` (or at the
    first `on_epoch_end` when used outside `fit()`): first from a compiled
    metric of the model with the same name (without `val_`) and a `_direction`
    (or `direction`) of `"up"` or `"down"`, as in Keras 3; then from the name:
    `"loss"` and names ending in `"_loss"`, `"error"`, `"crossentropy"`,
    `"mse"`, `"mae"`, ... are minimized; names containing `"acc"`, `"auc"`,
    `"precision"`, `"recall"`, `"f1"`, `"iou"` are maximized.

    A value that is not finite (NaN, +inf, -inf) is never an improvement.

    Args:
        monitor: Key of the monitored quantity in the epoch logs. Defaults to
            `"val_loss"`.
        mode: One of `"auto"`, `"min"`, `"max"`. An unknown mode warns and
            falls back to `"auto"`, as in Keras. Defaults to `"auto"`.
        baseline: Initial "best" value at the start of every `fit()`. If
            `None`, the first finite monitored value is an improvement.
            Defaults to `None`.
        min_delta: Minimum change that counts as an improvement; its absolute
            value is used. A change of exactly `min_delta` is not an
            improvement. Defaults to `0`.

    Raises:
        TypeError: If `monitor` is not a string, or `min_delta` / `baseline`
            is not a number.
        ValueError: If `monitor` is empty, `min_delta` / `baseline` is not
            finite, or, when training starts, `mode="auto"` cannot tell
            whether `monitor` should be minimized or maximized.

    Example:

    >>> class PrintBest(MonitorCallback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         value = self.get_monitor_value(logs)
    ...         if value is not None and self._is_improvement(value, self.best):
    ...             self.best = value
    ...             print(f"Epoch {epoch + 1}: new best {self.monitor}={value}")
    """

    # Subject of the "metric not available" warning.
    _monitor_subject = None

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str):
            raise TypeError(
                f"{owner} expects `monitor` to be the name of a logged metric, "
                f"such as 'val_loss'. Received: monitor={monitor!r} of type "
                f"{type(monitor).__name__}"
            )
        if not monitor:
            raise ValueError(
                f"{owner} expects `monitor` to be a non-empty metric name. "
                "Received: monitor=''"
            )
        if mode not in ("auto", "min", "max"):
            _warn(
                f"{owner} mode {mode!r} is unknown: expected one of 'auto', "
                "'min', 'max'. Falling back to 'auto' mode."
            )
            mode = "auto"
        if baseline is not None:
            baseline = _check_finite_number(owner, "baseline", baseline)
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(_check_finite_number(owner, "min_delta", min_delta))
        self._initial_best = baseline
        self.best = baseline
        self.monitor_op = None

    def _set_monitor_op(self):
        """Resolves `self.monitor_op` (`operator.lt` or `operator.gt`)."""
        if self.mode == "min":
            self.monitor_op = operator.lt
            return
        if self.mode == "max":
            self.monitor_op = operator.gt
            return
        name = self.monitor.removeprefix("val_")
        direction = _direction_from_model(self.model, name)
        if direction is None:
            direction = _direction_from_name(name)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} cannot tell whether monitor="
                f"'{self.monitor}' should be minimized or maximized: mode='auto' "
                "expects a compiled metric with a known direction or a name such "
                "as 'loss', 'val_loss', 'mse' (minimized) or 'accuracy', 'auc' "
                f"(maximized). Received: monitor='{self.monitor}', mode='auto'. "
                "Pass mode='min' to use the lowest value or mode='max' to use "
                "the highest value."
            )
        self.monitor_op = operator.gt if direction == "up" else operator.lt

    def _reset_best(self):
        """Sets `best` to the baseline, or to the worst possible value."""
        if self._initial_best is not None:
            self.best = self._initial_best
        else:
            self.best = np.inf if self.monitor_op is operator.lt else -np.inf

    def get_monitor_value(self, logs):
        """Returns the monitored value from `logs` as a float.

        Args:
            logs: Dict of epoch logs, or `None`.

        Returns:
            The value as a Python float, or `None` (with a warning listing the
            available keys) when `logs` has no `monitor` key.

        Raises:
            TypeError: If the logged value is not a number.
        """
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            subject = self._monitor_subject or type(self).__name__
            _warn(
                f"{subject} conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs.keys())}"
            )
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"{type(self).__name__} expects the logged value of "
                f"`{self.monitor}` to be a number. Received: {value!r} of type "
                f"{type(value).__name__}"
            ) from None

    def _is_improvement(self, monitor_value, reference_value):
        """Whether `monitor_value` beats `reference_value` by more than `min_delta`.

        Args:
            monitor_value: The new value.
            reference_value: The value to beat (the best so far, or a
                baseline). `None` means there is nothing to beat yet.

        Returns:
            `False` if `monitor_value` is not finite; otherwise `True` if
            `reference_value` is `None` or `monitor_value` is strictly better
            than it by more than `min_delta`.
        """
        if self.monitor_op is None:
            self._set_monitor_op()
        if not math.isfinite(monitor_value):
            return False
        if reference_value is None:
            return True
        if self.monitor_op is operator.lt:
            return monitor_value + self.min_delta < reference_value
        return monitor_value - self.min_delta > reference_value


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored metric has stopped improving.

    At the end of each epoch from `start_from_epoch` on, the callback counts
    one more epoch in `wait`. If the monitored value beats the best so far by
    more than `min_delta`, it becomes the new best and `wait` goes back to 0
    (when `baseline` is set, only if the value also beats `baseline`).
    Otherwise, once `wait >= patience` (and the epoch is not the first one),
    it sets `model.stop_training = True`. This is Keras 3's algorithm. A NaN or
    infinite value is never an improvement.

    One instance can serve several `fit()` calls: all its state is reset in
    `on_train_begin`.

    Args:
        monitor: Key of the monitored quantity in the epoch logs. Defaults to
            `"val_loss"`.
        min_delta: Minimum change that counts as an improvement; its absolute
            value is used, and a change of exactly `min_delta` is not an
            improvement. Defaults to `0`.
        patience: Number of epochs without improvement after which training
            stops. Defaults to `0`.
        verbose: 0 (silent) or 1 (print a message when the callback stops
            training or restores weights). Defaults to `0`.
        mode: One of `"auto"`, `"min"`, `"max"`: whether the monitored quantity
            should decrease or increase; `"auto"` infers it (see
            `MonitorCallback`). Defaults to `"auto"`.
        baseline: Value the monitored quantity has to beat. If no epoch beats
            it, training stops after `patience` epochs without improvement over
            the best value. Defaults to `None`.
        restore_best_weights: Whether to restore, at the end of training, the
            weights of the epoch with the best monitored value (whatever ended
            training: this callback, another callback, or the last epoch). If
            no epoch improved, the weights of the first monitored epoch are
            restored. Defaults to `False`.
        start_from_epoch: Number of epochs to ignore before monitoring starts
            (a warm-up period). Defaults to `0`.

    Attributes:
        wait: Epochs counted since the last reset.
        best: Best monitored value so far.
        best_epoch: Index of the epoch with the best value.
        best_weights: Copy of the weights of that epoch (only when
            `restore_best_weights`), or `None`.
        stopped_epoch: Index of the epoch at which training was stopped, or 0.

    Raises:
        TypeError: If `patience` or `start_from_epoch` is not an integer, or
            `monitor`, `min_delta` or `baseline` has the wrong type.
        ValueError: If `patience` or `start_from_epoch` is negative, or
            `min_delta` / `baseline` is not finite.

    Example:

    >>> callback = EarlyStopping(monitor="loss", patience=3)
    >>> # Stops when the loss has not improved for three consecutive epochs.
    >>> # With a model: `model.fit(x, y, epochs=10, callbacks=[callback])`.
    >>> class TinyModel:
    ...     stop_training = False
    >>> callback.set_model(TinyModel())
    >>> callback.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 1.2, 1.1, 1.3, 0.9, 0.8]):
    ...     callback.on_epoch_end(epoch, {"loss": loss})
    ...     if callback.model.stop_training:
    ...         break
    >>> callback.stopped_epoch  # Epoch 0 was the best: 4 epochs ran.
    3
    """

    _monitor_subject = "Early stopping"

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        # `baseline` here is a target to beat, not the initial best, so it is
        # not passed to MonitorCallback (as in Keras).
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        owner = type(self).__name__
        self.patience = _check_non_negative_int(owner, "patience", patience)
        self.start_from_epoch = _check_non_negative_int(
            owner, "start_from_epoch", start_from_epoch
        )
        if baseline is not None:
            baseline = _check_finite_number(owner, "baseline", baseline)
        self.baseline = baseline
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # Everything is reset so that one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self._set_monitor_op()
        self._reset_best()

    def _copy_weights(self):
        # The engine may hand out views into its parameter buffer that the
        # next epoch overwrites in place, so keep real copies.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
            self._reset_best()

        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until some epoch improves, the first monitored one is the best.
            self.best_weights = self._copy_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._copy_weights()
            # Restart the count only if the value beats the baseline as well.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)
