"""Activation functions by name, as `keras.activations`.

Each function computes on NumPy arrays (handy for checking results); inside a
model the same activation runs as a C kernel. `get` resolves a name or one of
these functions to its C kernel id.
"""

import numpy as np

# ids of csrc/ptc.h's ptc_act_kind
_KINDS = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4}


def linear(x):
    """Identity: `linear(x) = x`."""
    return np.asarray(x, dtype=np.float32)


def relu(x):
    """Rectified linear unit: `max(x, 0)`."""
    return np.maximum(np.asarray(x, dtype=np.float32), 0)


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


_FUNCTIONS = {"linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}


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
        if identifier in _KINDS:
            return identifier
        raise ValueError(f"Unknown activation: '{identifier}'. Expected one of {sorted(_KINDS)}")
    for name, fn in _FUNCTIONS.items():
        if identifier is fn:
            return name
    raise ValueError(f"Unknown activation: {identifier!r}. Expected a name in {sorted(_KINDS)} "
                     "or a function of pytrainc.activations")


def kind(name):
    """The C kernel id of an activation name."""
    return _KINDS[get(name)]


def serialize(identifier):
    return get(identifier)


def deserialize(name):
    return get(name)
