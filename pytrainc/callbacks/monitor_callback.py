"""`MonitorCallback`: the shared base of callbacks that watch a metric improve.

Deliberately unlike Keras 3: a monitored value that is NaN or infinite never counts as an
improvement. Keras's `_is_improvement` accepts any value while there is no reference yet, so a
NaN first epoch becomes its "best" (and no later value compares better than NaN), and it ranks
`inf`/`-inf` like numbers. EarlyStopping, ModelCheckpoint(save_best_only=True) and
ReduceLROnPlateau all share pytrainc's rule.
"""

import math
import operator

import numpy as np

from pytrainc.callbacks._util import _check_finite_number, _warn
from pytrainc.callbacks.callback import Callback


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
            raise ValueError(f"{owner} expects `monitor` to be a non-empty metric name. Received: monitor=''")
        if mode not in ("auto", "min", "max"):
            _warn(
                f"{owner} mode {mode!r} is unknown: expected one of 'auto', 'min', 'max'. Falling back to 'auto' mode."
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
