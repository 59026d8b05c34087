"""Weights updated by assignment inside a layer's traced `call` (issue #9), as Keras 3's
BatchNormalization updates its moving statistics:

    if training:
        mean = ops.mean(inputs, axis=0)
        self.moving_mean.assign(self.moving_mean * 0.99 + mean * 0.01)

A reduction over the batch axis (ops/__init__.py) and a weight read in a traced call are
per-batch tensors: no batch axis, Keras's shape, their value in row 0 of a plan buffer (in every
row for an op that reads them row by row, csrc/batch_stats.c).
`variable.assign(value)` of a per-batch value of the variable's shape records an `assign` op
(csrc/batch_stats.c) that the plan runs after the layer's other ops at each training step,
writing the weight's slot of the flat parameter array during the forward pass, as Keras's
torch backend writes it in place. A read of the weight earlier in the call sees the old value;
a read after the assignment sees the value assigned (the recorded tensor, through which no
gradient flows, stands for it); no gradient flows through the assignment; the optimizer step
comes after (it does not touch non-trainable weights). Evaluate and predict never write. Only
non-trainable weights may be assigned (a trainable one is the optimizer's). A call that looks
at `training` is traced in both modes (pytrainc/layers/_tracing.py), so the inference trace,
which records no assignment, runs in evaluate and predict.
"""

import math

import numpy as np

from pytrainc.ops import _trace


def _layer_call():
    """The layer whose call is being traced (not a loss or a metric), or None."""
    from pytrainc.layers.core import Layer

    ctx = _trace.tracing_layer()
    return ctx if isinstance(ctx, Layer) else None


def traced(variable, value):
    """Whether variable.assign(value) records a traced assignment (else it runs eagerly)."""
    if _trace.is_symbolic(value):
        if _layer_call() is None or getattr(_layer_call(), "_pending_assigns", None) is None:
            raise ValueError(
                f"Variable '{variable.name}'.assign of a symbolic value {value}: a weight is updated from traced "
                "values only inside a layer's call (e.g. in `if training:` as BatchNormalization's moving "
                "statistics). Received one outside any call."
            )
        return True
    return _layer_call() is not None and getattr(_layer_call(), "_pending_assigns", None) is not None


def _overrides():
    layer = _layer_call()
    return layer.__dict__.setdefault("_assigned", {}) if layer is not None else {}


def read(variable):
    """The variable as a per-batch tensor of its shape in the traced call: the value assigned to it
    earlier in the call, else a read of its current value (a `read_weight` op)."""
    known = _overrides().get(id(variable))
    if known is not None:
        return known
    return read_op(variable)


def read_op(variable, constants=()):
    placeholder = _trace.trace_input()
    size = max(math.prod(variable.shape), 1)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("read_weight", bufs, out, params={"w": variable})
        return out

    out = _trace.symbolic(
        f"read of '{variable.name}'", tuple(variable.shape), [placeholder], emit, constants, per_batch=True
    )
    out._layer._compact = True  # the weight, read once per batch (the placeholder gives only the batch)
    return out


def resolve(x):
    """x, or for a variable assigned earlier in the traced call the value assigned to it."""
    if _trace.is_variable(x) and _layer_call() is not None:
        return _overrides().get(id(x), x)
    return x


def assign(variable, value, what="assign"):
    """variable.assign(value) in a traced call: checks and records it; returns `value` (Keras's)."""
    layer = _layer_call()
    where = f"Layer '{layer.name}': {variable.name}.{what}"
    if variable.trainable:
        raise ValueError(
            f"{where} in a traced call: the variable is trainable, and the optimizer updates it. Weights updated "
            "by assignment in call must be non-trainable: add_weight(..., trainable=False), as BatchNormalization's "
            "moving statistics."
        )
    if getattr(layer, "_tracing_inference", False):
        raise ValueError(
            f"{where} runs with training=False: pytrainc updates weights from call in training only. Assign "
            "under `if training:` (evaluate and predict then leave the weight as it is)."
        )
    if not _trace.is_symbolic(value):
        arr = np.asarray(value, np.float32)
        if arr.shape != tuple(variable.shape):
            raise ValueError(
                f"{where}: the shape of the target variable and the shape of the target value must match. "
                f"variable.shape={tuple(variable.shape)}, Received: value.shape={arr.shape}"
            )
        const = _trace.constant(arr, f"{variable.name}.{what}")
        value = read_op(const, constants=[const])
    elif not value._per_batch:
        raise ValueError(
            f"{where}: the shape of the target variable and the shape of the target value must match. "
            f"variable.shape={tuple(variable.shape)}, Received: value.shape={value.shape}, one value per sample. "
            "Reduce it over the batch axis first, e.g. ops.mean(x, axis=0)."
        )
    elif tuple(value.shape) != tuple(variable.shape):
        raise ValueError(
            f"{where}: the shape of the target variable and the shape of the target value must match. "
            f"variable.shape={tuple(variable.shape)}, Received: value.shape={tuple(value.shape)}"
        )
    layer._pending_assigns.append((variable, value))
    from pytrainc import ops

    _overrides()[id(variable)] = ops.stop_gradient(value)  # a later read: the value, without its gradient
    return value


def emit(builder, assigns, bufs):
    """The assign ops after the layer's graph, in the call's order (bufs: the tensors emitted so far)."""
    for variable, value, graph in assigns:
        _trace.emit_nodes(builder, graph, bufs)
        buf = bufs[id(value)]
        before = builder.producer.get(buf)
        builder.op("assign", [buf], buf, params={"w": variable})
        if before is not None:
            builder.producer[buf] = before
