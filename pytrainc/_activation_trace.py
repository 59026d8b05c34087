"""Activation functions of your own in layers: `Dense(activation=fn)`, `Conv2D(activation=fn)`,
`Activation(fn)` with `fn` written with `pytrainc.ops` (or `pytrainc.activations` functions with
Keras's arguments, e.g. `functools.partial(activations.relu, negative_slope=0.1)`). The function
is traced once per output shape into primitive ops that the plan runs after the layer's fused op.

`pytrainc.activations`' functions called on a symbolic tensor become the fused activation op
with the C kernel their arguments name (`symbolic`).
"""

import math
import weakref

from pytrainc import _C

# name -> {argument: (default, C kernel name when the argument differs from its default)}; an
# activation's other arguments must keep their defaults when traced.
_ARGUMENT_KINDS = {
    "relu": {"negative_slope": (0.0, "leaky_relu"), "max_value": (None, None), "threshold": (0.0, None)},
    "leaky_relu": {"negative_slope": (0.2, "leaky_relu")},
    "elu": {"alpha": (1.0, "elu")},
    "celu": {"alpha": (1.0, "celu")},
    "squareplus": {"b": (4, "squareplus")},
    "hard_shrink": {"threshold": (0.5, "hard_shrink")},
    "soft_shrink": {"threshold": (0.5, "soft_shrink")},
    "gelu": {"approximate": (False, "gelu_tanh")},
    "softmax": {"axis": (-1, None)},
    "log_softmax": {"axis": (-1, None)},
    "sparsemax": {"axis": (-1, None)},
}
_ALIASES = {"silu": "swish"}


def _kernel(name, shape, args, kwargs):
    """The C activation kind and alpha of `name(x, *args, **kwargs)` on a symbolic x of `shape`."""
    from pytrainc import activations

    spec = _ARGUMENT_KINDS.get(name, {})
    if len(args) > len(spec):
        raise TypeError(f"activations.{name} takes {len(spec)} arguments after x. Received: {len(args)}")
    given = {**dict(zip(spec, args)), **kwargs}
    unknown = set(given) - set(spec)
    if unknown:
        raise TypeError(f"activations.{name} got unexpected arguments {sorted(unknown)}")
    kernel, alpha = activations._KINDS[_ALIASES.get(name, name)]
    for arg, value in given.items():
        default, kind = spec[arg]
        if arg == "axis" and value is not None and value in (-1, len(shape) - 1):
            continue
        if value == default:
            continue
        if kind is None or (name == "relu" and (given.get("max_value") is not None or given.get("threshold", 0.0))):
            raise ValueError(
                f"activations.{name} in a traced function: {arg}={value!r} has no C kernel (supported: "
                f"{', '.join(a for a, (_, k) in spec.items() if k) or 'none'}). Received: {arg}={value!r}"
            )
        kernel = kind
        alpha = 0.0 if kind == "gelu_tanh" else float(value)
    return _C.ACTIVATIONS[kernel], alpha


def symbolic(name, x, args, kwargs):
    """`activations.<name>(x, ...)` on a symbolic tensor: one fused activation op over the last axis."""
    from pytrainc.ops import _trace

    if name == "linear":
        return x
    shape = tuple(x.sample_shape)
    kind, alpha = _kernel(name, shape, args, kwargs)
    width, size = (shape[-1] if shape else 1), math.prod(shape)

    def emit(builder, bufs):
        out = builder.buffer(size)
        builder.op("activation", bufs, out, kind=kind, width=width, alpha=alpha)
        return out

    return _trace.symbolic(f"activations.{name}", shape, [x], emit)


class _Context:
    """The tracing context of an activation function (for error messages)."""

    def __init__(self, fn, where):
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._trace_label = f"activation {self.name!r}{where}"


_TRACES = weakref.WeakKeyDictionary()  # fn -> {per-sample shape: (placeholder, out, order, constants)}


def trace(fn, shape, where=""):
    """Traces the activation function `fn` once on a placeholder of per-sample `shape`; `where`
    (e.g. " of layer 'dense'") completes error messages."""
    from pytrainc.layers import _tracing
    from pytrainc.layers.core import KerasTensor
    from pytrainc.ops import _trace

    traces = _TRACES.setdefault(fn, {})
    key = tuple(shape)
    if key not in traces:
        context, ph = _Context(fn, where), KerasTensor(key)
        _trace._TRACING.append(context)
        _trace._INPUTS.append([ph])
        try:
            out = fn(ph)
        finally:
            _trace._TRACING.pop()
            _trace._INPUTS.pop()
        if not isinstance(out, KerasTensor):
            raise TypeError(
                f"The {context._trace_label} must return a tensor computed from its input with pytrainc.ops. "
                f"Received: {type(out).__name__}"
            )
        if tuple(out.sample_shape) != key:
            raise ValueError(
                f"The {context._trace_label} must keep its input's shape {(None,) + key}. "
                f"Received: {(None,) + tuple(out.sample_shape)}"
            )
        order = _tracing._graph(context, out, [ph])
        constants = [c for t in order for c in getattr(t._layer, "_constants", ())]
        traces[key] = (ph, out, order, constants)
    return traces[key]


def constants(fn):
    """The constant operands of fn's traces (hidden parameters of the plan)."""
    if not callable(fn):
        return []
    return [c for *_, found in _TRACES.get(fn, {}).values() for c in found]


def emit(builder, in_buf, shape, fn):
    """The traced activation's ops after in_buf; returns its output buffer."""
    ph, out, order, _ = trace(fn, shape)
    bufs = {id(ph): in_buf}
    for t in order:
        bufs[id(t)] = t._layer._emit(builder, [bufs[id(p)] for p in t._inputs], [p.sample_shape for p in t._inputs])
    return bufs[id(out)]


def serialize(fn):
    """A layer config's form of fn: its registered name (loading finds it by it, never running code)."""
    from pytrainc.saving import object_registration

    if fn in object_registration.GLOBAL_CUSTOM_NAMES:
        return object_registration.GLOBAL_CUSTOM_NAMES[fn]
    return getattr(fn, "__name__", None) or repr(fn)
