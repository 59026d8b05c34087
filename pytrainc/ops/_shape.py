"""`pytrainc.ops` shape ops: transpose, reshape, expand_dims, squeeze and concatenate.

A per-sample tensor keeps its batch axis (axis 0) where it is. A per-batch tensor (a weight read
in a layer's traced call, a reduction over the batch axis: pytrainc/ops/_batch.py) has no batch
axis: every axis is its own, and row 0 of its plan buffer holds all of it (csrc/batch_stats.c),
so the per-sample kernels run on it unchanged, once per batch (ops/_trace.py's OpNode flags them
per_batch), and give a per-batch tensor.
"""

import builtins
import math

import numpy as np

from pytrainc import _C
from pytrainc import ops as _ops
from pytrainc.ops import _trace
from pytrainc.ops._batch import has_batch, lift_all
from pytrainc.ops._trace import as_array, full_shape, is_symbolic, is_variable
from pytrainc.ops._trace import where as _at


def transpose(x, axes=None):
    """Permutes the axes (a per-sample tensor's batch axis stays first)."""
    op = "ops.transpose"
    (x,) = lift_all(x)
    shape = full_shape(x)
    rank = len(shape)
    axes = tuple(reversed(range(rank))) if axes is None else tuple(int(a) % rank for a in axes)
    if sorted(axes) != list(range(rank)):
        raise ValueError(f"{_at(op)}: axes must be a permutation of range({rank}). Received: {axes}")
    batched = has_batch(x)
    if batched and axes[0] != 0:
        raise ValueError(f"{_at(op)} would move the batch axis: axes={axes} for shape {shape}; keep axis 0 first")
    perm = [a - 1 for a in axes[1:]] if batched else list(axes)
    dims = tuple(shape[1:]) if batched else tuple(shape)
    if len(dims) > _trace.MAX_SAMPLE_RANK:
        raise ValueError(f"{_at(op)}: at most rank {_trace.MAX_SAMPLE_RANK} per sample. Received: shape={shape}")
    out_shape = tuple(shape[a] for a in axes)
    if not is_symbolic(x):
        _ops._refuse_weights_only(op, x)
        a = as_array(x, op)
        args = _trace.transpose_args(dims, perm)
        return _trace.run_eager("transpose", [a], builtins.max(a.size, 1), **args).reshape(out_shape)

    def emit(builder, bufs):
        return _trace.emit_transpose(builder, bufs[0], dims, perm)

    return _trace.symbolic(op, out_shape[1:] if batched else out_shape, [x], emit, per_batch=not batched)


def alias(op, x, sample_shape):
    """A view of x with another shape (per sample, or all of a per-batch x's): no op, the same buffer."""
    return _trace.symbolic(op, sample_shape, [x], lambda builder, bufs: bufs[0], per_batch=x._per_batch)


def reshape(x, newshape):
    """x with shape `newshape`; on a per-sample tensor newshape[0] is the batch axis (None or -1)."""
    op = "ops.reshape"
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    (x,) = lift_all(x)
    if not is_symbolic(x):
        return np.reshape(np.asarray(x), [(-1 if d is None else d) for d in newshape])
    if has_batch(x) and (not newshape or newshape[0] not in (None, -1)):
        raise ValueError(
            f"{_at(op)}: the first entry of newshape is the batch axis and must be None or -1. "
            f"Received: newshape={newshape} for shape {x.shape}"
        )
    rest = [-1 if d is None else int(d) for d in (newshape[1:] if has_batch(x) else newshape)]
    size = math.prod(x.sample_shape)
    if rest.count(-1) == 1:
        known = math.prod(d for d in rest if d != -1)
        if known <= 0 or size % known:
            raise ValueError(f"{_at(op)}: cannot reshape {x.shape} to {newshape}")
        rest[rest.index(-1)] = size // known
    if math.prod(rest) != size or any(d <= 0 for d in rest):
        what = "values per sample" if has_batch(x) else "values"
        raise ValueError(f"{_at(op)}: cannot reshape {x.shape} ({size} {what}) to {newshape}")
    return alias(op, x, tuple(rest))


def expand_dims(x, axis):
    """x with new axes of extent 1 at `axis` (an int or a tuple of ints, positions in the result;
    not the batch axis of a per-sample tensor)."""
    op = "ops.expand_dims"
    (x,) = lift_all(x)
    if not is_symbolic(x):
        return np.expand_dims(np.asarray(x), axis)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    rank = len(x.shape) + len(axes)
    new = sorted({int(a) % rank for a in axes if -rank <= int(a) < rank})
    if len(new) != len(axes) or (0 in new and has_batch(x)):
        batch = ", not 0 (the batch axis)" if has_batch(x) else ""
        raise ValueError(
            f"{_at(op)}: axis {axis} must name distinct axes of the result, in [-{rank}, {rank}){batch}. "
            f"Received: shape {x.shape}"
        )
    rest = iter(x.shape)
    shape = [1 if j in new else next(rest) for j in range(rank)]
    return alias(op, x, tuple(shape[1:] if has_batch(x) else shape))


def squeeze(x, axis=None):
    """x without its axes of extent 1 (`axis`: those only; never a per-sample tensor's batch axis)."""
    op = "ops.squeeze"
    (x,) = lift_all(x)
    if not is_symbolic(x):
        return np.squeeze(np.asarray(x), axis)
    shape, first = x.shape, int(has_batch(x))
    axes = [j for j in range(first, len(shape)) if shape[j] == 1] if axis is None else _ops._axes(op, axis, len(shape))
    for a in axes:
        if a < first or shape[a] != 1:
            raise ValueError(f"{_at(op)}: cannot squeeze axis {a} of shape {shape} (expected extent 1)")
    return alias(op, x, tuple(d for j, d in enumerate(shape) if j not in axes and j >= first))


def concatenate(xs, axis=0):
    """Joins tensors along `axis` (a sample axis for per-sample tensors)."""
    op = "ops.concatenate"
    xs = list(xs)
    if not 1 <= len(xs) <= _C.MAX_IN:
        raise ValueError(f"{_at(op)} joins 1 to {_C.MAX_IN} tensors. Received: {len(xs)}")
    xs = lift_all(*xs)
    symbolic = any(is_symbolic(x) for x in xs)
    batched = any(has_batch(x) for x in xs)
    if batched and not all(has_batch(x) for x in xs):
        other = next(x for x in xs if not has_batch(x))
        weight = is_symbolic(other) or is_variable(other)
        what = "a per-batch tensor (a weight or a batch reduction)" if weight else "a constant"
        raise ValueError(
            f"{_at(op)}: cannot join {what} of shape {full_shape(other)} with per-sample tensors: in Keras "
            "both would need the same batch size. Broadcast it first, e.g. x * 0 + w, or join weights alone."
        )
    shapes = [full_shape(x) for x in xs]
    rank = len(shapes[0])
    a = _ops._axes(op, axis, rank)[0] if rank else None
    if (
        a is None
        or any(len(s) != rank for s in shapes)
        or any(s[:a] + s[a + 1 :] != shapes[0][:a] + shapes[0][a + 1 :] for s in shapes)
    ):
        raise ValueError(f"{_at(op)}: shapes {shapes} do not match except along axis {axis}")
    if batched and a == 0:
        raise ValueError(f"{_at(op)}: axis {axis} is the batch axis; join along a sample axis, e.g. axis=-1")
    out_shape = shapes[0][:a] + (builtins.sum(s[a] for s in shapes),) + shapes[0][a + 1 :]
    outer = math.prod(shapes[0][int(batched) : a])
    if not symbolic:
        arrays = [as_array(x, op) for x in xs]
        return _trace.run_eager("concat", arrays, math.prod(out_shape), outer=outer).reshape(out_shape)
    sample = out_shape[1:] if batched else out_shape
    size = math.prod(sample)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("concat", bufs, out, outer=outer)
        return out

    return _trace.symbolic(op, sample, xs, emit, per_batch=not batched)


def broadcast_to(x, shape):
    """`keras.ops.broadcast_to`: x repeated along its axes of extent 1 (and new leading axes) up to
    `shape`, NumPy's rule; traced as an addition of zeros, so the gradient sums the copies. For a
    per-sample tensor shape[0] is the batch axis (None or -1) and the rank stays."""
    op = "ops.broadcast_to"
    target = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    (x,) = lift_all(x)
    if not is_symbolic(x):
        return np.array(np.broadcast_to(as_array(x, op), target))
    if has_batch(x):
        if len(target) != len(x.shape) or target[0] not in (None, -1):
            raise ValueError(
                f"{_at(op)}: a per-sample tensor of shape {x.shape} keeps its batch axis first and its rank: "
                f"expected a shape (None, ...) of rank {len(x.shape)}. Received: shape={target}"
            )
        target = (None,) + target[1:]
    if len(target) < len(x.shape) or _trace.broadcast(op, [x.shape, target]) != target:
        raise ValueError(f"{_at(op)}: cannot broadcast a tensor of shape {x.shape} to shape {target}")
    return _ops.add(x, np.zeros(tuple(1 if d is None else d for d in target), np.float32))
