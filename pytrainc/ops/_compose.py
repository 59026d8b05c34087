"""`pytrainc.ops` functions written with other ops (no kernel of their own): stack, tile, one_hot,
var, std, logsumexp, softmax and log_softmax over any axis, arange and einsum.

Their gradients are those of the ops they record, so they train like the primitives do.
"""

import builtins
import math
import string

import numpy as np

from pytrainc import _C
from pytrainc import ops as _ops
from pytrainc.ops import _index, _trace
from pytrainc.ops._batch import has_batch, lift_all
from pytrainc.ops._trace import full_shape, is_symbolic, is_variable
from pytrainc.ops._trace import where as _at


def stack(x, axis=0):
    """`keras.ops.stack`: joins tensors of one shape along a new axis."""
    op = "ops.stack"
    xs = list(x)
    if not xs:
        raise ValueError(f"{_at(op)} needs at least one tensor")
    rank = len(full_shape(xs[0])) + 1
    a = _index.axis_index(op, axis, rank, any(has_batch(t) for t in xs))
    return _ops.concatenate([_ops.expand_dims(t, a) for t in xs], axis=a)


def tile(x, repeats):
    """`keras.ops.tile`: x repeated `repeats[i]` times along axis i (NumPy's rule: a shorter
    `repeats` counts from the last axis, a longer one adds leading axes). Traced as concatenations,
    so the gradient sums the copies; a per-sample tensor keeps its batch axis (repeat 1 there)."""
    op = "ops.tile"
    reps = [int(r) for r in (repeats if isinstance(repeats, (list, tuple)) else [repeats])]
    if any(r < 0 for r in reps):
        raise ValueError(f"{_at(op)}: repeats must be non-negative integers. Received: {repeats!r}")
    (x,) = lift_all(x)
    if not is_symbolic(x):
        return np.tile(_ops.as_array(x, op), reps)
    rank = len(full_shape(x))
    if not has_batch(x) and 0 not in reps and len(reps) > rank:  # NumPy's leading axes of extent 1
        x, rank = _ops.reshape(x, (1,) * (len(reps) - rank) + tuple(x.shape)), len(reps)
    if len(reps) > rank or (len(reps) == rank and reps[0] != 1 and has_batch(x)) or 0 in reps:
        raise ValueError(
            f"{_at(op)} on a symbolic tensor of shape {x.shape} repeats its sample axes at least once each, "
            f"not the batch axis. Received: repeats={repeats!r}"
        )
    reps = [1] * (rank - len(reps)) + reps
    for axis, r in enumerate(reps):
        x = _repeat(x, r, axis)
    return x


def _repeat(x, r, axis):
    """r copies of x joined along axis (concatenate joins at most _C.MAX_IN tensors at once)."""
    if r <= _C.MAX_IN:
        return x if r == 1 else _ops.concatenate([x] * r, axis=axis)
    q, rest = divmod(r, _C.MAX_IN)
    parts = [_repeat(_repeat(x, _C.MAX_IN, axis), q, axis)] + ([_repeat(x, rest, axis)] if rest else [])
    return parts[0] if len(parts) == 1 else _ops.concatenate(parts, axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """`keras.ops.one_hot`: 1.0 at each integer of x along a new last axis of num_classes, else 0.0
    (an index outside [0, num_classes) gives a row of zeros, as in Keras); no gradient."""
    op = "ops.one_hot"
    if sparse:
        raise ValueError(f"{_at(op)}: sparse=True is not supported")
    if axis not in (-1, len(full_shape(x))):
        raise ValueError(f"{_at(op)}: the classes go on the last axis (axis=-1). Received: axis={axis!r}")
    classes = np.arange(int(num_classes), dtype=np.float32)
    out = _ops.equal(_ops.expand_dims(x, -1), classes)
    return out if is_symbolic(out) or dtype is None else out.astype(dtype)


def var(x, axis=None, keepdims=False):
    """`keras.ops.var`: the (biased, ddof 0) variance over `axis`."""
    m = _ops.mean(x, axis=axis, keepdims=True)
    return _ops.mean(_ops.square(_ops.subtract(x, m)), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """`keras.ops.std`: the square root of `var`."""
    return _ops.sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """`keras.ops.logsumexp`: log(sum(exp(x))) over `axis`, shifted by the maximum so exp never
    overflows (the shift passes no gradient: the result's gradient is the softmax)."""
    m = _ops.stop_gradient(_ops.max(x, axis=axis, keepdims=True))
    out = _ops.add(_ops.log(_ops.sum(_ops.exp(_ops.subtract(x, m)), axis=axis, keepdims=True)), m)
    if keepdims:
        return out
    shape = full_shape(x)
    axes = range(len(shape)) if axis is None else ((axis,) if isinstance(axis, (int, np.integer)) else axis)
    return _ops.squeeze(out, axis=tuple(int(a) % len(shape) for a in axes))


def log_softmax_any(x, axis):
    """log_softmax over an axis that is not the last: x - logsumexp(x, axis)."""
    return _ops.subtract(x, logsumexp(x, axis=axis, keepdims=True))


def arange(start, stop=None, step=None, dtype=None):
    """`keras.ops.arange`: a constant NumPy array (float32 unless the arguments are ints), usable in traced code."""
    step = 1 if step is None else step
    out = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is not None:
        return out.astype(dtype)
    return out if out.dtype.kind in "iu" else out.astype(np.float32)


# -- einsum ----------------------------------------------------------------------------------------
def _parse(op, subscripts, shapes):
    spec = subscripts.replace(" ", "")
    lhs, _, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"{_at(op)}: {subscripts!r} names {len(terms)} operands. Received: {len(shapes)}")
    if "..." in spec:  # the leading axes of '...' become letters no subscript uses
        free = [c for c in string.ascii_letters if c not in spec]
        width = builtins.max(len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t)
        fill = "".join(free[:width])
        terms = [
            t.replace("...", fill[width - (len(s) - len(t) + 3) :]) if "..." in t else t for t, s in zip(terms, shapes)
        ]
        if rhs:
            rhs = rhs.replace("...", fill)
        elif "->" not in spec:
            rhs = fill
    if "->" not in spec:
        counts = {c: "".join(terms).count(c) for c in "".join(terms)}
        rhs = rhs + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in rhs))
    for t, s in zip(terms, shapes):
        if not t.isalpha() or len(t) != len(s):
            raise ValueError(f"{_at(op)}: subscripts {t!r} do not fit an operand of shape {s} ({subscripts!r})")
        if len(set(t)) != len(t):
            raise ValueError(f"{_at(op)}: a repeated index in one operand ({t!r}, a diagonal) is not supported")
    return terms, rhs


def _sum_out(x, term, keep):
    """x summed over the letters of term not in keep; returns (x, its letters)."""
    axes = tuple(j for j, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return _ops.sum(x, axis=axes), "".join(c for c in term if c in keep)


def _permute(x, term, order):
    if term == order:
        return x
    return _ops.transpose(x, [term.index(c) for c in order])


def _contract(op, a, ta, b, tb, keep, dims):
    """a (letters ta) times b (tb), summed over the shared letters not in keep, through one matmul."""
    if has_batch(b) and not has_batch(a):
        a, ta, b, tb = b, tb, a, ta
    a, ta = _sum_out(a, ta, set(tb) | keep)
    b, tb = _sum_out(b, tb, set(ta) | keep)
    batch = [c for c in ta if c in tb and c in keep]
    contracted = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    lead = []  # a symbolic operand's first letter (its batch axis) stays first
    if has_batch(a):
        lead = [ta[0]]
        if ta[0] in contracted:
            raise ValueError(f"{_at(op)}: the batch axis ({ta[0]!r}) cannot be summed over")
        batch = [c for c in batch if c != ta[0]]
        a_only = [c for c in a_only if c != ta[0]]
    if has_batch(b) and not (lead and tb[0] == lead[0]):
        raise ValueError(f"{_at(op)}: two symbolic operands must share their batch axis's index ({ta[0]!r}, {tb[0]!r})")
    size = lambda letters: math.prod(dims[c] for c in letters)  # noqa: E731
    B, M, K, C = size(batch), size(a_only), size(contracted), size(b_only)
    a = _permute(a, ta, "".join(lead + batch + a_only + contracted))
    b = _permute(b, tb, "".join(lead if has_batch(b) else []) + "".join(batch + contracted + b_only))
    head = [None] if lead else []
    mid = [B] if B > 1 else []
    a = _ops.reshape(a, head + mid + [M, K])
    b = _ops.reshape(b, (head if has_batch(b) else []) + mid + [K, C])
    letters = lead + batch + a_only + b_only
    return _ops.reshape(_ops.matmul(a, b), head + [dims[c] for c in letters[len(lead) :]]), "".join(letters)


def einsum(subscripts, *operands, **kwargs):
    """`keras.ops.einsum`: sums of products named by index letters, recorded as transposes,
    reshapes, sums and one matmul per pair of operands (left to right).

    A per-sample operand's first index is its batch axis: it must stay the first index of the
    result and is never summed. Weights and per-batch tensors alone give a per-batch tensor. Repeated indices within one operand (diagonals) are not supported.
    Keras's `**kwargs` (backend options) are refused: pytrainc's backend takes none.

    Example:

    >>> import numpy as np
    >>> from pytrainc import ops
    >>> ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
    """
    op = "ops.einsum"
    if kwargs:  # Keras hands these to its backend (e.g. NumPy's `optimize`): pytrainc has none
        raise ValueError(f"{_at(op)} takes no backend options. Received: {sorted(kwargs)}")
    if not operands:
        raise ValueError(f"{_at(op)} needs at least one operand")
    shapes = [tuple(full_shape(x)) for x in operands]
    terms, out_term = _parse(op, subscripts, shapes)
    dims = {}
    for t, s in zip(terms, shapes):
        for c, d in zip(t, s):
            if d is None:
                continue
            if dims.setdefault(c, d) != d:
                raise ValueError(
                    f"{_at(op)}: index {c!r} has extents {dims[c]} and {d} ({subscripts!r}, shapes {shapes})"
                )
    missing = set(out_term) - set("".join(terms))
    if missing:
        raise ValueError(f"{_at(op)}: output indices {sorted(missing)} appear in no operand ({subscripts!r})")
    operands = lift_all(*operands)
    xs = [x if is_symbolic(x) or is_variable(x) else _trace.as_array(x, op) for x in operands]
    acc, term = xs[0], terms[0]
    for j in range(1, len(xs)):
        keep = set(out_term).union(*terms[j + 1 :])
        acc, term = _contract(op, acc, term, xs[j], terms[j], keep, dims)
    acc, term = _sum_out(acc, term, set(out_term))
    if has_batch(acc) and out_term[0] != term[0]:
        raise ValueError(f"{_at(op)}: the result must keep the batch index {term[0]!r} first ({subscripts!r})")
    return _permute(acc, term, out_term)
