"""`pytrainc.ops` over one axis at a time (csrc/prim_index.c): slicing, split, take,
take_along_axis, prod, argmax and argmin, and the symbolic tensor's `x[...]`.

Each C op sees its input as (OUTER, EXTENT, INNER) around the axis it works on; an op over
several axes chains them. On a symbolic tensor the batch axis (axis 0) is never the one.
"""

import builtins
import math

import numpy as np

from pytrainc.ops import _trace
from pytrainc.ops._batch import has_batch, lift_all
from pytrainc.ops._trace import as_array, full_shape, is_symbolic, is_variable
from pytrainc.ops._trace import where as _at


# The registered ops this module emits (tests/csrc/test_registry.py finds each emitter by name).
slice_op = "slice"
prod_op = "prod"
arg_reduce_op = "arg_reduce"


def axis_index(op, axis, rank, symbolic):
    """axis as an index in [0, rank), refusing the batch axis of a per-sample tensor (`symbolic`)."""
    if not isinstance(axis, (int, np.integer)) or not -rank <= int(axis) < rank:
        raise ValueError(f"{_at(op)}: axis {axis!r} is out of range for a tensor of rank {rank}")
    a = int(axis) % rank
    if symbolic and a == 0:
        raise ValueError(
            f"{_at(op)}: axis {axis} is the batch axis of a symbolic tensor: traced ops work per sample. "
            "Use a sample axis, e.g. axis=-1."
        )
    return a


def _split_dims(shape, a, symbolic):
    """(OUTER, EXTENT, INNER) of a tensor's per-sample dims (`symbolic`), or all of them, around axis a."""
    dims = tuple(shape[1:]) if symbolic else tuple(shape)
    j = a - 1 if symbolic else a
    return math.prod(dims[:j]), int(dims[j]), math.prod(dims[j + 1 :])


def _one_axis(op, name, x, a, out_shape, no_grad=False, **args):
    """Op `name` on axis a of x (symbolic or eager), giving a tensor of full shape out_shape."""
    batched = has_batch(x)
    outer, extent, inner = _split_dims(full_shape(x), a, batched)
    args = dict(outer=outer, extent=extent, inner=inner, **args)
    if not is_symbolic(x):
        arr = as_array(x, op)
        return _trace.run_eager(name, [arr], builtins.max(math.prod(out_shape), 1), **args).reshape(out_shape)
    sample = tuple(out_shape[1:] if batched else out_shape)
    size = math.prod(sample)

    def emit(builder, bufs):
        out = builder.buffer(size)
        index = builder.op(name, bufs, out, **args)
        if no_grad:
            builder.set_flag(index, "no_backward")
        return out

    return _trace.symbolic(op, sample, [x], emit, per_batch=not batched)


def slice_axis(op, x, a, start, step, length):
    """x[..., start : start + step * length : step, ...] on axis a (length >= 1)."""
    shape = full_shape(x)
    out_shape = tuple(shape[:a]) + (length,) + tuple(shape[a + 1 :])
    if length == shape[a] and step == 1:
        return x
    return _one_axis(op, slice_op, x, a, out_shape, start=start, step=step, len=length)


def getitem(x, key):
    """`x[key]` for a symbolic tensor (or a weight in a traced call): basic indexing (ints, slices,
    `...`, None), one slice op per sliced axis; a per-sample tensor's batch axis is taken whole (`:`)."""
    op = "KerasTensor.__getitem__"
    (x,) = lift_all(x)
    batched = has_batch(x)
    key = key if isinstance(key, tuple) else (key,)
    if builtins.sum(k is Ellipsis for k in key) > 1:
        raise IndexError(f"{_at(op)}: an index can only have a single ellipsis ('...'). Received: {key!r}")
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))) or isinstance(k, bool):
            raise TypeError(
                f"{_at(op)}: symbolic tensors take ints, slices, '...' and None as indices (basic indexing); "
                f"use ops.take for an array of indices. Received: {k!r}"
            )
    rank = len(x.shape)
    used = builtins.sum(k is not None and k is not Ellipsis for k in key)
    if used > rank:
        raise IndexError(f"{_at(op)}: too many indices for a tensor of shape {x.shape}: {key!r}")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (rank - used) + key[i + 1 :]
    else:
        key = key + (slice(None),) * (rank - used)
    axis, squeeze, expand, out = 0, [], [], x
    for k in key:
        if k is None:
            expand.append(axis - len(squeeze) + len(expand))
            continue
        extent = x.shape[axis]
        if axis == 0 and batched:
            if k != slice(None):
                raise IndexError(
                    f"{_at(op)}: the batch axis (axis 0) of a symbolic tensor must be taken whole with ':'. "
                    f"Received: {k!r} for shape {x.shape}"
                )
        elif isinstance(k, slice):
            start, stop, step = k.indices(extent)
            length = len(range(start, stop, step))
            if length == 0:
                raise IndexError(f"{_at(op)}: {k!r} selects nothing on axis {axis} of shape {x.shape}")
            out = slice_axis(op, out, axis, start, step, length)
        else:
            if not -extent <= int(k) < extent:
                raise IndexError(f"{_at(op)}: index {k} is out of bounds for axis {axis} with size {extent}")
            out = slice_axis(op, out, axis, int(k) % extent, 1, 1)
            squeeze.append(axis)
        axis += 1
    shape = [d for j, d in enumerate(out.shape) if j not in squeeze]
    for e in expand:
        shape.insert(e, 1)
    if tuple(shape) != tuple(out.shape):
        out = _trace.symbolic(
            op, tuple(shape[1:] if batched else shape), [out], lambda builder, bufs: bufs[0], per_batch=not batched
        )
    return out


def split(x, indices_or_sections, axis=0):
    """`keras.ops.split`: equal sections (an int) or cuts at the given indices along `axis`."""
    op = "ops.split"
    (x,) = lift_all(x)
    shape = full_shape(x)
    symbolic = is_symbolic(x)
    a = axis_index(op, axis, len(shape), has_batch(x))
    extent = int(shape[a])
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0 or extent % n:
            raise ValueError(
                f"{_at(op)}: an axis of extent {extent} cannot be split into {n} equal sections "
                f"(shape {shape}, axis {axis})"
            )
        cuts = [extent // n * j for j in range(1, n)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0] + [builtins.min(builtins.max(c, 0), extent) for c in cuts] + [extent]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi <= lo:
            raise ValueError(f"{_at(op)}: an empty section [{lo}:{hi}] (shape {shape}, cuts {cuts})")
        if symbolic:
            pieces.append(slice_axis(op, x, a, lo, 1, hi - lo))
        else:
            pieces.append(slice_axis(op, as_array(x, op), a, lo, 1, hi - lo))
    return pieces


def _index_operand(op, indices):
    """A constant index array as float32 (exact below 2**24), refusing non-integers."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iub" and not (idx.dtype.kind == "f" and np.all(idx == np.floor(idx))):
        raise TypeError(f"{_at(op)}: indices must be integers. Received: dtype {idx.dtype}")
    return idx.astype(np.float32)


def _take_node(op, x, idx, sample_shape, args, per_batch=False):
    """A take op whose x and idx are each a symbolic tensor or a parameter (a Variable or a constant)."""
    operands, constants = [], []
    for v in (x, idx):
        if is_symbolic(v) or is_variable(v):
            operands.append(v)
        else:
            c = _trace.constant(v, op)
            constants.append(c)
            operands.append(c)
    params = {slot: (None if is_symbolic(v) else v) for slot, v in zip(("x", "idx"), operands)}
    size = math.prod(sample_shape)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("take", bufs, out, params=params, **args)
        return out

    inputs = [v for v in operands if is_symbolic(v)]
    return _trace.symbolic(op, tuple(sample_shape), inputs, emit, constants, per_batch=per_batch)


def _take_rows(op, x, indices, axis):
    """ops.take of rows of x (a weight, a constant or a per-batch tensor) at per-sample indices."""
    if has_batch(x):
        raise ValueError(
            f"{_at(op)}: both x and the indices are symbolic per-sample tensors, so the result would mix samples. "
            "Use ops.take_along_axis for per-sample indices into per-sample values."
        )
    xv = x if is_symbolic(x) or is_variable(x) else np.asarray(x, np.float32)
    if is_symbolic(xv) and axis is None:
        xv, axis = _ops().reshape(xv, (-1,)), 0
    if axis is not None and int(axis) % builtins.max(len(xv.shape), 1) != 0:
        raise ValueError(
            f"{_at(op)}: per-sample indices take rows of x (axis 0, as an Embedding does). Received: axis={axis}"
        )
    # axis=None: the entries of x flattened (a weight's slice of the parameters is flat already)
    rest = tuple(xv.shape[1:]) if axis is not None else ()
    extent = int(xv.shape[0]) if axis is not None else math.prod(xv.shape)
    args = dict(outer=1, extent=extent, inner=math.prod(rest), j=math.prod(indices.sample_shape), along=0)
    return _take_node(op, xv, indices, tuple(indices.sample_shape) + rest, args)


def take(x, indices, axis=None):
    """`keras.ops.take`: the entries of x at `indices` along `axis` (None: of x flattened).

    x per-sample with constant indices gathers along a sample axis; x a weight (a Variable) with
    per-sample indices is an embedding lookup (axis 0); a weight or a per-batch tensor in a traced
    call takes constant or per-batch indices along any axis. The gradient flows to x only.
    """
    op = "ops.take"
    if has_batch(indices):
        return _take_rows(op, x, indices, axis)
    if is_symbolic(indices):  # per-batch indices: x read per batch too
        if has_batch(x):
            raise ValueError(
                f"{_at(op)}: per-batch indices (shape {indices.shape}) into a per-sample tensor are not "
                "supported; use constant indices"
            )
        x, indices = lift_all(x, indices)
        idx, idx_shape = indices, tuple(indices.shape)
    else:
        (x,) = lift_all(x)
        idx = _index_operand(op, indices)
        idx_shape = idx.shape
        if idx.size == 0:
            raise ValueError(f"{_at(op)}: indices are empty (shape {idx.shape})")
    if not is_symbolic(x):
        arr = as_array(x, op)
        if axis is None:
            arr, axis = arr.reshape(-1), 0
        a = axis_index(op, axis, arr.ndim, False)
        outer, extent, inner = _split_dims(arr.shape, a, False)
        out_shape = arr.shape[:a] + idx.shape + arr.shape[a + 1 :]
        args = dict(outer=outer, extent=extent, inner=inner, j=builtins.max(idx.size, 1), along=0)
        return _trace.run_eager("take", [arr, idx], builtins.max(math.prod(out_shape), 1), **args).reshape(out_shape)
    batched = has_batch(x)
    if axis is None:
        if batched:
            raise ValueError(f"{_at(op)}: axis=None flattens the batch axis of a symbolic tensor; give a sample axis")
        x, axis = _ops().reshape(x, (-1,)), 0
    a = axis_index(op, axis, len(x.shape), batched)
    outer, extent, inner = _split_dims(x.shape, a, batched)
    out_shape = x.shape[:a] + idx_shape + x.shape[a + 1 :]
    args = dict(outer=outer, extent=extent, inner=inner, j=builtins.max(math.prod(idx_shape), 1), along=0)
    flat = idx if is_symbolic(idx) else idx.reshape(-1)
    return _take_node(op, x, flat, out_shape[1:] if batched else out_shape, args, per_batch=not batched)


def take_along_axis(x, indices, axis=None):
    """`keras.ops.take_along_axis`: x[..., indices[..., j, ...], ...] along `axis`; indices have x's
    shape except along `axis` (e.g. from ops.argmax with keepdims=True)."""
    op = "ops.take_along_axis"
    x, indices = lift_all(x, indices) if is_symbolic(indices) else (lift_all(x)[0], indices)
    if axis is None:
        if has_batch(x):
            raise ValueError(f"{_at(op)}: axis=None flattens the batch axis of a symbolic tensor; give a sample axis")
        if has_batch(indices):
            raise ValueError(f"{_at(op)}: axis=None flattens the batch axis of the symbolic indices; give an axis")
        flatten = _ops().reshape if is_symbolic(x) else np.reshape
        x, axis = flatten(x if is_symbolic(x) else np.asarray(x), (-1,)), 0
        if is_symbolic(indices):
            indices = _ops().reshape(indices, (-1,))
    xs, ixs = full_shape(x), full_shape(indices)
    batched = has_batch(x)
    if has_batch(indices) != batched and is_symbolic(indices):
        raise ValueError(
            f"{_at(op)}: indices of shape {ixs} and x of shape {xs}: per-sample indices take from per-sample "
            "values, per-batch (or constant) indices from per-batch values or weights; for rows of a weight "
            "at per-sample indices use ops.take"
        )
    a = axis_index(op, axis, len(xs), batched)
    if len(ixs) != len(xs) or any(i != d for j, (i, d) in enumerate(zip(ixs, xs)) if j != a and (j > 0 or not batched)):
        raise ValueError(
            f"{_at(op)}: indices of shape {ixs} must match x's shape {xs} on every axis but {axis} "
            "(broadcasting is not supported)"
        )
    outer, extent, inner = _split_dims(xs, a, batched)
    out_shape = tuple(xs[:a]) + (ixs[a],) + tuple(xs[a + 1 :])
    args = dict(outer=outer, extent=extent, inner=inner, j=int(ixs[a]), along=1)
    if not is_symbolic(x):
        arr, idx = as_array(x, op), _index_operand(op, indices)
        return _trace.run_eager("take", [arr, idx], builtins.max(math.prod(out_shape), 1), **args).reshape(out_shape)
    if not is_symbolic(indices):
        idx = _index_operand(op, indices)
        if batched and idx.shape[0] != 1:
            raise ValueError(f"{_at(op)}: constant indices for a symbolic tensor have extent 1 on axis 0: {idx.shape}")
        indices = idx.reshape(-1)
    return _take_node(op, x, indices, out_shape[1:] if batched else out_shape, args, per_batch=not batched)


def _ops():
    from pytrainc import ops

    return ops


def _reduce_axes(op, x, axis):
    shape = full_shape(x)
    symbolic = has_batch(x)
    if axis is None:
        if symbolic:
            raise ValueError(
                f"{_at(op)}: axis=None reduces over the batch axis of a symbolic tensor {shape}; "
                "traced ops work per sample. Give the sample axes, e.g. axis=-1."
            )
        return tuple(range(len(shape)))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted({axis_index(op, a, len(shape), symbolic) for a in axes}))


def prod(x, axis=None, keepdims=False, dtype=None):
    """`keras.ops.prod`: the product over `axis`; the gradient handles zero factors as torch.prod."""
    op = "ops.prod"
    (x,) = lift_all(x)
    if not is_symbolic(x):
        x = as_array(x, op)
        if x.ndim == 0:
            return x.copy()
    axes = _reduce_axes(op, x, axis)
    out = x
    for a in reversed(axes):  # the higher axes first, so the lower ones keep their index
        shape = full_shape(out)
        out = _one_axis(op, prod_op, out, a, tuple(shape[:a]) + tuple(shape[a + 1 :]))
    return _keep(x, out, axes, keepdims)


def _keep(x, out, axes, keepdims):
    if not keepdims:
        return out
    shape = tuple(1 if j in axes else d for j, d in enumerate(full_shape(x)))
    if not is_symbolic(out):
        return out.reshape(shape)
    return _ops()._shape.alias("ops.keepdims", out, shape[1:] if has_batch(out) else shape)


def _arg_reduce(op, x, axis, keepdims, argmin):
    (x,) = lift_all(x)
    if not is_symbolic(x):
        x = as_array(x, op)
        if axis is None:
            x, axis = x.reshape(-1), 0
            keepdims = False
    if axis is None:
        _reduce_axes(op, x, None)  # refuses the batch axis
    shape = full_shape(x)
    a = axis_index(op, axis, len(shape), has_batch(x))
    out = _one_axis(op, arg_reduce_op, x, a, tuple(shape[:a]) + tuple(shape[a + 1 :]), no_grad=True, argmin=argmin)
    out = _keep(x, out, (a,), keepdims)
    return out if is_symbolic(out) else out.astype(np.int64)


def argmax(x, axis=None, keepdims=False):
    """`keras.ops.argmax`: the index of the first maximum along `axis` (None: of x flattened, eagerly).

    Traced, the indices are float32 values (every plan buffer is float32) and pass no gradient;
    eagerly they are int64, as NumPy's.
    """
    return _arg_reduce("ops.argmax", x, axis, keepdims, 0)


def argmin(x, axis=None, keepdims=False):
    """`keras.ops.argmin`: the index of the first minimum along `axis` (see argmax)."""
    return _arg_reduce("ops.argmin", x, axis, keepdims, 1)
