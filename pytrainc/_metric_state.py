"""`Metric` subclasses with state (Keras 3's `add_variable`, `update_state`, `result`,
`reset_state`), traced into the plan.

`update_state(y_true, y_pred)` runs once on symbolic tensors. Each `var.assign_add(value)`
records `value`: a per-sample tensor (e.g. `ops.sum(values)`, whose sum over the batch axis is
left to the engine) of the variable's shape. The plan computes it for every sample, and the
engine sums it over the epoch beside the built-in metrics' sums (one traced-mean slot of one
float per state element). Once per epoch Python sets each variable to its reset value plus
that sum and calls `result()` eagerly, on NumPy values.
"""

import math

import numpy as np

from pytrainc import _C
from pytrainc.ops import _trace

_STATE_KIND = _C.METRICS["traced_mean"]  # summed per sample (no mean: one float per slot)


class StateVariable:
    """A metric's state variable (Keras's `Metric.add_variable`): a float32 NumPy value with
    `assign`, `assign_add`, `assign_sub` and NumPy arithmetic, for `result()` and `reset_state()`."""

    def __init__(self, metric, name, value):
        self.name = name
        self._metric = metric
        self._value = np.array(value, dtype=np.float32)

    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)

    def numpy(self):
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        return self._value.copy() if dtype is None else self._value.astype(dtype)

    def __float__(self):
        return float(self._value)

    def __getitem__(self, key):
        return self._value[key]

    def assign(self, value):
        if _trace.is_symbolic(value):
            raise ValueError(
                f"Metric '{self._metric.name}': update_state can only accumulate (assign_add) into {self.name!r}; "
                "assign a traced value is not supported (it would keep one batch only)"
            )
        self._value[...] = np.broadcast_to(np.asarray(value, np.float32), self._value.shape)

    def assign_add(self, value):
        if _trace.is_symbolic(value):
            return self._metric._record(self, value)
        self._value += np.asarray(value, np.float32)

    def assign_sub(self, value):
        if _trace.is_symbolic(value):
            raise ValueError(
                f"Metric '{self._metric.name}': update_state accumulates with assign_add; "
                f"write {self.name}.assign_add(ops.sum(-values)) rather than assign_sub"
            )
        self._value -= np.asarray(value, np.float32)

    def __repr__(self):
        return f"<StateVariable {self.name} shape={self.shape} value={self._value}>"


def _binop(name):
    def fn(self, other):
        return getattr(np.asarray(self._value), name)(np.asarray(other))

    fn.__name__ = name
    return fn


for _name in (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ __rpow__ "
    "__neg__ __gt__ __ge__ __lt__ __le__"
).split():
    setattr(StateVariable, _name, _binop(_name) if _name != "__neg__" else (lambda self: -self._value))


class _MetricContext:
    """The tracing context of update_state: ops.sum over the batch axis becomes a batch sum."""

    batch_sums = True

    def __init__(self, metric):
        self.name = metric.name
        self._trace_label = f"metric '{metric.name}'"


def in_update():
    ctx = _trace.tracing_layer()
    return getattr(ctx, "batch_sums", False)


def trace_update(metric, y_shape, out_shape):
    """Traces metric.update_state once for targets of per-sample shape y_shape and predictions
    of out_shape: returns ((y_true, y_pred), [(variable, tensor)], order)."""
    from pytrainc.layers import _tracing
    from pytrainc.layers.core import KerasTensor

    traces = metric.__dict__.setdefault("_traces", {})
    key = (tuple(y_shape), tuple(out_shape))
    if key in traces:
        return traces[key]
    y_true, y_pred = KerasTensor(y_shape), KerasTensor(out_shape)
    ctx = _MetricContext(metric)
    metric._updates = []
    _trace._TRACING.append(ctx)
    _trace._INPUTS.append([y_pred])
    try:
        metric.update_state(y_true, y_pred)
    finally:
        _trace._TRACING.pop()
        _trace._INPUTS.pop()
    updates, metric._updates = metric._updates, None
    if not updates:
        raise ValueError(
            f"Metric '{metric.name}': update_state recorded no `variable.assign_add(value)` computed from "
            "y_true and y_pred, so the plan has nothing to accumulate"
        )
    order, seen = [], set()
    for _, t in updates:
        for node in _tracing._graph(ctx, t, [y_true, y_pred]):
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
    for node in order:
        if any(getattr(p, "_batch_summed", False) for p in node._inputs):
            raise ValueError(
                f"Metric '{metric.name}': a sum over the batch axis can only be accumulated "
                f"(variable.assign_add(ops.sum(...))); {node._layer.name} uses one"
            )
    metric._constants = [c for t in order for c in getattr(t._layer, "_constants", ())]
    traces[key] = ((y_true, y_pred), updates, order)
    return traces[key]


def record(metric, variable, value):
    """variable.assign_add(value) inside update_state: checks value and keeps it for the plan."""
    if getattr(metric, "_updates", None) is None:
        raise ValueError(f"Metric '{metric.name}': assign_add of a symbolic value outside update_state")
    sample = tuple(value.sample_shape)
    if not getattr(value, "_batch_summed", False):
        raise ValueError(
            f"Metric '{metric.name}': {variable.name}.assign_add takes a sum over the batch, e.g. "
            f"ops.sum(values) or ops.sum(values, axis=0). Received: a tensor of shape {value.shape}"
        )
    if math.prod(sample) != variable._value.size:
        raise ValueError(
            f"Metric '{metric.name}': {variable.name} has shape {variable.shape}; assign_add received a "
            f"batch sum of shape {sample}"
        )
    metric._updates.append((variable, value))


def emit(metric, builder, out_buf, y_shape, out_shape, y_buf):
    """The update's ops after the model's; returns (the metric's slot buffers, the targets' buffer)."""
    (y_true, y_pred), updates, order = trace_update(metric, y_shape, out_shape)
    if y_buf is None:
        y_buf = builder.buffer(math.prod(y_shape))
    bufs = {id(y_true): y_buf, id(y_pred): out_buf}
    for t in order:
        bufs[id(t)] = t._layer._emit(builder, [bufs[id(p)] for p in t._inputs], [p.sample_shape for p in t._inputs])
    slots = []
    for variable, t in updates:
        size = variable._value.size
        if size == 1:
            slots.append(bufs[id(t)])
            continue
        for j in range(size):  # one float per slot: a slice per element
            one = builder.buffer(1)
            builder.op("slice", [bufs[id(t)]], one, outer=1, extent=size, inner=1, start=j, step=1, len=1)
            slots.append(one)
    return slots, y_buf


def result(metric, acc):
    """Sets each variable to its reset value plus the epoch's sums acc, then runs result()."""
    metric.reset_state()
    (_, updates, _) = next(iter(metric._traces.values()))
    offset = 0
    for variable, _t in updates:
        n = variable._value.size
        variable._value += np.asarray(acc[offset : offset + n], np.float32).reshape(variable.shape)
        offset += n
    value = metric.result()
    if isinstance(value, dict):
        raise ValueError(f"Metric '{metric.name}': result() returned a dict; one value per metric for now")
    return float(np.asarray(value, np.float64).reshape(()))


def n_slots(metric):
    traces = getattr(metric, "_traces", None)
    if not traces:
        return sum(v._value.size for v in metric._state_variables) or 1
    _, updates, _ = next(iter(traces.values()))
    return sum(v._value.size for v, _ in updates)
