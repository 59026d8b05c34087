"""Mean and Sum (standalone reductions of values, as keras/src/metrics/reduction_metrics.py) and
MeanMetricWrapper (a metric function traced into the plan)."""

import numpy as np

from pytrainc import _C
from pytrainc.metrics.base import Metric, _Builtin, _div
from pytrainc.ops._trace import FunctionWrapper


def _samplewise(values, sample_weight, reduce_fn):
    """Keras's reduce_to_samplewise_values in NumPy (float32 values, float64 sums)."""
    values = np.asarray(values, np.float32)
    if sample_weight is not None:
        w = np.asarray(sample_weight, np.float32)
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = w[..., 0]
        if values.ndim > w.ndim:
            values = reduce_fn(values, axis=tuple(range(w.ndim, values.ndim)))
        w = np.broadcast_to(w, values.shape)
        values = values * w
        if w.ndim > 1:
            w = reduce_fn(w, axis=tuple(range(1, w.ndim)))
        sample_weight = w
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class _Reduction(_Builtin):
    def _plan_rows(self):
        raise ValueError(
            f"{type(self).__name__} reduces the values it is given (update_state(values, sample_weight)); as a "
            "compile metric Keras would read y_true as the values and y_pred as weights. Use it standalone, or "
            "compile with a MeanMetricWrapper of a metric function"
        )

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Sum(_Reduction):
    """The (weighted) sum of the values given to update_state, as keras.metrics.Sum.

    Args:
        name: Defaults to "sum".
        dtype: Only float32 (or None). Defaults to None.

    Example:

    >>> m = pytrainc.metrics.Sum()
    >>> m.update_state([1, 3, 5, 7])
    >>> float(m.result())
    16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(values, sample_weight, np.sum)
        self.total += float(np.sum(values, dtype=np.float64))

    def result(self):
        return np.float32(self.total)


class Mean(_Reduction):
    """The (weighted) mean of the values given to update_state, as keras.metrics.Mean.

    Args:
        name: Defaults to "mean".
        dtype: Only float32 (or None). Defaults to None.

    Example:

    >>> m = pytrainc.metrics.Mean()
    >>> m.update_state([1, 3, 5, 7])
    >>> float(m.result())
    4.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _samplewise(values, sample_weight, np.mean)
        self.total += float(np.sum(values, dtype=np.float64))
        if sample_weight is not None:
            self.count += float(np.sum(sample_weight, dtype=np.float64))
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return np.float32(_div(self.total, self.count))


class MeanMetricWrapper(FunctionWrapper, Metric):  # a direct subclass: _identifiers finds the wrapper
    """A metric function `fn(y_true, y_pred)` written with `pytrainc.ops`, as Keras's MeanMetricWrapper.

    The function is traced once into the model's plan; each sample's values are averaged over
    their trailing axes, and the epoch's result is the sample-weighted mean of those.

    Args:
        fn: Returns per-sample values, e.g. `ops.mean(ops.abs(y_true - y_pred), axis=-1)`.
        name: Defaults to the function's name.
        dtype: Only float32 (or None). Defaults to None.
        **kwargs: Passed to fn.

    Example:

    >>> def max_error(y_true, y_pred):
    ...     return pytrainc.ops.max(pytrainc.ops.abs(y_true - y_pred), axis=-1)
    >>> pytrainc.metrics.MeanMetricWrapper(max_error).name
    'max_error'
    """

    _kind = _C.METRICS["traced_mean"]
    _builtin = True  # its function is traced (plan_compiler), not a Metric subclass's update_state
    _direction = "down"
    _what = "metrics"

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        Metric.__init__(self, name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self._wrap(fn, kwargs)
        self._k = -1  # the buffer of its per-sample values, set when a plan is built

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Eagerly: the weighted mean of fn's per-sample values (Keras's standalone use)."""
        values, w = _samplewise(np.asarray(self.fn(y_true, y_pred, **self._fn_kwargs)), sample_weight, np.mean)
        state = self.__dict__.setdefault("_eager", [0.0, 0.0])
        state[0] += float(np.sum(values, dtype=np.float64))
        state[1] += float(np.sum(w, dtype=np.float64)) if w is not None else values.shape[0]

    def result(self):
        state = self.__dict__.get("_eager", [0.0, 0.0])
        return np.float32(_div(state[0], state[1]))

    def reset_state(self):
        self.__dict__.pop("_eager", None)
