"""`keras.ops` for pytrainc: the math custom layers, Lambda layers and losses write.

On symbolic tensors (the functional API's `KerasTensor`, or the inputs of a layer's `call`
while it is traced) each function records a primitive op that the model's plan runs in C,
forward and backward. On NumPy arrays or array-likes it runs eagerly through the same C
kernels and returns a NumPy array. Shapes follow NumPy's broadcasting rules; the batch axis
of a symbolic tensor is its axis 0 (None) and primitive ops never reduce or move it.

Example:

>>> import numpy as np
>>> from pytrainc import ops
>>> float(ops.relu(ops.matmul(np.ones((2, 3)), np.ones((3, 4))) - 2.0)[0, 0])
1.0
"""

import builtins
import math

import numpy as np

from pytrainc import _C, _layer_losses, _metric_state
from pytrainc import activations as _activations
from pytrainc.ops import _trace
from pytrainc.ops._batch import keep_loss_part as _keep_loss_part
from pytrainc.ops._batch import lift as _lift
from pytrainc.ops._trace import as_array, dims_args, full_shape, is_scalar, is_symbolic, is_variable, mask_of
from pytrainc.ops._trace import where as _at

_U, _B, _R = _C.UNARY_KINDS, _C.BINARY_KINDS, _C.REDUCE_KINDS


def _refuse_weights_only(op, *xs):
    if _trace.tracing_layer() is not None and any(is_variable(x) for x in xs):
        raise ValueError(
            f"{_at(op)}: an op on weights or constants alone (no tensor that depends on the layer's "
            "inputs) cannot be traced into the plan yet. Combine the weight with the inputs directly, "
            "e.g. ops.matmul(inputs, self.w) rather than ops.matmul(inputs, self.w * 2)."
        )


def _param(x, op):
    """A parameter operand: a Variable as is, anything else as a hidden constant."""
    return x if is_variable(x) else _trace.constant(np.asarray(x, np.float32), op)


# -- elementwise ------------------------------------------------------------------------------
def _unary(op, kind, x, alpha=0.0, beta=0.0, no_grad=False):
    (x,) = _lift(x)
    if not is_symbolic(x):
        _refuse_weights_only(op, x)
        a = as_array(x, op)
        return _trace.run_eager("unary", [a], builtins.max(a.size, 1), kind=_U[kind], alpha=alpha, beta=beta).reshape(
            a.shape
        )
    size = math.prod(x.sample_shape)

    def emit(builder, bufs):
        out = builder.buffer(size)
        index = builder.op("unary", bufs, out, kind=_U[kind], alpha=float(alpha), beta=float(beta))
        if no_grad:
            builder.set_flag(index, "no_backward")
        return out

    return _trace.symbolic(op, x.sample_shape, [x], emit, per_batch=x._per_batch)


# binary kind -> (unary kind for tensor op scalar, unary kind for scalar op tensor, scalar transform)
_SCALAR_FORMS = {
    "add": ("add_scalar", "add_scalar", lambda s: s),
    "subtract": ("add_scalar", "rsub_scalar", None),
    "multiply": ("mul_scalar", "mul_scalar", lambda s: s),
    "divide": ("div_scalar", "rdiv_scalar", lambda s: s),
    "power": ("pow_scalar", "rpow_scalar", lambda s: s),
}


def _binary(op, kind, x1, x2):
    x1, x2 = _lift(x1, x2)
    if not (is_symbolic(x1) or is_symbolic(x2)):
        _refuse_weights_only(op, x1, x2)
        a, b = as_array(x1, op), as_array(x2, op)
        out = _trace.broadcast(op, [a.shape, b.shape])
        if len(out) > _trace.MAX_SAMPLE_RANK:
            raise ValueError(f"{op} runs eagerly on arrays of rank <= {_trace.MAX_SAMPLE_RANK}. Received: {out}")
        res = _trace.run_eager(
            "binary",
            [a, b],
            builtins.max(math.prod(out), 1),
            kind=_B[kind],
            **dims_args(out),
            mask_a=mask_of(a.shape, len(out)),
            mask_b=mask_of(b.shape, len(out)),
        )
        return res.reshape(out)
    forms = _SCALAR_FORMS.get(kind)
    if forms and (is_scalar(x1) or is_scalar(x2)):
        if is_scalar(x2):
            value, linear = (float(x2) if kind != "subtract" else -float(x2)), kind in ("multiply", "divide")
            out = _unary(op, forms[0], x1, alpha=value)
            _keep_loss_part(out, x1, lambda part: _unary(op, forms[0], part, alpha=value), linear)
            return _layer_losses.keep_mark(out, x1, linear)
        out = _unary(op, forms[1], x2, alpha=float(x1))
        _keep_loss_part(out, x2, lambda part: _unary(op, forms[1], part, alpha=float(x1)), kind == "multiply")
        return _layer_losses.keep_mark(out, x2, kind == "multiply")
    operands = []
    for x in (x1, x2):
        if is_symbolic(x):
            operands.append((x, tuple(x.shape)))
        else:
            var = _param(x, op)
            operands.append((var, tuple(var.shape)))
    sample, dims, per_batch = _broadcast_operands(op, operands)
    constants = [x for x, _ in operands if not is_symbolic(x) and x is not x1 and x is not x2]
    params = {slot: (None if is_symbolic(x) else x) for slot, (x, _) in zip(("lhs", "rhs"), operands)}
    inputs = [x for x, _ in operands if is_symbolic(x)]
    size = math.prod(sample)
    masks = [mask_of(d, len(sample)) for d in dims]

    def emit(builder, bufs):
        buf = builder.buffer(size)
        builder.op(
            "binary", bufs, buf, params=params, kind=_B[kind], **dims_args(sample), mask_a=masks[0], mask_b=masks[1]
        )
        return buf

    return _trace.symbolic(op, sample, inputs, emit, constants, per_batch=per_batch)


def where(condition, x1=None, x2=None):
    """x1 where condition is non-zero, else x2, with broadcasting; no gradient flows to condition.
    With neither x1 nor x2, the indices of the non-zero elements (eagerly, as `np.nonzero`).

    The gradient of the branch not taken is 0 (as torch.where), so `where(x > 0, log(x), 0.0)`
    trains; its forward value still computes both branches, as in Keras.
    """
    op = "ops.where"
    if x1 is None and x2 is None:
        if is_symbolic(condition):
            raise ValueError(f"{_at(op)}: where(condition) alone has a data-dependent shape; give x1 and x2")
        return tuple(np.nonzero(as_array(condition, op)))
    if x1 is None or x2 is None:
        raise ValueError(f"{_at(op)}: give both x1 and x2, or neither. Received: x1={x1!r}, x2={x2!r}")
    operands = tuple(_lift(condition, x1, x2))
    if not any(is_symbolic(x) for x in operands):
        _refuse_weights_only(op, *operands)
        arrays = [as_array(x, op) for x in operands]
        out = _trace.broadcast(op, [a.shape for a in arrays])
        masks = {f"mask_{k}": mask_of(a.shape, len(out)) for k, a in zip("cab", arrays)}
        res = _trace.run_eager("where", arrays, builtins.max(math.prod(out), 1), **dims_args(out), **masks)
        return res.reshape(out)
    entries = []
    for x in operands:
        if is_symbolic(x):
            entries.append((x, tuple(x.shape)))
        else:
            var = _param(x, op)
            entries.append((var, tuple(var.shape)))
    sample, dims, per_batch = _broadcast_operands(op, entries)
    masks = {f"mask_{k}": mask_of(d, len(sample)) for k, d in zip("cab", dims)}
    params = {slot: (None if is_symbolic(x) else x) for slot, (x, _) in zip(("cond", "lhs", "rhs"), entries)}
    constants = [x for x, _ in entries if not is_symbolic(x) and all(x is not o for o in operands)]
    size = math.prod(sample)

    def emit(builder, bufs):
        buf = builder.buffer(size)
        builder.op("where", bufs, buf, params=params, **dims_args(sample), **masks)
        return buf

    inputs = [x for x, _ in entries if is_symbolic(x)]
    return _trace.symbolic(op, sample, inputs, emit, constants, per_batch=per_batch)


def _broadcast_operands(op, entries):
    """The per-sample result shape, each operand's per-sample dims, and whether the result is per batch,
    from (operand, full shape) pairs. Operands without a batch axis (weights, constants, per-batch
    tensors) align right; with no per-sample operand the result is a per-batch tensor."""
    shapes = [s for _, s in entries]
    rank = builtins.max(len(s) for s in shapes)
    if not any(is_symbolic(x) and not x._per_batch for x, _ in entries):
        return _trace.broadcast(op, shapes), shapes, True
    for x, s in entries:
        if is_symbolic(x) and not x._per_batch and len(s) != rank:
            raise ValueError(
                f"{_at(op)}: a tensor of shape {s} cannot be broadcast against shape "
                f"{builtins.max(shapes, key=len)}: its batch axis would not be the batch axis of the result"
            )
    out = _trace.broadcast(op, shapes)
    # Per-sample views: a parameter's axis aligned with the batch (extent 1) is dropped.
    dims = [s[1:] if ((is_symbolic(x) and not x._per_batch) or len(s) == rank) else s for x, s in entries]
    return out[1:], dims, False


def add(x1, x2):
    """`x1 + x2` with broadcasting."""
    return _binary("ops.add", "add", x1, x2)


def subtract(x1, x2):
    """`x1 - x2` with broadcasting."""
    return _binary("ops.subtract", "subtract", x1, x2)


def multiply(x1, x2):
    """`x1 * x2` with broadcasting."""
    return _binary("ops.multiply", "multiply", x1, x2)


def divide(x1, x2):
    """`x1 / x2` with broadcasting."""
    return _binary("ops.divide", "divide", x1, x2)


true_divide = divide


def power(x1, x2):
    """`x1 ** x2` with broadcasting."""
    return _binary("ops.power", "power", x1, x2)


def maximum(x1, x2):
    """Elementwise maximum (a tie splits the gradient, as torch.maximum)."""
    return _binary("ops.maximum", "maximum", x1, x2)


def minimum(x1, x2):
    """Elementwise minimum (a tie splits the gradient, as torch.minimum)."""
    return _binary("ops.minimum", "minimum", x1, x2)


def _comparison(kind):
    def fn(x1, x2):
        return _binary(f"ops.{kind}", kind, x1, x2)

    fn.__name__ = kind
    fn.__doc__ = f"`{kind}(x1, x2)` as 0.0/1.0 floats; no gradient flows through it."
    return fn


greater, greater_equal, less, less_equal = (_comparison(k) for k in ("greater", "greater_equal", "less", "less_equal"))
equal, not_equal, logical_and, logical_or = (
    _comparison(k) for k in ("equal", "not_equal", "logical_and", "logical_or")
)


def logical_not(x):
    """1.0 where x is 0, else 0.0; no gradient."""
    return _unary("ops.logical_not", "logical_not", x)


def _simple_unary(kind, doc):
    def fn(x):
        return _unary(f"ops.{kind}", kind, x)

    fn.__name__ = kind
    fn.__doc__ = doc
    return fn


negative = _simple_unary("neg", "`-x`.")
negative.__name__ = "negative"
exp = _simple_unary("exp", "Elementwise e**x.")
log = _simple_unary("log", "Elementwise natural logarithm.")
log1p = _simple_unary("log1p", "Elementwise log(1 + x).")
sqrt = _simple_unary("sqrt", "Elementwise square root.")
rsqrt = _simple_unary("rsqrt", "Elementwise 1 / sqrt(x).")
square = _simple_unary("square", "Elementwise x * x.")
sign = _simple_unary("sign", "Elementwise sign (-1, 0 or 1); no gradient.")


def abs(x):  # noqa: A001 (keras.ops.abs)
    """Elementwise absolute value."""
    return _unary("ops.abs", "abs", x)


absolute = abs


def clip(x, x_min, x_max):
    """x limited to [x_min, x_max] (Python numbers); the gradient passes inside the closed interval."""
    if not (is_scalar(x_min) and is_scalar(x_max)):
        raise ValueError(f"ops.clip takes numbers as bounds. Received: x_min={x_min!r}, x_max={x_max!r}")
    return _unary("ops.clip", "clip", x, alpha=float(x_min), beta=float(x_max))


def stop_gradient(variable):
    """The value of `variable`, through which no gradient flows."""
    if not is_symbolic(variable):
        return np.array(as_array(variable, "ops.stop_gradient"))
    return _unary("ops.stop_gradient", "identity", variable, no_grad=True)


def full_like(x, fill_value, dtype=None):
    """A tensor of x's shape filled with fill_value."""
    if not is_symbolic(x):  # a weight's shape only: no value is read
        return np.full(np.shape(x._value if is_variable(x) else x), fill_value, dtype=dtype or np.float32)
    if not is_scalar(fill_value):
        raise ValueError(f"ops.full_like takes a number as fill_value. Received: {fill_value!r}")
    return _unary("ops.full_like", "fill", x, alpha=float(fill_value), no_grad=True)


def zeros_like(x, dtype=None):
    """Zeros of x's shape."""
    return full_like(x, 0.0, dtype)


def ones_like(x, dtype=None):
    """Ones of x's shape."""
    return full_like(x, 1.0, dtype)


# -- activations (the fused activation op, over the last axis) ---------------------------------
def _activation(op, name, x, axis=-1):
    (x,) = _lift(x)
    shape = full_shape(x)
    if name in ("softmax", "log_softmax") and len(shape) > 0 and axis not in (-1, len(shape) - 1):
        raise ValueError(f"{_at(op)} computes over the last axis (axis=-1). Received: axis={axis!r}")
    # gelu_tanh is ops.gelu's default kernel, with no activation name of its own in Keras
    kind, alpha = (_C.ACTIVATIONS[name], 0.0) if name == "gelu_tanh" else _activations.kind_and_alpha(name)
    width = int(shape[-1]) if len(shape) > 1 or (len(shape) == 1 and not is_symbolic(x)) else 1
    if not is_symbolic(x):
        _refuse_weights_only(op, x)
        a = as_array(x, op)
        return _trace.run_eager(
            "activation", [a], builtins.max(a.size, 1), kind=kind, width=width, alpha=alpha
        ).reshape(a.shape)
    size = math.prod(x.sample_shape)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("activation", bufs, out, kind=kind, width=width, alpha=alpha)
        return out

    per_batch = None if name in ("softmax", "log_softmax") else x._per_batch  # softmax: rows of one sample
    return _trace.symbolic(op, x.sample_shape, [x], emit, per_batch=per_batch)


def relu(x):
    """max(x, 0)."""
    return _activation("ops.relu", "relu", x)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _activation("ops.sigmoid", "sigmoid", x)


def tanh(x):
    """Hyperbolic tangent."""
    return _activation("ops.tanh", "tanh", x)


def softplus(x):
    """log(1 + exp(x))."""
    return _activation("ops.softplus", "softplus", x)


def silu(x):
    """x * sigmoid(x)."""
    return _activation("ops.silu", "silu", x)


swish = silu


def gelu(x, approximate=True):
    """Gaussian error linear unit; Keras's ops.gelu defaults to the tanh approximation."""
    return _activation("ops.gelu", "gelu_tanh" if approximate else "gelu", x)


def _last_axis(x, axis):
    rank = len(full_shape(x))
    return rank == 0 or (isinstance(axis, (int, np.integer)) and int(axis) in (-1, rank - 1))


def softmax(x, axis=-1):
    """Softmax over `axis` (the fused kernel on the last axis; exp(log_softmax) on another)."""
    if _last_axis(x, axis):
        return _activation("ops.softmax", "softmax", x, axis)
    return exp(_compose.log_softmax_any(x, axis))


def log_softmax(x, axis=-1):
    """Log-softmax over `axis` (the fused kernel on the last axis; x - logsumexp on another)."""
    if _last_axis(x, axis):
        return _activation("ops.log_softmax", "log_softmax", x, axis)
    return _compose.log_softmax_any(x, axis)


# -- reductions -------------------------------------------------------------------------------
def _axes(op, axis, rank):
    if axis is None:
        return tuple(range(rank))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -rank <= int(a) < rank:
            raise ValueError(f"{_at(op)}: axis {a} is out of range for a tensor of rank {rank}")
        out.append(int(a) % rank)
    return tuple(sorted(set(out)))


def _reduce(op, kind, x, axis, keepdims):
    (x,) = _lift(x)
    shape = full_shape(x)
    axes = _axes(op, axis, len(shape))
    symbolic, per_batch = is_symbolic(x), _trace.is_per_batch(x)
    batch_axis = symbolic and not per_batch and 0 in axes
    if batch_axis and kind == "sum" and _metric_state.in_update():
        return _batch_sum(op, x, axes)
    if batch_axis and kind in ("sum", "mean") and _layer_losses.in_layer_call():
        return _batch.batch_reduce(op, kind, x, axes, keepdims)
    if batch_axis and _metric_state.in_update():
        raise ValueError(
            f"{_at(op)} reduces over the batch axis (axis={axis!r}): in update_state only ops.sum may, "
            "as a running sum into a state variable (var.assign_add(ops.sum(values))); keep a count "
            "variable and divide in result() for a mean"
        )
    if batch_axis:
        raise ValueError(
            f"{_at(op)} reduces over the batch axis (axis={axis!r}) of a tensor of shape {shape}: "
            "traced ops work per sample. Reduce over the sample axes, e.g. axis=-1."
        )
    out_shape = tuple(1 if j in axes else d for j, d in enumerate(shape) if keepdims or j not in axes)
    if per_batch and not shape:
        return x
    first = 1 if symbolic and not per_batch else 0
    dims = tuple(shape[first:])
    if len(dims) > _trace.MAX_SAMPLE_RANK:
        raise ValueError(f"{_at(op)}: at most rank {_trace.MAX_SAMPLE_RANK} per sample. Received: shape={shape}")
    pad = _trace.MAX_SAMPLE_RANK - len(dims)
    mask = builtins.sum(1 << (pad + a - first) for a in axes)
    if not symbolic:
        _refuse_weights_only(op, x)
        a = as_array(x, op)
        if a.ndim == 0:
            return a.copy()
        out_size = builtins.max(math.prod(d for j, d in enumerate(a.shape) if j not in axes), 1)
        return _trace.run_eager("reduce", [a], out_size, kind=_R[kind], **dims_args(dims), axes=mask).reshape(out_shape)
    size = math.prod(out_shape[first:])

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("reduce", bufs, out, kind=_R[kind], **dims_args(dims), axes=mask)
        return out

    return _trace.symbolic(op, out_shape[first:], [x], emit, per_batch=per_batch)


def _batch_sum(op, x, axes):
    """A metric's update_state: the sum over the sample axes of `axes`, marked as summed over
    the batch too (the engine does that part, accumulating it into the metric's state)."""
    rest = tuple(a for a in axes if a != 0)
    per_sample = _reduce(op, "sum", x, rest, False) if rest else x
    out = _shape.alias(op, per_sample, tuple(per_sample.sample_shape))
    out._batch_summed = True
    return out


def sum(x, axis=None, keepdims=False):  # noqa: A001 (keras.ops.sum)
    """Sum over `axis` (None: all axes; a symbolic tensor's batch axis cannot be reduced)."""
    return _reduce("ops.sum", "sum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`."""
    return _reduce("ops.mean", "mean", x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 (keras.ops.max)
    """Maximum over `axis` (ties split the gradient, as torch.amax)."""
    if initial is not None:
        raise ValueError(f"ops.max does not take `initial` in pytrainc. Received: initial={initial!r}")
    return _reduce("ops.max", "max", x, axis, keepdims)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 (keras.ops.min)
    """Minimum over `axis`."""
    if initial is not None:
        raise ValueError(f"ops.min does not take `initial` in pytrainc. Received: initial={initial!r}")
    return _reduce("ops.min", "min", x, axis, keepdims)


# -- matmul -------------------------------------------------------------------------------------
def matmul(x1, x2):
    """Matrix product with NumPy's rules (batched over leading axes, 1-D operands promoted).

    On a symbolic `x1` of shape (None, K) the rows are the batch: `matmul(x, w)` with a weight
    `w` of shape (K, U) is a dense layer's product (one sgemm over the batch).
    """
    op = "ops.matmul"
    x1, x2 = _batch.lift_all(x1, x2)
    per_batch = [_trace.is_per_batch(x) for x in (x1, x2)]
    if all(per_batch):  # weights or per-batch tensors alone: one product for the batch
        desc = _mm_describe(op, tuple(x1.shape), False, tuple(x2.shape), False)
        desc["args"].update(per_batch_a=1, per_batch_b=1)
        return _mm_node(op, desc, desc["shape"], [x1, x2], {"lhs": None, "rhs": None}, (), True)
    if any(per_batch) and not (is_symbolic(x1) and is_symbolic(x2) and not all(per_batch)):
        raise ValueError(
            f"{_at(op)} takes a per-batch tensor (a weight computed on in a traced call, e.g. `self.w * 2`, of "
            f"shape {(x1 if per_batch[0] else x2).shape}) against a per-sample tensor, a weight or another "
            "per-batch tensor, inside a layer's call"
        )
    if not (is_symbolic(x1) or is_symbolic(x2)):
        _refuse_weights_only(op, x1, x2)
        a, b = as_array(x1, op), as_array(x2, op)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"ops.matmul takes tensors of rank >= 1. Received: shapes {a.shape} and {b.shape}")
        desc = _mm_describe(op, a.shape, False, b.shape, False)
        desc["args"].update(per_batch_a=0, per_batch_b=0)
        out = _trace.run_eager("matmul", [a, b], builtins.max(math.prod(desc["shape"]), 1), **desc["args"])
        return out.reshape(desc["shape"])
    ops_ = []  # (operand, per sample?): a per-batch tensor is read as a weight is, from an input
    for x, pb in zip((x1, x2), per_batch):
        ops_.append((x, not pb) if is_symbolic(x) else (_param(x, op), False))
    (a, a_ps), (b, b_ps) = ops_
    sa = (None,) + tuple(a.sample_shape) if a_ps else tuple(a.shape)
    sb = (None,) + tuple(b.sample_shape) if b_ps else tuple(b.shape)
    desc = _mm_describe(op, sa, a_ps, sb, b_ps)
    desc["args"].update(per_batch_a=int(per_batch[0]), per_batch_b=int(per_batch[1]))
    params = {"lhs": None if a_ps or per_batch[0] else a, "rhs": None if b_ps or per_batch[1] else b}
    constants = [v for v, ps in ops_ if not ps and not is_symbolic(v) and v is not x1 and v is not x2]
    inputs = [v for v in (a, b) if is_symbolic(v)]
    out = _mm_node(op, desc, desc["shape"][1:], inputs, params, constants, False)
    out._layer._row0 = frozenset(k for k, v in enumerate(inputs) if v._per_batch)  # PER_BATCH_A/B: row 0
    return out


def _mm_node(op, desc, sample, inputs, params, constants, per_batch):
    size = math.prod(sample)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("matmul", bufs, out, params=params, **desc["args"])
        return out

    return _trace.symbolic(op, sample, inputs, emit, constants, per_batch=per_batch)


def _mm_describe(op, sa, a_ps, sb, b_ps):
    """matmul's iargs and output shape from full shapes (None: a symbolic batch axis)."""
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"{_at(op)} takes tensors of rank >= 1. Received: shapes {sa} and {sb}")
    if b_ps and len(sb) <= 2:
        raise ValueError(
            f"{_at(op)}: the second operand of shape {sb} would contract over the batch axis. "
            "Expected a weight (K, units) or a per-sample tensor of rank >= 3."
        )
    a_vec, b_vec = len(sa) == 1, len(sb) == 1
    if a_ps and len(sa) == 1:
        raise ValueError(f"{_at(op)}: the first operand of shape {sa} would contract over the batch axis")
    ma = (1,) + tuple(sa) if a_vec else tuple(sa)
    mb = tuple(sb) + (1,) if b_vec else tuple(sb)
    rows_are_batch = a_ps and len(sa) == 2  # (None, K): each sample is one row
    if rows_are_batch:
        if len(mb) > 2:
            raise ValueError(
                f"{_at(op)}: shapes {sa} and {sb}: a stack of matrices against the batch's rows would "
                "move the batch axis. Expected a weight of shape (K, units)."
            )
        ma = (None, 1, sa[1])
    if ma[-1] != mb[-2]:
        raise ValueError(f"{_at(op)}: contraction dims differ: shapes {sa} and {sb} (expected {ma[-1]} == {mb[-2]})")
    fa, fb = ma[:-2], mb[:-2]
    fo = _trace.broadcast(op, [fa, fb]) if (fa or fb) else ()
    symbolic = a_ps or b_ps
    batch_dims = fo[1:] if symbolic and fo else fo
    flags = []
    for f in (fa, fb):
        aligned = (1,) * (len(fo) - len(f)) + tuple(f)
        own = aligned[1:] if symbolic and fo else aligned
        if tuple(own) == tuple(batch_dims):
            flags.append(0)
        elif all(d == 1 for d in own):
            flags.append(1)
        else:
            raise ValueError(
                f"{_at(op)}: shapes {sa} and {sb}: batch dims must be equal or all 1 "
                f"(partial broadcasting is not supported yet)"
            )
    M, K, C = int(ma[-2]), int(ma[-1]), int(mb[-1])
    shape = tuple(fo) + (M, C)
    if rows_are_batch:
        shape = (None, C)
    elif a_vec:
        shape = shape[:-2] + (C,)
    if b_vec:
        shape = shape[:-1]
    if symbolic and not rows_are_batch and not fo:
        raise ValueError(f"{_at(op)}: shapes {sa} and {sb} have no batch axis")
    batch = math.prod(batch_dims) if batch_dims else 1
    args = dict(batch=batch, m=M, k=K, cols=C, bcast_a=flags[0], bcast_b=flags[1])
    return {"shape": shape, "args": args}


dot = None  # set below: for rank <= 2 operands ops.dot is matmul


def _dot(x1, x2):
    """`ops.dot` for operands of rank <= 2 (matmul's contraction)."""
    if len(full_shape(x1)) > 2 or len(full_shape(x2)) > 2:
        raise ValueError(f"ops.dot supports operands of rank <= 2. Received: {full_shape(x1)} and {full_shape(x2)}")
    return matmul(x1, x2)


dot = _dot
dot.__name__ = "dot"


def cast(x, dtype):
    """x as `dtype`. Traced tensors stay float32 and take the cast's values: a bool cast is
    x != 0 (0.0/1.0), an integer cast truncates toward 0; neither passes a gradient."""
    if not is_symbolic(x):
        return np.asarray(x).astype(dtype)
    kind = np.dtype(dtype).kind
    if kind == "b":
        return not_equal(x, 0.0)
    if kind in "iu":
        return _unary("ops.cast", "trunc", x)
    if kind != "f":
        raise ValueError(f"{_at('ops.cast')}: traced tensors are float32. Received: dtype={dtype!r}")
    return x


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A NumPy array of x (a symbolic tensor is returned as is); `sparse` is ignored (a dense array
    comes back, as from Keras's backends without sparse tensors); pytrainc has no ragged tensors."""
    if ragged:
        raise ValueError(f"pytrainc has no ragged tensors. Received: ragged={ragged!r} (expected None or False)")
    if is_symbolic(x):
        return cast(x, dtype or "float32")
    arr = np.asarray(x)
    if dtype is not None:
        return arr.astype(dtype)
    return arr.astype(np.float32) if arr.dtype == np.float64 else arr


def shape(x):
    """Keras's shape tuple (None for a symbolic batch axis)."""
    return tuple(full_shape(x))


from pytrainc.ops import _batch, _compose, _shape  # noqa: E402 (they are written with the ops above)
from pytrainc.ops._shape import broadcast_to, concatenate, expand_dims, reshape, squeeze, transpose  # noqa: E402
from pytrainc.ops._compose import arange, einsum, logsumexp, one_hot, stack, std, tile, var  # noqa: E402
from pytrainc.ops._index import argmax, argmin, prod, split, take, take_along_axis  # noqa: E402
from pytrainc.ops import _creation  # noqa: E402
from pytrainc.ops._creation import convert_to_numpy, ones, zeros  # noqa: E402

size = _creation.size  # keras.ops.size (bound so: the kernels' emitters use `size` as a local name)


# pytrainc's own helpers in this namespace, not keras.ops functions (left out of the list above)
_HELPERS = {"as_array", "dims_args", "full_shape", "is_scalar", "is_symbolic", "is_variable", "mask_of"}


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"pytrainc.ops has no function {name!r}: keras.ops.{name} is not supported yet, in tracing or eagerly. "
        f"Supported: {sorted(n for n in globals() if n not in _HELPERS and not n.startswith('_') and callable(globals()[n]))}"
    )
