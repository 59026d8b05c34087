"""Callbacks: hooks into `fit()`, `evaluate()` and `predict()`.

The names and semantics follow Keras 3 (`keras/src/callbacks/`): `Callback`,
`CallbackList`, `History`, `ProgbarLogger`, `MonitorCallback`,
`EarlyStopping`, `ModelCheckpoint`, `ReduceLROnPlateau`,
`LearningRateScheduler`, `TerminateOnNaN`, `CSVLogger`, `LambdaCallback` and
`TensorBoard`, plus `BatchSizeScheduler`, which Keras lacks. pytrainc-specific
rules:

- A monitored value that is not finite (NaN, +inf or -inf) never counts as an
  improvement, in either direction.
- `CallbackList.has_train_batch_hooks` (and the test/predict variants) tell the
  training loop whether any callback needs per-batch calls. When none does, the
  whole epoch runs in one call to the C engine. A callback can declare its need
  per instance with the `_train_batch_hooks_needed` attribute (for example
  `ModelCheckpoint` needs batches only with an integer `save_freq`).
- A callback whose class sets `_engine_batch_hook` (a kind such as
  `"nonfinite_loss"`) is called by the engine's own check instead of after
  every batch: see `CallbackList.on_engine_batch_end`.
- `on_train_progress(steps_done, logs)` is called by `fit()` between chunks of
  an epoch run in C, for progress display; it is not a batch hook.
"""

import collections
import collections.abc
import csv
import inspect
import itertools
import math
import numbers
import operator
import os
import string
import sys
import time
import warnings

import numpy as np

__all__ = [
    "BackupAndRestore",
    "BatchSizeScheduler",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
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


# The tqdm bar ProgbarLogger is drawing, if any. Messages printed while it is
# on screen go through `tqdm.write`, which clears the bar, prints the message
# and draws the bar again below it.
_active_bar = None


def _close_stale_bar():
    """Closes a bar left open by a `fit()` that was interrupted mid-epoch."""
    global _active_bar
    bar, _active_bar = _active_bar, None
    if bar is not None:
        bar.close()


def _print(message):
    bar = _active_bar
    if bar is not None and not getattr(bar, "disable", False):
        type(bar).write(message, file=sys.stdout)
        return
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


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner} expects `{name}` to be a positive integer. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(
            f"{owner} expects `{name}` to be a positive integer. "
            f"Received: {name}={value}"
        )
    return int(value)


def _check_verbose(owner, verbose):
    if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral):
        raise TypeError(
            f"{owner} expects `verbose` to be 0 (silent) or 1 (print messages). "
            f"Received: verbose={verbose!r} of type {type(verbose).__name__}"
        )
    return int(verbose)


def _fspath(owner, name, path):
    if isinstance(path, (str, bytes, os.PathLike)):
        path = os.fsdecode(path)
        if path:
            return path
    raise TypeError(
        f"{owner} expects `{name}` to be a non-empty str or os.PathLike. "
        f"Received: {name}={path!r} of type {type(path).__name__}"
    )


def _optimizer_of(owner, model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"{owner} needs a compiled model whose optimizer has a "
            f'"learning_rate" attribute. Received: optimizer={optimizer!r}'
        )
    return optimizer


def _get_learning_rate(owner, model):
    return float(_optimizer_of(owner, model).learning_rate)


def _set_learning_rate(owner, model, value):
    """Sets `model.optimizer.learning_rate`; the optimizer forwards it to the engine."""
    optimizer = _optimizer_of(owner, model)
    try:
        optimizer.learning_rate = value
    except TypeError as exc:
        # Raised by optimizers built with a LearningRateSchedule.
        raise TypeError(
            f"{owner} cannot set the learning rate of this optimizer: {exc} "
            f"Use {owner} with an optimizer created with a float "
            "`learning_rate`, or drop the callback and let the schedule set "
            "the rate."
        ) from exc
    except ValueError as exc:
        raise ValueError(f"{owner} cannot set the learning rate to {value!r}: {exc}") from exc


class Callback:
    """Base class used to build new callbacks.

    Callbacks are passed to `fit()`, `evaluate()` and `predict()` to hook into
    the stages of training, evaluation and inference. Subclass `Callback` and
    override the methods of the stages you need; the others do nothing.

    Overriding a batch hook (`on_train_batch_begin`, `on_train_batch_end`, or
    their aliases `on_batch_begin` / `on_batch_end`) makes `fit()` return to
    Python after every batch, which is slower than running the whole epoch in
    the C engine. Override epoch hooks when they are enough.

    Three class (or instance) attributes let a callback say more precisely
    what it needs; they are read by `CallbackList`:

    - `_train_batch_hooks_needed`: `None` (the default) infers the need for
      per-batch calls from the overridden methods; `True` or `False` (for
      example from a property) overrides that.
    - `_engine_batch_hook`: a kind of batch event the C engine detects itself,
      such as `"nonfinite_loss"`. Such a callback does not make `fit()` run
      batch by batch; `fit()` calls its `on_train_batch_end` only for the batch
      where the event happened (see `CallbackList.on_engine_batch_end`).
    - `_train_progress_needed`: like `_train_batch_hooks_needed`, for
      `on_train_progress`.

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

    _train_batch_hooks_needed = None
    _engine_batch_hook = None
    _train_progress_needed = None

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

    def on_train_progress(self, steps_done, logs=None):
        """Called by `fit()` between chunks of batches run in the C engine.

        A pytrainc hook for progress display, not a batch hook: overriding it
        does not make `fit()` run batch by batch. While some callback needs it
        (`CallbackList.has_train_progress_hooks`), `fit()` runs each epoch in
        chunks of batches that take at least about 0.1 s and calls this hook
        after each chunk, so calls are already throttled.

        Args:
            steps_done: Integer, number of batches of the current epoch done.
            logs: Dict of the running averages of the epoch's loss and
                metrics over those batches.
        """

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
        restored_epoch: Index of the epoch whose weights `EarlyStopping`
            (with `restore_best_weights=True`) restored at the end of the
            current `fit()`, or `None`. `plot()` marks it.

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
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.restored_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        # Keras re-attaches itself here so `model.history` is always the
        # History of the latest epoch.
        if self.model is not None:
            self.model.history = self

    def plot(self, metrics=None, path=None, **kwargs):
        """Plots the training and validation curves with matplotlib.

        A shortcut for `pytrainc.plotting.plot_history(self, ...)`; see there
        for the arguments.

        Returns:
            The matplotlib `Figure` when `path` is `None`, else `None` (the
            figure is saved to `path`).
        """
        from pytrainc import plotting

        return plotting.plot_history(self, metrics=metrics, path=path, **kwargs)


def _format_value(value):
    # Keras's Progbar: 4 decimals, or scientific notation for tiny values.
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def _format_logs(logs):
    return " - ".join(f"{key}: {_format_value(value)}" for key, value in (logs or {}).items())


def _dynamic_display(stream):
    """Whether `stream` shows a bar redrawn in place: a terminal or a Jupyter kernel.

    Anything else (a file, a pipe, pytest's capture) gets one plain line per
    epoch, so logs stay readable.
    """
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except (ValueError, OSError):  # A closed stream.
        return False
    # ipykernel's OutStream is not a tty, but Jupyter renders `\r` and widgets.
    return type(stream).__module__.startswith("ipykernel")


_tqdm_bar_class = None


def _tqdm_bar():
    """Returns a `tqdm.auto.tqdm` subclass drawing Keras-like bars, or None without tqdm.

    `tqdm.auto` picks the Jupyter widget in a notebook (when ipywidgets is
    installed) and the terminal bar elsewhere.
    """
    global _tqdm_bar_class
    if _tqdm_bar_class is None:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            _tqdm_bar_class = False
        else:

            class _Bar(tqdm):
                # tqdm joins its own `postfix` with ", "; a bar_format field of
                # our own keeps Keras's " - key: value" layout.
                metrics = ""

                @property
                def format_dict(self):
                    values = super().format_dict
                    values["metrics"] = self.metrics
                    return values

            _tqdm_bar_class = _Bar
    return _tqdm_bar_class or None


_BAR_FORMAT = "{n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}, {rate_fmt}{metrics}"


class ProgbarLogger(Callback):
    """Prints the progress and metrics of training to `sys.stdout`.

    Added automatically by `fit()`, `evaluate()` and `predict()` when
    `verbose != 0`. Its verbosity, number of epochs and steps come from
    `params` (`set_params`); the number of steps is read again at every
    epoch, so `fit()` can update `params["steps"]` when the batch size changes.

    With `verbose=1`, `fit()` prints `Epoch i/N` at the start of each epoch
    (when `N > 1`). In a terminal or in Jupyter, a tqdm progress bar
    (`tqdm.auto`) then shows the steps done, the elapsed time, the ETA, the
    speed and the running loss and metrics, updated in place from
    `on_train_progress` (and from `on_train_batch_end` when `fit()` runs
    batch by batch); at the end of the epoch it stays on screen with the
    epoch's metrics, validation included, for example
    `32/32 |████████████████████| 00:01<00:00, 30.1step/s - loss: 0.1234`.
    When the output is not a terminal (a file, a pipe, a captured stream) or
    tqdm is not installed, it prints one plain line at the end of the epoch
    instead: `32/32 - 1s - loss: 0.1234 - accuracy: 0.9500`.

    With `verbose=2`, it prints one line per epoch:
    `Epoch i/N - 32/32 - 1s - loss: 0.1234 - ...`. Values are formatted as
    in Keras: 4 decimals, scientific notation when the absolute value is at
    most 1e-3.

    Messages that other callbacks print while a bar is on screen go through
    `tqdm.write`, so they appear above the bar instead of inside it.

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
        self.seen = 0
        self._start = None
        self._called_in_fit = False
        self._bar = None

    @property
    def target(self):
        """Number of steps per epoch from `params["steps"]`, or `None`."""
        return (self.params or {}).get("steps")

    @property
    def _train_progress_needed(self):
        # Only a bar redrawn in place has a use for progress within an epoch.
        return self.verbose == 1 and _dynamic_display(sys.stdout) and _tqdm_bar() is not None

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)

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
        if logs:
            parts.append(_format_logs(logs))
        _print(" - ".join(parts))

    # -- the tqdm bar (verbose=1 on a terminal or in Jupyter)

    def _open_bar(self):
        global _active_bar
        self._close_bar()
        bar_class = _tqdm_bar()
        if bar_class is None or not _dynamic_display(sys.stdout):
            return
        self._bar = bar_class(
            total=self.target,
            file=sys.stdout,
            unit="step",
            bar_format=_BAR_FORMAT,
            leave=True,
            dynamic_ncols=True,
            mininterval=0.1,
        )
        _active_bar = self._bar

    def _close_bar(self):
        global _active_bar
        if self._bar is not None:
            bar, self._bar = self._bar, None
            if _active_bar is bar:
                _active_bar = None
            bar.close()

    def _advance_bar(self, steps_done, logs, force=False):
        bar = self._bar
        target = self.target
        if target and bar.total != target:
            bar.total = target
        bar.metrics = (" - " + _format_logs(logs)) if logs else ""
        delta = steps_done - bar.n
        if delta > 0 and not force:
            bar.update(delta)  # Redraws at most every `mininterval` seconds.
        else:
            bar.n = steps_done
            bar.refresh()

    # -- hooks

    def on_train_begin(self, logs=None):
        # Inside fit(), validation runs silently.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False
        self._close_bar()  # In case the last epoch was interrupted.

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose == 1 and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")
        if self.verbose == 1:
            self._open_bar()

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            # Without progress calls the engine ran the whole epoch at once.
            self._advance_bar(self.seen or self.target or 0, logs, force=True)
            self._close_bar()
            return
        prefix = ""
        if self.verbose == 2 and self.epochs > 1:
            prefix = f"Epoch {epoch + 1}/{self.epochs}"
        self._emit(logs, prefix)

    def on_train_progress(self, steps_done, logs=None):
        self.seen = steps_done
        if self._bar is not None:
            self._advance_bar(steps_done, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self._bar is not None:
            self._advance_bar(batch + 1, logs)

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
_PROGRESS_HOOKS = ("on_train_progress",)
_DEFAULT_HOOKS = {
    name: {
        cls.__dict__[name]
        for cls in (Callback, ProgbarLogger)
        if name in cls.__dict__
    }
    for name in _TRAIN_BATCH_HOOKS + _TEST_BATCH_HOOKS + _PREDICT_BATCH_HOOKS + _PROGRESS_HOOKS
}

# Batch events the C engine detects on its own (see `_engine_batch_hook`).
_ENGINE_BATCH_HOOK_KINDS = ("nonfinite_loss",)


def _overrides_any(callback, names):
    for name in names:
        method = getattr(callback, name)
        # A bound method exposes its function; a function assigned on the
        # instance has no __func__ and always counts as an override.
        function = getattr(method, "__func__", method)
        if function not in _DEFAULT_HOOKS[name]:
            return True
    return False


def _declared(callback, attribute, names):
    """A callback's declared need (`True`/`False`), else whether it overrides `names`."""
    declared = getattr(callback, attribute, None)
    if declared is not None:
        return bool(declared)
    return _overrides_any(callback, names)


def _needs_train_batch_hooks(callback):
    if getattr(callback, "_engine_batch_hook", None) is not None:
        return False  # The engine calls it for the one batch that matters.
    return _declared(callback, "_train_batch_hooks_needed", _TRAIN_BATCH_HOOKS)


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
        self._training = False
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
        for callback in self.callbacks:
            kind = getattr(callback, "_engine_batch_hook", None)
            if kind is not None and kind not in _ENGINE_BATCH_HOOK_KINDS:
                raise ValueError(
                    f"{type(callback).__name__} declares `_engine_batch_hook`="
                    f"{kind!r}, which the engine does not detect. Expected one "
                    f"of {list(_ENGINE_BATCH_HOOK_KINDS)} or None."
                )
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
        """Whether some callback needs `on_train_batch_begin/end` calls.

        Callbacks with an `_engine_batch_hook` do not count (see
        `engine_batch_hooks`), nor does `on_train_progress`.
        """
        return any(_needs_train_batch_hooks(cb) for cb in self.callbacks)

    @property
    def has_train_progress_hooks(self):
        """Whether some callback wants `on_train_progress` calls during epochs.

        `ProgbarLogger` wants them only with `verbose=1`, tqdm installed and
        `sys.stdout` a terminal or Jupyter.
        """
        return any(
            _declared(cb, "_train_progress_needed", _PROGRESS_HOOKS) for cb in self.callbacks
        )

    @property
    def engine_batch_hooks(self):
        """The set of engine-detected batch events some callback waits for.

        For example `{"nonfinite_loss"}` with a `TerminateOnNaN`: the C loop
        then stops right after the first batch whose loss is not finite, and
        `fit()` calls `on_engine_batch_end("nonfinite_loss", batch, logs)`.
        """
        return frozenset(
            cb._engine_batch_hook
            for cb in self.callbacks
            if getattr(cb, "_engine_batch_hook", None) is not None
        )

    def on_engine_batch_end(self, kind, batch, logs=None):
        """Calls `on_train_batch_end` on the callbacks waiting for event `kind`.

        Called by `fit()` when the C engine stopped an epoch after the batch
        where the event happened; other callbacks are not called.

        Args:
            kind: The event, one of `engine_batch_hooks` (for example
                `"nonfinite_loss"`).
            batch: Integer, index of that batch within the epoch.
            logs: Dict for that batch; for `"nonfinite_loss"`, `logs["loss"]`
                is that batch's (non-finite) loss.
        """
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            if getattr(callback, "_engine_batch_hook", None) == kind:
                callback.on_train_batch_end(batch, logs)

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

    def on_train_progress(self, steps_done, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_progress(steps_done, logs)

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
        _close_stale_bar()
        self._training = True
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        self._training = False
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        if not self._training:
            _close_stale_bar()
        for callback in self.callbacks:
            callback.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        if not self._training:
            _close_stale_bar()
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

    Shared by `EarlyStopping`, `ModelCheckpoint` and `ReduceLROnPlateau`: it
    holds the monitored key, the direction (`mode`), the `min_delta`
    threshold and decides whether a value is an improvement. Each subclass
    resets its state, `best` included, in `on_train_begin`. Not meant to be
    used directly.

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
            restored. The restored epoch is recorded in `restored_epoch` and
            in the model's `History` (`model.history.restored_epoch`), which
            `History.plot()` marks. Defaults to `False`.
        start_from_epoch: Number of epochs to ignore before monitoring starts
            (a warm-up period). Defaults to `0`.

    Attributes:
        wait: Epochs counted since the last reset.
        best: Best monitored value so far.
        best_epoch: Index of the epoch with the best value.
        best_weights: Copy of the weights of that epoch (only when
            `restore_best_weights`), or `None`.
        stopped_epoch: Index of the epoch at which training was stopped, or 0.
        restored_epoch: Index of the epoch whose weights were restored at the
            end of the last `fit()`, or `None`.

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
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        # Everything is reset so that one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.restored_epoch = None
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
            self.restored_epoch = self.best_epoch
            history = getattr(self.model, "history", None)
            if isinstance(history, History):
                history.restored_epoch = self.best_epoch


# ------------------------------------------------------------------ checkpoints

# Keras's zip format, which pytrainc does not write (HDF5 `.h5` it does, through h5py).
_KERAS_ONLY_SUFFIXES = (".keras",)


def _check_checkpoint_suffix(path, save_weights_only):
    lower = path.lower()
    if lower.endswith(_KERAS_ONLY_SUFFIXES):
        raise ValueError(
            "ModelCheckpoint cannot write Keras '.keras' files: pytrainc writes "
            "HDF5 ('.h5', Keras's layouts), the safetensors layout (any other "
            "extension) or, for weights only, '.npz'. Use for example "
            "filepath='ckpt/model-{epoch:02d}.h5' or 'ckpt/model-{epoch:02d}.ptc'. "
            f"Received: filepath={path!r}"
        )
    if not save_weights_only and lower.endswith(".npz"):
        raise ValueError(
            "ModelCheckpoint saves a whole model (architecture, weights and "
            "optimizer state) in the safetensors layout, not as '.npz'. Pass "
            "save_weights_only=True to write the weights to a '.npz' file, or "
            f"use another extension such as '.ptc'. Received: filepath={path!r}"
        )


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights during training.

    At the end of every epoch (or every `save_freq` batches), the callback
    saves the whole model with `model.save(path)` (architecture, weights and
    optimizer state, loaded back with `pytrainc.models.load_model`) or, with
    `save_weights_only=True`, the weights with `model.save_weights(path)`
    (loaded back with `model.load_weights(path)`). Both write atomically, so
    an interrupted save never damages the previous checkpoint.

    `filepath` may contain named formatting options, filled with `epoch`
    (counted from 1, as in Keras's messages), `batch` (from 1, when saving
    every `save_freq` batches) and the keys of the logs:
    `"ckpt/weights.{epoch:02d}-{val_loss:.2f}.safetensors"` gives
    `ckpt/weights.03-0.41.safetensors`. Missing directories are created.

    With `save_best_only=True` the model is saved only when the monitored
    value improves on the best so far (by the rules of `MonitorCallback`: a
    NaN or infinite value never improves); without formatting options in
    `filepath`, the single file then always holds the best model.

    Args:
        filepath: str or `os.PathLike`, where to save. `.h5` writes HDF5 in
            Keras's layouts (h5py needed), `.npz` with `save_weights_only=True`
            a NumPy archive, any other extension the safetensors layout.
            Keras's zip format `.keras` is refused (`ValueError`).
        monitor: The metric name to monitor, such as `"val_loss"` or
            `"val_accuracy"` (only used with `save_best_only=True`). Defaults
            to `"val_loss"`.
        verbose: 0 (silent) or 1 (print a message when the callback saves or
            skips). Defaults to `0`.
        save_best_only: Whether to save only when the monitored value
            improves. Defaults to `False`.
        save_weights_only: Whether to save only the weights
            (`model.save_weights`) instead of the whole model (`model.save`).
            Defaults to `False`.
        mode: One of `"auto"`, `"min"`, `"max"`: whether a lower or a higher
            monitored value is better; `"auto"` infers it from the name (see
            `MonitorCallback`). Defaults to `"auto"`.
        save_freq: `"epoch"` to save at the end of every epoch, or a positive
            integer to save every that many batches (which makes `fit()` run
            batch by batch; the monitored value is then the running average
            of the current epoch). Defaults to `"epoch"`.
        initial_value_threshold: Initial "best" value of the monitored
            metric, used with `save_best_only=True`: a checkpoint is written
            only when the model beats it. Defaults to `None`.

    Raises:
        ValueError: If `filepath` ends in `.keras` (or in `.npz` without
            `save_weights_only`), has positional `{}` fields, or `save_freq`
            is not `"epoch"` or a positive integer; when training starts, if
            `mode="auto"` cannot tell the direction of `monitor`.
        KeyError: At save time, if `filepath` names a key missing from the
            logs (the message lists the keys available).

    Example:

    >>> checkpoint = ModelCheckpoint(
    ...     "ckpt/best.ptc", monitor="val_accuracy", mode="max", save_best_only=True)
    >>> # model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    >>> # best = pytrainc.models.load_model("ckpt/best.ptc")
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        owner = type(self).__name__
        self.filepath = _fspath(owner, "filepath", filepath)
        self.verbose = _check_verbose(owner, verbose)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch":
            if isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral) or save_freq < 1:
                raise ValueError(
                    f"Unrecognized save_freq: {save_freq!r}. Expected save_freq "
                    "are 'epoch' or a positive integer (a number of batches)."
                )
            save_freq = int(save_freq)
        self.save_freq = save_freq
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(self.filepath)]
        except ValueError as exc:
            raise ValueError(
                f"ModelCheckpoint cannot use filepath={self.filepath!r} as a "
                f"format string: {exc}. Double literal braces: '{{{{' and '}}}}'."
            ) from None
        if any(field is not None and (field == "" or field.isdigit()) for field in fields):
            raise ValueError(
                "ModelCheckpoint expects named formatting options in `filepath`, "
                "such as '{epoch:02d}' or '{val_loss:.2f}'; positional fields "
                f"('{{}}', '{{0}}') have nothing to fill them. Received: "
                f"filepath={self.filepath!r}"
            )
        if not self.filepath.endswith("}"):
            _check_checkpoint_suffix(self.filepath, self.save_weights_only)
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

    @property
    def _train_batch_hooks_needed(self):
        return self.save_freq != "epoch"

    def on_train_begin(self, logs=None):
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self.monitor_op = None
        self.best = self._initial_best
        if self.save_best_only:
            # Fails early when mode="auto" cannot tell the direction.
            self._set_monitor_op()
            self._reset_best()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # A new epoch.
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch, batch, logs):
        """Fills the formatting options of `filepath` (`epoch` and `batch` from 1)."""
        logs = logs or {}
        values = dict(logs)
        values["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            values["batch"] = batch + 1
        try:
            return self.filepath.format_map(values)
        except KeyError as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {exc} is not in the logs. Available keys: "
                f"{', '.join(values)}"
            ) from None
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {exc}. Values: {values!r}"
            ) from None

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            _warn(f"Can save best model only with {self.monitor} available.")
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            _warn(
                "Can save best model only when `monitor` is a scalar value. "
                f"Received: {current}. Falling back to `save_best_only=False`."
            )
            return True
        current = self.get_monitor_value(logs)
        if self.monitor_op is None:
            self._set_monitor_op()
            if self.best is None:
                self._reset_best()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {best_str} "
                    f"to {current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        _check_checkpoint_suffix(filepath, self.save_weights_only)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: finished saving model to {filepath}")


# ---------------------------------------------------------------- learning rate


class ReduceLROnPlateau(MonitorCallback):
    """Reduces the learning rate when a metric has stopped improving.

    Models often benefit from reducing the learning rate by a factor of 2-10
    once learning stagnates. At the end of every epoch the callback records
    the learning rate used during that epoch in `logs["learning_rate"]` (so
    it appears in `History`, `CSVLogger` and `TensorBoard`), then, as in Keras
    3: during a cooldown it counts the cooldown down and keeps `wait` at 0; a
    value that beats the best by more than `min_delta` becomes the new best
    and resets `wait`; otherwise, outside a cooldown, `wait` grows by one, and
    when it reaches `patience` the rate becomes
    `max(learning_rate * factor, min_lr)` (unless it is already at `min_lr`),
    a cooldown of `cooldown` epochs starts and `wait` goes back to 0.

    The new rate is set with `model.optimizer.learning_rate = new_lr`, which
    reaches the C engine before the next epoch. An optimizer created with a
    `LearningRateSchedule` cannot be changed: the callback then raises a
    `TypeError` when it first tries to reduce the rate.

    Unlike Keras 3's, which tells directions apart by the substring `"acc"`,
    `mode="auto"` infers the direction like the other monitoring callbacks
    (see `MonitorCallback`), and a NaN or infinite value is never an
    improvement.

    Args:
        monitor: Key of the monitored quantity in the epoch logs. Defaults to
            `"val_loss"`.
        factor: Factor by which the learning rate is multiplied, in (0, 1).
            Defaults to `0.1`.
        patience: Number of epochs without improvement after which the rate
            is reduced. Defaults to `10`.
        verbose: 0 (quiet) or 1 (print a message when the rate is reduced).
            Defaults to `0`.
        mode: One of `"auto"`, `"min"`, `"max"`. Defaults to `"auto"`.
        min_delta: Threshold for measuring the new optimum, to only focus on
            significant changes. Defaults to `1e-4`.
        cooldown: Number of epochs to wait before resuming normal operation
            after the rate has been reduced. Defaults to `0`.
        min_lr: Lower bound on the learning rate, >= 0. Defaults to `0.0`.

    Raises:
        ValueError: If `factor >= 1` or `factor <= 0`, `patience`/`cooldown`
            is negative, `min_lr` is negative, or, when training starts,
            `mode="auto"` cannot tell the direction of `monitor`.
        TypeError: If an argument has the wrong type.

    Example:

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2,
    ...                               patience=5, min_lr=0.001)
    >>> # model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    _monitor_subject = "Learning rate reduction is"

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        owner = type(self).__name__
        factor = _check_finite_number(owner, "factor", factor)
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau does not support a factor >= 1.0. "
                f"Received factor={factor}"
            )
        if factor <= 0.0:
            raise ValueError(
                "ReduceLROnPlateau expects a factor in (0, 1): the new rate is "
                f"`learning_rate * factor`. Received factor={factor}"
            )
        min_lr = _check_finite_number(owner, "min_lr", min_lr)
        if min_lr < 0:
            raise ValueError(
                f"ReduceLROnPlateau expects `min_lr` >= 0. Received: min_lr={min_lr}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = _check_non_negative_int(owner, "patience", patience)
        self.cooldown = _check_non_negative_int(owner, "cooldown", cooldown)
        self.verbose = _check_verbose(owner, verbose)
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0
        self._set_monitor_op()
        self._reset_best()

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """Whether the callback is in a cooldown after a reduction."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        owner = type(self).__name__
        # The rate used during this epoch, before any reduction (as Keras).
        logs["learning_rate"] = _get_learning_rate(owner, self.model)
        if self.monitor_op is None:  # Used outside fit().
            self._reset()
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_learning_rate(owner, self.model)
                # Keras compares with min_lr rounded to float32, so a rate
                # already clamped to min_lr is not "reduced" again.
                if old_lr > float(np.float32(self.min_lr)):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_learning_rate(owner, self.model, new_lr)
                    if self.verbose > 0:
                        _print(
                            f"Epoch {epoch + 1}: ReduceLROnPlateau reducing "
                            f"learning rate to {new_lr}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _positional_arity(function):
    """How many positional arguments `function` accepts (None if unknown, 2 if *args)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch from a function.

    At the beginning of every epoch the callback calls
    `schedule(epoch, learning_rate)` with the epoch index (from 0) and the
    current rate, and sets `model.optimizer.learning_rate` to the result,
    which reaches the C engine for that epoch. A `schedule(epoch)` taking
    one argument is also accepted, as in Keras. At the end of the epoch the
    rate is recorded in `logs["learning_rate"]`.

    For a rate that changes at every step, pass a
    `pytrainc.optimizers.schedules.LearningRateSchedule` to the optimizer
    instead: the engine evaluates it inside the epoch. An optimizer created
    with such a schedule cannot be changed by this callback (`TypeError`).

    Args:
        schedule: A function `(epoch, learning_rate) -> new learning rate`
            (a float > 0), or `(epoch) -> new learning rate`.
        verbose: 0 (quiet) or 1 (print the rate set at every epoch).
            Defaults to `0`.

    Raises:
        TypeError: If `schedule` is not callable, or (during `fit()`) if the
            optimizer was created with a `LearningRateSchedule`.
        ValueError: During `fit()`, if `schedule` returns something that is
            not a finite number > 0.

    Example:

    >>> # Keep the initial rate for ten epochs, then decrease it exponentially.
    >>> def scheduler(epoch, lr):
    ...     if epoch < 10:
    ...         return lr
    ...     return lr * math.exp(-0.1)
    >>> callback = LearningRateScheduler(scheduler)
    >>> # model.compile(optimizer=SGD(0.01), loss="mse")
    >>> # model.fit(x, y, epochs=15, callbacks=[callback], verbose=0)
    >>> # round(model.optimizer.learning_rate, 5) -> 0.00607
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler expects `schedule` to be a function "
                "(epoch, learning_rate) -> learning_rate. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = _check_verbose(type(self).__name__, verbose)
        arity = _positional_arity(schedule)
        self._one_argument = arity == 1

    def _call_schedule(self, epoch, learning_rate):
        if self._one_argument:
            return self.schedule(epoch)
        return self.schedule(epoch, learning_rate)

    def on_epoch_begin(self, epoch, logs=None):
        owner = type(self).__name__
        learning_rate = self._call_schedule(epoch, _get_learning_rate(owner, self.model))
        if isinstance(learning_rate, (bool, np.bool_)) or not isinstance(
            learning_rate, (numbers.Real, np.floating, np.integer)
        ):
            raise ValueError(
                "The output of the `schedule` function should be a float. "
                f"Got: {learning_rate!r} of type {type(learning_rate).__name__}"
            )
        learning_rate = float(learning_rate)
        _set_learning_rate(owner, self.model, learning_rate)
        if self.verbose > 0:
            _print(
                f"Epoch {epoch + 1}: LearningRateScheduler setting learning "
                f"rate to {learning_rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_learning_rate(type(self).__name__, self.model)


# ------------------------------------------------------------------ batch size


class BatchSizeScheduler(Callback):
    """Changes the training batch size between epochs (pytrainc-specific).

    Increasing the batch size during training has the effect of decaying the
    learning rate, with fewer, larger steps (Smith, Kindermans, Ying and Le,
    "Don't Decay the Learning Rate, Increase the Batch Size", ICLR 2018,
    arXiv:1711.00489). Give either a function or a rule:

    - `schedule(epoch, batch_size) -> int`: called at the start of every
      epoch with the epoch index (from 0) and the current batch size;
    - `every=N` (with `factor=2`): the batch size of `fit()` multiplied by
      `factor` every `N` epochs, `batch_size * factor ** (epoch // N)`, so
      epochs `0..N-1` use `fit`'s batch size, `N..2N-1` twice it, and so on.
      This is the common loop `if epoch % N == 0: batch_size *= 2`, applied
      from epoch `N` on (not after epoch 0), and it gives the right size
      when training resumes with `initial_epoch`.

    `max_batch_size` caps the result of either. The batch size in use during
    every epoch is recorded in `logs["batch_size"]` at its end (every epoch,
    so the `History` lists stay aligned), and the callback prints a message
    when the size changes with `verbose=1`.

    How it reaches `fit()`: `fit()` keeps the current batch size in
    `model._train_batch_size` and reads it again after `on_epoch_begin` to
    compute the epoch's steps; this callback sets it there.

    Args:
        schedule: Function `(epoch, batch_size) -> new batch size` (a
            positive int), or `None` to use the rule. Defaults to `None`.
        every: Positive int: multiply the batch size by `factor` every
            `every` epochs. Defaults to `None`.
        factor: Int >= 2, the multiplier of the rule. Defaults to `2`.
        max_batch_size: Positive int capping the batch size, or `None`.
            Defaults to `None`.
        verbose: 0 (quiet) or 1 (print the batch size when it changes).
            Defaults to `0`.

    Raises:
        ValueError: If both or neither of `schedule` and `every` are given,
            `every`/`max_batch_size` is not positive, `factor < 2`; during
            `fit()`, if `max_batch_size` is smaller than `fit`'s batch size or
            `schedule` returns a value that is not a positive integer.
        TypeError: If an argument, or a value returned by `schedule`, has the
            wrong type.

    Example:

    >>> # Double the batch size every 10 epochs, up to 1024.
    >>> callback = BatchSizeScheduler(every=10, max_batch_size=1024)
    >>> # model.fit(x, y, batch_size=64, epochs=40, callbacks=[callback])
    >>> # history.history["batch_size"] -> [64]*10 + [128]*10 + [256]*10 + [512]*10
    """

    def __init__(self, schedule=None, every=None, factor=2, max_batch_size=None, verbose=0):
        super().__init__()
        owner = type(self).__name__
        if (schedule is None) == (every is None):
            raise ValueError(
                "BatchSizeScheduler expects exactly one of `schedule` (a function "
                "(epoch, batch_size) -> batch_size) and `every` (multiply the "
                "batch size by `factor` every `every` epochs). Received: "
                f"schedule={schedule!r}, every={every!r}"
            )
        if schedule is not None and not callable(schedule):
            raise TypeError(
                "BatchSizeScheduler expects `schedule` to be a function "
                "(epoch, batch_size) -> batch_size. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        if every is not None:
            every = _check_positive_int(owner, "every", every)
        if isinstance(factor, bool) or not isinstance(factor, numbers.Integral):
            raise TypeError(
                "BatchSizeScheduler expects `factor` to be an integer >= 2. "
                f"Received: factor={factor!r} of type {type(factor).__name__}"
            )
        if factor < 2:
            raise ValueError(
                f"BatchSizeScheduler expects `factor` to be an integer >= 2. Received: factor={factor}"
            )
        if max_batch_size is not None:
            max_batch_size = _check_positive_int(owner, "max_batch_size", max_batch_size)
        self.schedule = schedule
        self.every = every
        self.factor = int(factor)
        self.max_batch_size = max_batch_size
        self.verbose = _check_verbose(owner, verbose)
        self.initial_batch_size = None
        self.batch_size = None

    def _model_batch_size(self):
        value = getattr(self.model, "_train_batch_size", None)
        if value is None:
            raise RuntimeError(
                "BatchSizeScheduler needs a model whose fit() keeps its batch "
                "size in `model._train_batch_size`; this model has none. "
                f"Received: model of type {type(self.model).__name__}"
            )
        return value

    def _check_result(self, epoch, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
            raise TypeError(
                "BatchSizeScheduler expects `schedule` to return a positive "
                f"integer. Received: {value!r} of type {type(value).__name__} "
                f"at epoch {epoch}"
            )
        if value < 1:
            raise ValueError(
                "BatchSizeScheduler expects `schedule` to return a positive "
                f"integer. Received: {value} at epoch {epoch}"
            )
        return int(value)

    def on_train_begin(self, logs=None):
        initial = self._model_batch_size()
        if isinstance(initial, bool) or not isinstance(initial, (numbers.Integral, np.integer)) or initial < 1:
            raise ValueError(
                "BatchSizeScheduler expects the model's batch size to be a "
                f"positive integer. Received: {initial!r}"
            )
        initial = int(initial)
        if self.max_batch_size is not None and self.max_batch_size < initial:
            raise ValueError(
                "BatchSizeScheduler's `max_batch_size` must be at least the "
                f"batch size passed to fit(). Received: max_batch_size="
                f"{self.max_batch_size}, batch_size={initial}"
            )
        self.initial_batch_size = initial
        self.batch_size = initial

    def on_epoch_begin(self, epoch, logs=None):
        if self.initial_batch_size is None:  # Used outside fit().
            self.on_train_begin()
        current = int(self._model_batch_size())
        if self.schedule is not None:
            new = self._check_result(epoch, self.schedule(epoch, current))
        else:
            new = self.initial_batch_size * self.factor ** (epoch // self.every)
        if self.max_batch_size is not None:
            new = min(new, self.max_batch_size)
        if new != current:
            self.model._train_batch_size = new
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: BatchSizeScheduler setting batch size to {new}.")
        self.batch_size = new

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.batch_size is not None:
            logs["batch_size"] = self.batch_size


# ------------------------------------------------------------------ NaN, CSV, lambda


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite.

    As in Keras, it prints `Batch N: Invalid loss, terminating training`
    (with the batch index within the epoch, from 0) and sets
    `model.stop_training = True`, so that `fit()` ends the epoch there and
    runs `on_epoch_end` and `on_train_end` as usual; with `raise_error=True`
    it raises a `RuntimeError` instead, skipping that cleanup.

    It does not make `fit()` leave the C engine after every batch: the engine
    checks the loss of each batch itself and stops the epoch right after the
    first non-finite one (`_engine_batch_hook = "nonfinite_loss"`), and
    `fit()` then calls `on_train_batch_end` for that batch only. When some
    other callback makes `fit()` run batch by batch, it is called after every
    batch instead, like any callback.

    Args:
        raise_error: Whether to raise a `RuntimeError` instead of stopping
            training gracefully. Defaults to `False`.

    Example:

    >>> # model.fit(x, y, epochs=100, callbacks=[TerminateOnNaN()])
    """

    _engine_batch_hook = "nonfinite_loss"

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = bool(raise_error)
        self._reported = None

    def on_train_begin(self, logs=None):
        self._reported = None

    def on_epoch_begin(self, epoch, logs=None):
        self._reported = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        try:
            finite = math.isfinite(float(loss))
        except (TypeError, ValueError):
            return  # Not a scalar: nothing to check.
        if finite:
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. "
                f"Loss value: {loss}. Terminating training immediately."
            )
        if self._reported == batch and self.model.stop_training:
            return  # Already reported by the other route for this batch.
        self._reported = batch
        _print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class CSVLogger(Callback):
    """Streams the logs of every epoch to a CSV file.

    The columns are Keras's: `epoch` (from 0), then the log keys of the first
    epoch in sorted order; a missing value is written as `NA`, and a 1-D
    iterable value as `"[a, b]"`. Rows use the `csv` module's Excel dialect
    with `separator` as the delimiter (lines end in `\\r\\n`, as in Keras),
    the file is UTF-8, and it is flushed after every epoch, so an interrupted
    training keeps every completed row. Missing directories are created.

    With `append=True` and a file that already has a header, the rows follow
    that header's columns (keys it does not have are left out with a
    warning), so a resumed training never writes misaligned rows.

    Args:
        filename: str or `os.PathLike`, the CSV file, for example
            `"run/log.csv"`.
        separator: One-character string separating the values. Defaults to
            `","`.
        append: Whether to append to an existing file (useful to continue a
            training) instead of overwriting it. Defaults to `False`.

    Example:

    >>> csv_logger = CSVLogger("training.log")
    >>> # model.fit(x, y, epochs=5, callbacks=[csv_logger])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"{owner} expects `separator` to be a one-character string. "
                f"Received: separator={separator!r}"
            )
        if separator in "\r\n\"":
            raise ValueError(
                f"{owner} cannot use a line break or '\"' as the separator. "
                f"Received: separator={separator!r}"
            )
        self.sep = separator
        self.filename = _fspath(owner, "filename", filename)
        self.append = bool(append)
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self._skipped = set()

    def _dialect(self):
        class Dialect(csv.excel):
            delimiter = self.sep

        return Dialect

    def _existing_header(self):
        try:
            with open(self.filename, newline="", encoding="utf-8") as f:
                return next(csv.reader(f, dialect=self._dialect()), None)
        except FileNotFoundError:
            return None

    def on_train_begin(self, logs=None):
        self._close()
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.keys = None
        self.append_header = True
        self._skipped = set()
        mode = "w"
        if self.append:
            header = self._existing_header()
            if header:
                self.append_header = False
                if header[0] == "epoch":
                    self.keys = header[1:]
            mode = "a"
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None

    @staticmethod
    def _handle_value(value):
        if isinstance(value, str):
            return value
        if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0
        ):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            # Used outside fit(): open the file as fit() would, and after an
            # on_train_end keep the rows already written.
            previous = self.append
            self.append = previous or self.csv_file is not None
            try:
                self.on_train_begin()
            finally:
                self.append = previous
        if self.keys is None:
            self.keys = sorted(logs.keys())
            # As Keras: columns for validation metrics the model will log.
            names = getattr(self.model, "metrics_names", None) or []
            for name in names:
                if isinstance(name, str) and name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        extra = [key for key in logs if key not in self.keys and key not in self._skipped]
        if extra:
            self._skipped.update(extra)
            _warn(
                f"CSVLogger is not writing {', '.join(map(repr, extra))}: the "
                f"file's columns are fixed at the first epoch ({', '.join(self.keys)})."
            )
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch"] + self.keys, dialect=self._dialect()
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, self._handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None

    def on_train_end(self, logs=None):
        self._close()


_CALLBACK_HOOKS = frozenset(
    name for name in dir(Callback) if name.startswith("on_") and callable(getattr(Callback, name))
)


class LambdaCallback(Callback):
    """Builds a callback from functions, for quick custom callbacks.

    Each function is called with the arguments of the hook it replaces:

    - `on_epoch_begin` and `on_epoch_end`: `(epoch, logs)`;
    - `on_train_begin` and `on_train_end`: `(logs)`;
    - `on_train_batch_begin` and `on_train_batch_end`: `(batch, logs)`;
    - any other hook of `Callback` passed by name, such as
      `on_train_progress=lambda steps, logs: ...` or `on_test_end=...`.

    A batch function makes `fit()` run batch by batch, as any batch hook.

    Args:
        on_epoch_begin: Called at the beginning of every epoch.
        on_epoch_end: Called at the end of every epoch.
        on_train_begin: Called at the beginning of training.
        on_train_end: Called at the end of training.
        on_train_batch_begin: Called at the beginning of every batch.
        on_train_batch_end: Called at the end of every batch.
        **kwargs: Other hooks of `Callback`, by name.

    Raises:
        TypeError: If a value is not callable or a name is not a hook of
            `Callback` (Keras accepts any name silently).

    Example:

    >>> import json
    >>> json_log = []
    >>> json_logging_callback = LambdaCallback(
    ...     on_epoch_end=lambda epoch, logs: json_log.append(
    ...         json.dumps({"epoch": epoch, "loss": logs["loss"]})))
    >>> # model.fit(x, y, callbacks=[json_logging_callback])
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for name, function in kwargs.items():
            if name not in _CALLBACK_HOOKS:
                raise TypeError(
                    f"LambdaCallback got an unexpected hook {name!r}. Expected "
                    f"one of: {', '.join(sorted(_CALLBACK_HOOKS))}"
                )
            hooks[name] = function
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(
                    f"LambdaCallback expects `{name}` to be a function. "
                    f"Received: {function!r} of type {type(function).__name__}"
                )
            setattr(self, name, function)


# ------------------------------------------------------------------ TensorBoard


def _import_summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "The TensorBoard callback writes its event files with the "
            "`tensorboardX` package, which is not installed. Install it with "
            "`pip install tensorboardX` (and `pip install tensorboard` to view "
            "the logs: `tensorboard --logdir logs`)."
        ) from exc
    return SummaryWriter


def _scalar(value):
    """`value` as a float, or None when it is not a number (nothing to plot)."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Event file names carry a time stamp in seconds and the host name; the pid
# and a counter keep two writers of one second apart.
_writer_ids = itertools.count()


class TensorBoard(Callback):
    """Writes logs for TensorBoard: metric curves and weight histograms.

    The event files are written with the `tensorboardX` package (pure Python,
    no TensorFlow needed), an optional dependency: `pip install tensorboardX`.
    View them with `tensorboard --logdir logs` (`pip install tensorboard`).

    As in Keras, the logs go to two sub-directories of `log_dir`, `train` and
    `validation`. At the end of every epoch each log key becomes a scalar
    named `epoch_<key>` at step `epoch` (from 0): training keys and the
    learning rate (`epoch_learning_rate`) under `train`, `val_` keys without
    their prefix under `validation`, so TensorBoard draws `epoch_loss` for
    both runs in one chart. With an integer `update_freq`, the running batch
    logs are written as `batch_<key>` every `update_freq` batches (which
    makes `fit()` run batch by batch). Every `histogram_freq` epochs, a
    histogram of every weight is written under `train` as
    `<weight name>/histogram`. After `model.evaluate()`, the results are
    written under `validation` as `evaluation_<key>_vs_iterations` at step
    `model.optimizer.iterations`.

    Args:
        log_dir: str or `os.PathLike`, the directory of the event files; do
            not share it with other callbacks. Defaults to `"logs"`.
        histogram_freq: Frequency, in epochs, of the weight histograms
            (written at epochs 0, `histogram_freq`, ...); 0 writes none.
            Defaults to `0`.
        write_graph: Accepted for compatibility with Keras; pytrainc writes
            no graph. Defaults to `True`.
        write_images: Not supported yet; must be `False`. Defaults to `False`.
        write_steps_per_second: Whether to log the training steps per second
            (`epoch_steps_per_second`, and `batch_steps_per_second` with an
            integer `update_freq`). Defaults to `False`.
        update_freq: `"epoch"`, `"batch"` (same as 1) or a positive integer:
            how often to write the metrics. Defaults to `"epoch"`.
        profile_batch: Profiling is not available in pytrainc; must be 0.
            Defaults to `0`.
        embeddings_freq: pytrainc has no Embedding layer; must be 0.
            Defaults to `0`.
        embeddings_metadata: Must be `None`. Defaults to `None`.

    Raises:
        ImportError: If `tensorboardX` is not installed.
        ValueError: For an unsupported option or a bad `update_freq`.

    Example:

    >>> tensorboard_callback = TensorBoard(log_dir="./logs", histogram_freq=1)
    >>> # model.fit(x, y, epochs=10, callbacks=[tensorboard_callback])
    >>> # Then: tensorboard --logdir ./logs
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        owner = type(self).__name__
        self.log_dir = _fspath(owner, "log_dir", log_dir)
        self.histogram_freq = _check_non_negative_int(owner, "histogram_freq", histogram_freq)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch":
            if isinstance(update_freq, bool) or not isinstance(update_freq, numbers.Integral) or update_freq < 1:
                raise ValueError(
                    "TensorBoard expects `update_freq` to be 'epoch', 'batch' or a "
                    f"positive integer (a number of batches). Received: update_freq={update_freq!r}"
                )
            update_freq = int(update_freq)
        if write_images:
            raise ValueError(
                "TensorBoard(write_images=True) is not supported by pytrainc yet. "
                "Received: write_images=True"
            )
        if profile_batch not in (0, None):
            raise ValueError(
                "TensorBoard profiling is not available in pytrainc (the C engine "
                f"has no profiler hooks): profile_batch must be 0. Received: profile_batch={profile_batch!r}"
            )
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError(
                "TensorBoard embeddings are not supported by pytrainc, which has no "
                "Embedding layer: embeddings_freq must be 0 and embeddings_metadata "
                f"None. Received: embeddings_freq={embeddings_freq!r}, "
                f"embeddings_metadata={embeddings_metadata!r}"
            )
        self._summary_writer_class = _import_summary_writer()
        self.write_graph = bool(write_graph)
        self.write_images = False
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch = 0
        self.embeddings_freq = 0
        self.embeddings_metadata = None
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._in_fit = False
        self._epoch_start_time = None
        self._epoch_start_iterations = None
        self._batch_time = None

    @property
    def _train_batch_hooks_needed(self):
        return self.update_freq != "epoch"

    def set_model(self, model):
        super().set_model(model)
        self._close_writers()

    def _writer(self, name):
        # Created on first use, so that no empty event file is left behind.
        writer = self._writers.get(name)
        if writer is None:
            directory = self._train_dir if name == "train" else self._val_dir
            writer = self._summary_writer_class(
                logdir=directory,
                filename_suffix=f".{os.getpid()}.{next(_writer_ids)}",
            )
            self._writers[name] = writer
        return writer

    def _close_writers(self):
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        return None if iterations is None else int(iterations)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return _scalar(optimizer.learning_rate)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = time.time()
        self._epoch_start_iterations = self._iterations()
        self._batch_time = self._epoch_start_time

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        self._global_train_batch += 1
        step = self._global_train_batch
        if step % self.update_freq != 0:
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar("batch_" + name, value, step)
        if self.write_steps_per_second:
            now = time.time()
            if self._batch_time is not None and now > self._batch_time:
                # Over the batches since the last write.
                writer.add_scalar("batch_steps_per_second", self.update_freq / (now - self._batch_time), step)
            self._batch_time = now

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if "learning_rate" not in train_logs:
            learning_rate = self._learning_rate()
            if learning_rate is not None:
                train_logs["learning_rate"] = learning_rate
        if self.write_steps_per_second and self._epoch_start_time is not None:
            iterations = self._iterations()
            elapsed = time.time() - self._epoch_start_time
            if iterations is not None and self._epoch_start_iterations is not None and elapsed > 0:
                train_logs["steps_per_second"] = (iterations - self._epoch_start_iterations) / elapsed
        for name, values in (("train", train_logs), ("val", val_logs)):
            scalars = [(k, _scalar(v)) for k, v in values.items()]
            scalars = [(k, v) for k, v in scalars if v is not None]
            if scalars:
                writer = self._writer(name)
                for key, value in scalars:
                    writer.add_scalar("epoch_" + key, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for variable in getattr(self.model, "weights", None) or []:
            values = np.asarray(variable.numpy(), dtype=np.float64).reshape(-1)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue  # A histogram of nothing (or of NaNs) cannot be drawn.
            name = str(getattr(variable, "name", "weight")).replace(":", "_")
            writer.add_histogram(name + "/histogram", values, epoch)

    def on_test_end(self, logs=None):
        iterations = self._iterations()
        if not logs or iterations is None:
            return
        writer = self._writer("val")
        for name, value in logs.items():
            value = _scalar(value)
            if value is not None:
                writer.add_scalar("evaluation_" + name + "_vs_iterations", value, iterations)
        if self._in_fit:
            writer.flush()
        else:
            self._close_writers()  # A lone evaluate(): nothing closes them later.


# Defined in its own module (it needs the model's training state); exported here as in Keras.
from pytrainc.backup import BackupAndRestore  # noqa: E402,F401
