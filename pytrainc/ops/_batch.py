"""Per-batch tensors in a layer's traced call (issue #9, pytrainc/_weight_updates.py): the
operands of `pytrainc.ops` functions there, and reductions over the batch axis."""

import math

import numpy as np

from pytrainc import _layer_losses, _weight_updates
from pytrainc.ops import _trace
from pytrainc.ops._trace import is_per_batch, is_symbolic, is_variable


def lift(*xs):
    """The operands of an op in a layer's traced call: a weight assigned earlier in the call stands for
    the value assigned, and an op on weights (or constants) alone reads them as per-batch tensors."""
    if _weight_updates._layer_call() is None:
        return xs
    xs = [_weight_updates.resolve(x) for x in xs]
    if not any(is_symbolic(x) for x in xs) and any(is_variable(x) for x in xs):
        xs = [_weight_updates.read(x) if is_variable(x) else x for x in xs]
    return xs


def has_batch(x):
    """Whether x is a symbolic tensor with a batch axis (per sample), not a per-batch one."""
    return is_symbolic(x) and not x._per_batch


def lift_all(*xs):
    """`lift`, and when no operand is per sample but one is per batch, every weight and constant
    among them read as a per-batch tensor too (an op on per-batch tensors alone gives one)."""
    xs = lift(*xs)
    if _weight_updates._layer_call() is None or any(has_batch(x) for x in xs) or not any(map(is_per_batch, xs)):
        return list(xs)
    return [x if is_symbolic(x) else as_per_batch(x) for x in xs]


def as_per_batch(x):
    """A weight or a constant as a per-batch tensor of its shape in a traced layer call."""
    if is_variable(x):
        return _weight_updates.read(x)
    const = _trace.constant(np.asarray(x, np.float32), "constant")
    return _weight_updates.read_op(const, constants=[const])


def keep_loss_part(out, x, fn, linear):
    """A scalar op on a batch reduction keeps its add_loss form (pytrainc/_layer_losses.py) when linear."""
    part = getattr(x, "_loss_part", None)
    if part is not None and linear:
        out._loss_part = _layer_losses.keep_mark(fn(part), part, True)
    return out


def batch_reduce(op, kind, x, axes, keepdims):
    """A sum or mean over the batch axis (and `axes`' others) in a layer's call: a per-batch tensor of
    Keras's shape (the `batch_reduce` op of csrc/batch_stats.c, over the batch's real rows), which
    keeps its add_loss form (the per-sample part, marked) for self.add_loss."""
    from pytrainc import ops

    rest = tuple(a for a in axes if a != 0)
    per_sample = ops._reduce(op, kind, x, rest, False) if rest else x
    shape = _trace.full_shape(x)
    out_shape = tuple(1 if j in axes else d for j, d in enumerate(shape) if keepdims or j not in axes)
    size = math.prod(per_sample.sample_shape)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("batch_reduce", bufs, out, mean=int(kind == "mean"), ref=0)
        return out

    out = _trace.symbolic(op, out_shape, [per_sample], emit, per_batch=True)
    out._loss_part = _layer_losses.batch_reduced(op, per_sample, kind)
    return out


def rows(x):
    """The batch's row count as a per-batch tensor of shape () (a `batch_reduce` sum of ones), for a
    per-sample tensor x of shape (None,)."""
    from pytrainc import ops

    def emit(builder, bufs):
        out = builder.buffer(1)
        builder.op("batch_reduce", bufs, out, mean=0, ref=0)
        return out

    return _trace.symbolic("rows", (), [ops.ones_like(x)], emit, per_batch=True)
