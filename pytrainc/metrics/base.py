"""The metric base classes: `Metric` (Keras 3's, with state variables traced into the plan) and
`_Builtin`, the built-in metrics whose statistics a C kernel accumulates (csrc/metrics.c,
csrc/metrics_confusion.c) inside the epoch call, or eagerly on arrays in `update_state`."""

import math
import re

import numpy as np

from pytrainc import _C, _metric_state


def _snake(name):
    """Keras's naming.to_snake_case: AUC -> auc, IoU -> io_u, TruePositives -> true_positives."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _div(a, b):
    return a / b if b else 0.0


def _dtype(dtype):
    if dtype not in (None, "float32", np.float32):
        raise ValueError(f"pytrainc metrics compute in float32. Received: dtype={dtype!r}")
    return "float32"


class Metric:
    """Base class: a named statistic accumulated over an epoch.

    A user subclass, as in Keras 3, creates state with `add_variable` (or `add_weight`) and
    defines `update_state(y_true, y_pred, sample_weight=None)` with `pytrainc.ops`, accumulating
    with `variable.assign_add(ops.sum(values))`, and `result()` (and optionally `reset_state()`).
    `update_state` is traced once into the plan (sample_weight is None there; fit's sample
    weights, if any, weight each sample's contribution); `result()` runs once per epoch on the
    NumPy state.

    Args:
        dtype: Only float32 (or None). Defaults to None.
        name: Defaults to the class's name in snake case.

    Example:

    >>> from pytrainc import ops
    >>> class Positives(pytrainc.metrics.Metric):
    ...     def __init__(self, name="positives", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.count.assign_add(ops.sum(ops.cast(y_pred > 0.5, "float32")))
    ...     def result(self):
    ...         return self.count
    >>> Positives().name
    'positives'
    """

    _kind = None  # the C kernel, from _C.METRICS; set by each built-in subclass
    _builtin = False
    _direction = "up"
    _k = 0
    _threshold = 0.5

    def __init__(self, dtype=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"Metric got unexpected keyword argument(s): {sorted(kwargs)}")
        self.dtype = _dtype(dtype)
        self.name = name if name is not None else _snake(type(self).__name__)
        if self._stateful():
            self._kind = _metric_state._STATE_KIND

    @classmethod
    def _stateful(cls):
        return not cls._builtin and cls.update_state is not Metric.update_state

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"Metric '{self.name}' defines no update_state")

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Adds a state variable (Keras 3's Metric.add_variable); its value is reset and
        accumulated once per epoch."""
        from pytrainc import initializers

        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape or ())
        init = initializers.get(initializer)
        value = np.asarray(init(shape) if shape else init((1,)).reshape(()), np.float32)
        variables = self.__dict__.setdefault("_state_variables", [])
        variable = _metric_state.StateVariable(self, name or f"variable_{len(variables)}", value)
        variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """Keras's older spelling of add_variable."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation, name=name)

    @property
    def variables(self):
        return list(self.__dict__.get("_state_variables", []))

    def reset_state(self):
        """Sets every state variable to zeros (Keras 3's default reset_state)."""
        for v in self.variables:
            v.assign(0.0)

    def _record(self, variable, value):
        return _metric_state.record(self, variable, value)

    def _slots(self, width):
        return _metric_state.n_slots(self) if self._stateful() else 1

    def _plan_rows(self):
        """(kind, k, threshold) of each of the metric's rows in the plan."""
        if self._stateful():
            return [(self._kind, k, 0.0) for k in self._k]
        return [(self._kind, self._k, self._threshold)]

    def _epoch_result(self, acc, weight_sum):
        if self._stateful():
            return _metric_state.result(self, acc)
        return self._result(acc, weight_sum)

    def _result(self, acc, weight_sum):
        return float(_div(acc[0], weight_sum))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _rows(x, n, what):
    """x as (n * R, width) float32 rows: R rows per sample for outputs of rank > 2."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[0] != n:
        raise ValueError(f"Expected {what} with {n} samples on its first axis. Received: shape={x.shape}")
    return x


class _Builtin(Metric):
    """A built-in metric: its C kernel's slots accumulate over the epoch in the plan, or over
    `update_state` calls on arrays (Keras's standalone use: `update_state`, `result`,
    `reset_state`), through the same kernel (`_C.metric_accumulate`)."""

    _builtin = True
    _counts = False  # a kind that counts elements (weights are not scaled by 1/rows)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the statistics of a batch of arrays.

        Args:
            y_true: Targets, shape (N, ...).
            y_pred: Predictions, shape (N, ..., D) (a vector is read as (N, 1)).
            sample_weight: Optional weights of shape (N,). Defaults to None.
        """
        pred = np.asarray(y_pred, dtype=np.float32)
        if pred.ndim == 0:
            raise ValueError(f"Metric '{self.name}' expects y_pred with a batch axis. Received: shape=()")
        n = pred.shape[0]
        pred = pred.reshape(n, 1) if pred.ndim == 1 else pred
        rows = math.prod(pred.shape[1:-1])
        width = pred.shape[-1]
        y = _rows(y_true, n, "y_true")
        if y.size % (n * rows):
            raise ValueError(
                f"Metric '{self.name}': y_true of shape {y.shape} does not fit y_pred of shape {np.shape(y_pred)}"
            )
        p2 = np.ascontiguousarray(pred.reshape(n * rows, width))
        y2 = np.ascontiguousarray(y.reshape(n * rows, -1))
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float32)
            w = np.broadcast_to(w.reshape(-1) if w.size == n else w, (n,)) if w.ndim <= 1 or w.size == n else None
            if w is None:
                raise ValueError(
                    f"Metric '{self.name}': sample_weight must have one value per sample ({n}). "
                    f"Received: shape={np.shape(sample_weight)}"
                )
        self._check_standalone(y2, p2)
        row_w = None if w is None else np.repeat(w if self._counts else w / rows, rows).astype(np.float32)
        if row_w is None and rows > 1 and not self._counts:
            row_w = np.full(n * rows, 1.0 / rows, np.float32)
        parts = [
            _C.metric_accumulate(
                int(row[0]),
                int(row[1]),
                float(row[2]),
                p2,
                y2,
                None if row_w is None else row_w,
                *([np.asarray(row[3], np.float32)] if len(row) > 3 else []),
            )
            for row in self._plan_rows()
        ]
        acc = np.concatenate(parts)
        state = self.__dict__.get("_standalone")
        if state is None or state[0].shape != acc.shape:
            state = self.__dict__["_standalone"] = [np.zeros_like(acc), 0.0, width]
        state[0] += acc
        state[1] += float(n if w is None else np.sum(w, dtype=np.float64))

    def _check_standalone(self, y, pred):
        """Refuses inputs the kernel cannot read (it checks shapes; subclasses check more)."""

    def result(self):
        """The value over every `update_state` since the last `reset_state` (Keras's result)."""
        state = self.__dict__.get("_standalone")
        if state is None:
            return self._result(np.zeros(self._slots(1)), 0.0)
        return self._result(state[0], state[1])

    def reset_state(self):
        """Forgets the accumulated statistics."""
        self.__dict__.pop("_standalone", None)

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()
