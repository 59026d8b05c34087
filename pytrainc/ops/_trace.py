"""The machinery behind `pytrainc.ops`: operand classification, NumPy-rule shape inference,
symbolic op nodes that emit plan ops, and the eager runner through `_C.run_op`.

An op on a symbolic tensor (`KerasTensor`) records an `OpNode`, which the plan builder
emits like a layer (csrc/prim.c describes the kernels and how operands that are not per
sample enter them). The same op on arrays runs eagerly through the same C kernel, on one
"sample" holding the whole array (so eager arrays have rank <= 5).
"""

import math

import numpy as np

from pytrainc import _C

MAX_SAMPLE_RANK = 5  # D1..D5 in csrc/ops.def: rank <= 6 with the batch axis

_TRACING = []  # layers whose call is being traced, innermost last
_INPUTS = []  # the placeholder inputs of each traced call, in step with _TRACING
_CONSTANTS = [0]


def tracing_layer():
    return _TRACING[-1] if _TRACING else None


def trace_input():
    """A placeholder input of the innermost traced call (an op that reads only the batch size
    hangs from it), or None outside tracing."""
    return _INPUTS[-1][0] if _INPUTS and _INPUTS[-1] else None


def where(op):
    """' in layer 'name'' when tracing, for error messages."""
    ctx = tracing_layer()
    return f"{op} (in {label(ctx)})" if ctx is not None else op


def label(ctx):
    """ "layer 'name'" or "loss 'name'": what is being traced."""
    return getattr(ctx, "_trace_label", f"layer '{ctx.name}'")


def _keras_tensor_cls():
    from pytrainc.layers.core import KerasTensor

    return KerasTensor


def _variable_cls():
    from pytrainc.layers.core import Variable

    return Variable


def is_symbolic(x):
    return isinstance(x, _keras_tensor_cls())


def is_variable(x):
    return isinstance(x, _variable_cls())


def is_scalar(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def full_shape(x):
    """Keras's shape: (None, ...) for a symbolic tensor, the array's shape otherwise."""
    if is_symbolic(x):
        return tuple(x.shape)
    if is_variable(x):
        return tuple(x.shape)
    return np.shape(x)


def as_array(x, op):
    """x as a float32 array for an eager op (a Variable reads its current value; in a layer's
    traced call that would make the weight a constant that never trains, so Variable.__array__
    refuses it there)."""
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"{op} expects tensors, arrays or numbers. Received: {type(x).__name__}") from None
    if arr.ndim > MAX_SAMPLE_RANK:
        raise ValueError(f"{op} runs eagerly on arrays of rank <= {MAX_SAMPLE_RANK}. Received: shape={arr.shape}")
    return arr


def pad_dims(dims):
    """Per-sample dims left-padded with 1 to D1..D5."""
    dims = tuple(int(d) for d in dims)
    return (1,) * (MAX_SAMPLE_RANK - len(dims)) + dims


def dims_args(dims):
    return {f"d{j + 1}": d for j, d in enumerate(pad_dims(dims))}


def transpose_args(dims, perm):
    """The transpose op's named arguments: per-sample dims and output axis j = input axis perm[j]."""
    pad = MAX_SAMPLE_RANK - len(dims)
    P = list(range(pad)) + [pad + p for p in perm]
    return {**dims_args(dims), **{f"p{j + 1}": p for j, p in enumerate(P)}}


def emit_transpose(builder, buf, dims, perm):
    """Emits a transpose of the per-sample axes of `buf` (sample shape `dims`) and returns its output."""
    out = builder.buffer(math.prod(dims))
    builder.op("transpose", [buf], out, **transpose_args(dims, perm))
    return out


def mask_of(operand_dims, rank):
    """Bit j of D(j+1) set where the right-aligned operand has extent 1 (or no axis)."""
    padded = (1,) * (MAX_SAMPLE_RANK - len(operand_dims)) + tuple(operand_dims)
    return sum(1 << j for j, d in enumerate(padded) if d == 1)


def broadcast(op, shapes):
    """NumPy's broadcast of right-aligned shapes (None for the batch axis), with Keras's message."""
    rank = max(len(s) for s in shapes)
    out = []
    for j in range(rank):
        dims = {s[len(s) - rank + j] for s in shapes if len(s) - rank + j >= 0} - {1}
        if len(dims) > 1:
            raise ValueError(f"{where(op)}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


class OpNode:
    """One primitive op recorded on symbolic tensors; emitted into the plan as a layer would be.

    operands: per-sample tensors (`KerasTensor`, in `inputs` order) and parameter operands
    (a Variable or a hidden constant), each given to `emit` through `slots`.
    """

    _is_op_node = True
    trainable = True
    weights = ()
    # A per-batch op on per-batch operands alone runs once per batch, on row 0 (its ops flagged
    # per_batch); another op reads such a tensor through a batch_broadcast filling every row,
    # except the inputs in _row0, which it reads at row 0 itself (matmul's PER_BATCH_A/B).
    _compact = False
    _row0 = frozenset()

    def __init__(self, op, emit, constants=()):
        self.name = op
        self._emit_fn = emit
        self._constants = list(constants)

    def _emit(self, builder, in_bufs, in_shapes):
        if not self._compact:
            return self._emit_fn(
                builder, [b if k in self._row0 else rows_of(builder, b) for k, b in enumerate(in_bufs)]
            )
        start = builder.n_ops
        out = self._emit_fn(builder, in_bufs)
        for i in range(start, builder.n_ops):
            builder.set_flag(i, "per_batch")
        if builder.n_ops > start:
            _row0_buffers(builder).setdefault(out, None)
        return out

    def count_params(self):  # a row of model.summary() (its constants are not weights)
        return 0

    def __repr__(self):
        return f"<OpNode {self.name}>"


def _row0_buffers(builder):
    """{buffer of a per-batch tensor computed on row 0 only: its batch_broadcast's buffer, or None}."""
    return builder.__dict__.setdefault("_per_batch_rows", {})


def rows_of(builder, buf):
    """buf with every row filled: for a per-batch tensor computed on row 0 only, a batch_broadcast
    of it (emitted once), for any other buffer buf itself."""
    rows = _row0_buffers(builder)
    if buf not in rows:
        return buf
    if rows[buf] is None:
        rows[buf] = builder.buffer(builder.sizes[buf])
        builder.op("batch_broadcast", [buf], rows[buf])
    return rows[buf]


def constant(value, op):
    """A hidden non-trainable Variable holding a constant operand of a traced op."""
    Variable = _variable_cls()
    _CONSTANTS[0] += 1
    value = np.ascontiguousarray(value, dtype=np.float32)
    return Variable(f"{op}/constant_{_CONSTANTS[0]}", value.copy(), trainable=False)


def symbolic(op, shape, inputs, emit, constants=(), per_batch=None):
    """A KerasTensor of per-sample shape `shape` produced by a new OpNode; with per_batch=True a
    per-batch tensor of shape `shape` (no batch axis). per_batch=None: the op takes per-sample
    tensors only, and refuses a per-batch one clearly."""
    KerasTensor = _keras_tensor_cls()
    if per_batch is None:
        batch = next((t for t in inputs if t._per_batch), None)
        if batch is not None:
            raise ValueError(
                f"{where(op)} does not take a per-batch tensor yet (shape {batch.shape}: a reduction over the "
                "batch axis or a weight read in a traced call). Per-batch tensors take elementwise ops "
                "(arithmetic, comparisons, sqrt, rsqrt, ...), reductions, matmul/dot/einsum, shape and indexing "
                "ops (reshape, transpose, concatenate, take, slicing, ...) and Variable.assign."
            )
    if len(shape) > MAX_SAMPLE_RANK:
        if per_batch:
            raise ValueError(
                f"{where(op)}: per-batch tensors (weights read in a traced call, batch reductions) have rank "
                f"<= {MAX_SAMPLE_RANK}. Received: shape={tuple(shape)}"
            )
        raise ValueError(
            f"{where(op)}: tensors have rank <= {MAX_SAMPLE_RANK + 1} with the batch axis. "
            f"Received: shape={(None,) + tuple(shape)}"
        )
    node = OpNode(op, emit, constants)
    out = KerasTensor(shape, layer=node, inputs=inputs)
    if per_batch:
        out.shape, out._per_batch = tuple(shape), True
        node._compact = bool(inputs) and all(t._per_batch for t in inputs)
    return out


def emit_nodes(builder, nodes, bufs):
    """Emits the traced tensors `nodes` (parents first) not emitted yet; bufs[id(tensor)] holds their buffers."""
    for t in nodes:
        if id(t) not in bufs:
            bufs[id(t)] = t._layer._emit(builder, [bufs[id(p)] for p in t._inputs], [p.sample_shape for p in t._inputs])


def is_per_batch(x):
    return is_symbolic(x) and x._per_batch


def run_eager(name, ins, out_size, rng_state=None, **args):
    """Runs op `name` on one sample: ins are float32 arrays, flattened to (1, size); an op that
    draws (random, dropout) runs in training mode from generator state rng_state."""
    spec = _C.OPS[name]
    from pytrainc._plan import pack_named

    iargs = pack_named(
        spec["iargs"], {k: v for k, v in args.items() if k in spec["iargs"]}, name, np.int64, _C.MAX_IARG
    )
    fargs = pack_named(
        spec["fargs"], {k: v for k, v in args.items() if k not in spec["iargs"]}, name, np.float64, _C.MAX_FARG
    )
    flat = [np.ascontiguousarray(np.asarray(x, np.float32).reshape(1, -1)) for x in ins]
    out, _, _ = _C.run_op(
        spec["id"],
        flat,
        int(out_size),
        np.zeros(0, np.float32),
        np.full(_C.MAX_PARAM, -1, np.int64),
        iargs,
        fargs,
        None,
        rng_state is not None,
        rng_state,
    )
    return out


class FunctionWrapper:
    """Shared by LossFunctionWrapper and MeanMetricWrapper: a user function `fn(y_true, y_pred)`
    traced as the object's `call`; its config holds only the name (loading never runs code)."""

    _what = "loss"  # the compile argument that takes it

    def _wrap(self, fn, kwargs):
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        from pytrainc.saving import object_registration

        return {"name": self.name, "fn": object_registration.get_registered_name(self.fn)}

    @classmethod
    def from_config(cls, config):
        """The wrapper of the custom function the config names (registered or in `custom_objects`)."""
        import inspect

        from pytrainc.saving import object_registration

        config = dict(config)
        fn = object_registration.find([config.pop("fn", None), config.get("name")])
        if inspect.isfunction(fn) or inspect.isbuiltin(fn):
            config.pop("reduction", None)  # Keras's, the one pytrainc implements
            return cls(fn, name=config.pop("name", None), **config)
        raise ValueError(
            f"{cls._what.capitalize()} {config.get('name')!r} is a Python function: loading never runs code. "
            f"{object_registration.LOAD_HINT}; or pass it again, e.g. compile({cls._what}=...)."
        )


def sample_size(shape):
    return math.prod(shape)
