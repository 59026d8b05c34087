"""Activation functions by name, as `keras.activations`.

Each function computes on NumPy arrays (handy for checking results); inside a
model the same activation runs as a C kernel. `get` resolves a name or one of
these functions to its C kernel id.

A function of your own, `Dense(activation=fn)` (any layer's `activation`, or
`Activation(fn)`), is written with `pytrainc.ops` and these functions (with Keras's
arguments, e.g. `functools.partial(relu, negative_slope=0.1)`): it is traced once into
the plan's primitive ops after the layer's fused op (pytrainc/_activation_trace.py).
Register it with `saving.register_keras_serializable` (or pass `custom_objects`) to
load a saved model that uses it.
"""

import numpy as np

import math

from pytrainc import _C, _activation_trace

# The C kernel (by its name in `_C.ACTIVATIONS`, csrc/kinds.def) and the parameter
# Keras's string form of each activation uses.
_KINDS = {
    "linear": ("linear", 0.0),
    "relu": ("relu", 0.0),
    "sigmoid": ("sigmoid", 0.0),
    "tanh": ("tanh", 0.0),
    "softmax": ("softmax", 0.0),
    "leaky_relu": ("leaky_relu", 0.2),
    "elu": ("elu", 1.0),
    "selu": ("selu", 0.0),
    "gelu": ("gelu", 0.0),
    "hard_sigmoid": ("hard_sigmoid", 0.0),
    "softplus": ("softplus", 0.0),
    "softsign": ("softsign", 0.0),
    "swish": ("swish", 0.0),
    "silu": ("swish", 0.0),
    "log_softmax": ("log_softmax", 0.0),
    "relu6": ("relu6", 0.0),
    "mish": ("mish", 0.0),
    "hard_tanh": ("hard_tanh", 0.0),
    "log_sigmoid": ("log_sigmoid", 0.0),
    "tanh_shrink": ("tanh_shrink", 0.0),
    "exponential": ("exponential", 0.0),
    "celu": ("celu", 1.0),
    "hard_silu": ("hard_silu", 0.0),
    "hard_swish": ("hard_silu", 0.0),
    "squareplus": ("squareplus", 4.0),
    "sparse_plus": ("sparse_plus", 0.0),
    "hard_shrink": ("hard_shrink", 0.5),
    "soft_shrink": ("soft_shrink", 0.5),
    "sparse_sigmoid": ("sparse_sigmoid", 0.0),
    "sparsemax": ("sparsemax", 0.0),
}
# Activations composed from pytrainc.ops (their output shape or arguments differ from x's):
# layers.Activation traces them; Dense(activation=...) refuses them.
_COMPOSED = ("glu",)


def linear(x):
    """Identity: `linear(x) = x`."""
    return np.asarray(x, dtype=np.float32)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: `max(x, 0)`; with Keras's options, `x` where `x > threshold` (else 0)
    clipped to `[0, max_value]`, minus `negative_slope * max(threshold - x, 0)`."""
    x = np.asarray(x, dtype=np.float32)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return np.maximum(x, 0)
    x64 = x.astype(np.float64)
    out = np.where(x64 > threshold, x64, 0.0) if threshold != 0 else np.maximum(x64, 0)
    if max_value is not None:
        out = np.clip(out, 0.0, max_value)
    return (out - negative_slope * np.maximum(threshold - x64, 0)).astype(np.float32)


def sigmoid(x):
    """Logistic sigmoid: `1 / (1 + exp(-x))`."""
    x = np.asarray(x, dtype=np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(np.asarray(x, dtype=np.float32))


def softmax(x, axis=-1):
    """Softmax over `axis`: `exp(x) / sum(exp(x))`, computed with the max subtracted."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def leaky_relu(x, negative_slope=0.2):
    """`x` if `x > 0` else `negative_slope * x`."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(x > 0, x, negative_slope * x).astype(np.float32)


def elu(x, alpha=1.0):
    """`x` if `x > 0` else `alpha * (exp(x) - 1)`."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(np.float32)


def selu(x):
    """Scaled ELU (Klambauer et al., 2017) with Keras's constants."""
    return (1.0507009873554805 * elu(x, 1.6732632423543772)).astype(np.float32)


def gelu(x, approximate=False):
    """Gaussian error linear unit: `x * P(X <= x)`, X ~ N(0, 1); tanh form when approximate."""
    x = np.asarray(x, dtype=np.float64)
    if approximate:
        y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1 + np.vectorize(math.erf, otypes=[float])(x / math.sqrt(2))) if x.size else x
    return np.asarray(y, dtype=np.float32)


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid: `relu6(x + 3) / 6`."""
    return np.clip(np.asarray(x, dtype=np.float32) / 6 + 0.5, 0, 1).astype(np.float32)


def softplus(x):
    """`log(1 + exp(x))`, computed stably."""
    x = np.asarray(x, dtype=np.float64)
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(np.float32)


def softsign(x):
    """`x / (1 + |x|)`."""
    x = np.asarray(x, dtype=np.float32)
    return x / (1 + np.abs(x))


def swish(x):
    """`x * sigmoid(x)` (also called silu)."""
    x = np.asarray(x, dtype=np.float64)
    return (x * 0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


silu = swish


def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` over `axis`."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=axis, keepdims=True)
    return (x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).astype(np.float32)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return np.clip(_f64(x), 0, 6).astype(np.float32)


def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019)."""
    x = _f64(x)
    return (x * np.tanh(softplus(x).astype(np.float64))).astype(np.float32)


def hard_tanh(x):
    """`clip(x, -1, 1)`."""
    return np.clip(_f64(x), -1, 1).astype(np.float32)


def log_sigmoid(x):
    """`log(sigmoid(x)) = -softplus(-x)`, computed stably."""
    x = _f64(x)
    return (-(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))).astype(np.float32)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    x = _f64(x)
    return (x - np.tanh(x)).astype(np.float32)


def exponential(x):
    """`exp(x)`."""
    return np.exp(_f64(x)).astype(np.float32)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)`."""
    x = _f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha)).astype(np.float32)


def hard_silu(x):
    """`x * relu6(x + 3) / 6` (also called hard_swish)."""
    x = _f64(x)
    return (x * np.clip(x + 3, 0, 6) / 6).astype(np.float32)


hard_swish = hard_silu


def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2` (Barron, 2021)."""
    x = _f64(x)
    return ((x + np.sqrt(x * x + b)) / 2).astype(np.float32)


def sparse_plus(x):
    """0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)**2 / 4` between."""
    x = _f64(x)
    return np.where(x <= -1, 0.0, np.where(x >= 1, x, 0.25 * (x + 1) ** 2)).astype(np.float32)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    x = _f64(x)
    return np.where(np.abs(x) > threshold, x, 0.0).astype(np.float32)


def soft_shrink(x, threshold=0.5):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""
    x = _f64(x)
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0)).astype(np.float32)


def sparse_sigmoid(x):
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between (Blondel et al., 2019)."""
    x = _f64(x)
    return np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, 0.5 * (x + 1))).astype(np.float32)


def sparsemax(x, axis=-1):
    """`max(x - tau, 0)` with `tau` making each slice along `axis` sum to 1 (Martins & Astudillo, 2016)."""
    x = np.moveaxis(_f64(x), axis, -1)
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cum = np.cumsum(z, axis=-1)
    support = np.sum(1 + k * z > cum, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cum, support - 1, axis=-1) - 1) / support
    return np.moveaxis(np.maximum(x - tau, 0.0), -1, axis).astype(np.float32)


def glu(x, axis=-1):
    """Gated linear unit (Dauphin et al., 2017): `a * sigmoid(b)`, x split into halves a, b along
    `axis`. Works on arrays and, inside a model, on symbolic tensors (traced from pytrainc.ops)."""
    from pytrainc import ops

    a, b = ops.split(x, 2, axis=axis)
    return ops.multiply(a, ops.sigmoid(b))


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`, on arrays or symbolic tensors."""
    from pytrainc import ops
    from pytrainc.ops._trace import is_symbolic

    if not is_symbolic(x):
        x = np.asarray(x, np.float32)
        return np.where(x > threshold, x, np.float32(default_value)).astype(np.float32)
    return ops.where(ops.greater(x, threshold), x, float(default_value))


_FUNCTIONS = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "hard_sigmoid": hard_sigmoid,
    "softplus": softplus,
    "softsign": softsign,
    "swish": swish,
    "log_softmax": log_softmax,
    "relu6": relu6,
    "mish": mish,
    "hard_tanh": hard_tanh,
    "log_sigmoid": log_sigmoid,
    "tanh_shrink": tanh_shrink,
    "exponential": exponential,
    "celu": celu,
    "hard_silu": hard_silu,
    "squareplus": squareplus,
    "sparse_plus": sparse_plus,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "glu": glu,
}


def _dispatching(name, fn):
    """fn on arrays; on a symbolic tensor (a traced function) the fused activation op."""
    import functools

    @functools.wraps(fn)
    def activation(x, *args, **kwargs):
        from pytrainc.ops._trace import is_symbolic

        if is_symbolic(x):
            return _activation_trace.symbolic(name, x, args, kwargs)
        return fn(x, *args, **kwargs)

    return activation


for _name in list(_FUNCTIONS):
    if _name not in ("glu",):  # glu composes pytrainc.ops itself
        _FUNCTIONS[_name] = globals()[_name] = _dispatching(_name, _FUNCTIONS[_name])
silu = swish


def get(identifier):
    """Return the canonical name of an activation.

    Args:
        identifier: None (linear), a name such as `'relu'`, or one of this
            module's functions.

    Returns:
        The activation's name, a key of the C kernel table.

    Raises:
        ValueError: for an unknown name or function.
    """
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        if identifier in _KINDS or identifier in _COMPOSED:
            return identifier
        from pytrainc.saving import object_registration

        custom = object_registration.find([identifier])  # a registered function (or custom_objects)
        if callable(custom) and not isinstance(custom, type):
            return custom
        raise ValueError(f"Unknown activation: '{identifier}'. Expected one of {sorted(_KINDS)}")
    for name, fn in _FUNCTIONS.items():
        if identifier is fn:
            return name
    import inspect

    if callable(identifier) and not isinstance(identifier, type) and not inspect.isbuiltin(identifier):
        # a function of your own, traced (a builtin such as len cannot run on symbolic tensors)
        return identifier
    raise ValueError(
        f"Unknown activation: {identifier!r}. Expected a name in {sorted(_KINDS)} or a function of pytrainc.activations"
    )


def kind_and_alpha(name):
    """The C kernel id and parameter of an activation name."""
    name = get(name)
    if callable(name):
        raise ValueError(
            f"Activation {getattr(name, '__name__', name)!r} is a function of your own, traced into the plan as "
            "primitive ops: it has no single kernel (exports take the built-in activations)"
        )
    if name in _COMPOSED:
        raise ValueError(
            f"Activation '{name}' changes the shape of its input: use layers.Activation('{name}') after the "
            f"layer, or activations.{name} in a custom layer. Received: activation='{name}' on a layer"
        )
    kernel, alpha = _KINDS[name]
    return _C.ACTIVATIONS[kernel], alpha


def serialize(activation):
    """The activation's name, as Keras 3 serializes a built-in activation (a function of your
    own: its registered name)."""
    activation = get(activation)
    return activation if isinstance(activation, str) else _activation_trace.serialize(activation)


def deserialize(config, custom_objects=None):
    """The activation a name (or Keras's `{"class_name": "function", "config": name}`) denotes;
    `custom_objects` may map names to activation functions of your own."""
    from pytrainc.saving import serialization_lib

    if custom_objects and isinstance(config, str) and config in custom_objects:
        return custom_objects[config]
    config = serialization_lib.deserialize_in("keras.activations", config, custom_objects)
    if callable(config) and config not in _FUNCTIONS.values():
        return config  # a custom function, registered or given
    name = get(config)
    return _FUNCTIONS.get(name, name)
