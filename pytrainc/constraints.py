"""Weight constraints, as `keras.constraints`: projections applied to a weight after each update.

A layer's `kernel_constraint=` (and the other `*_constraint` arguments, or
`add_weight(constraint=)`) is applied by the C engine right after the optimizer step, every
step of the epoch's C call, as Keras 3's `BaseOptimizer.apply` does (also after
`train_on_batch`). Calling a constraint on an array runs the same C kernel eagerly.

The plan applies the four built-in constraints. A user-defined `Constraint` subclass (or any
callable) works eagerly on arrays, but a model that trains a weight with one is refused when
its plan is compiled: the plan has no room for Python code after the optimizer step (it would
run once per batch, outside the epoch's C call), and a constraint is not traced into the plan.
"""

import numbers

import numpy as np

from pytrainc import _C

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "unit_norm",
    "get",
    "serialize",
    "deserialize",
]


def _check_axis(axis, cls):
    """Keras's `axis`: an int, a list or tuple of ints, or None (every axis)."""
    if axis is None or (isinstance(axis, numbers.Integral) and not isinstance(axis, bool)):
        return axis if axis is None else int(axis)
    if isinstance(axis, (list, tuple)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
    ):
        return type(axis)(int(a) for a in axis)
    raise ValueError(f"{cls}: `axis` must be an int, a list of ints or None. Received: axis={axis!r}")


def _check_value(name, value, cls):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{cls}: `{name}` must be a finite number. Received: {name}={value!r}")
    return value


def _axes_mask(axis, rank, what):
    """The bit mask of the reduced axes of a weight of rank `rank` (Keras's axis, keepdims)."""
    if axis is None:
        return (1 << rank) - 1
    axes = [axis] if isinstance(axis, int) else list(axis)
    mask = 0
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{what}: axis {a} is out of bounds for a weight of rank {rank}. Received: axis={axis!r}")
        mask |= 1 << (a % rank)
    return mask


class Constraint:
    """Base class for weight constraints, as `keras.constraints.Constraint`.

    A constraint is a stateless function of a weight: `__call__(w)` returns its projection.
    The base class returns `w` unchanged. A subclass overriding `__call__` runs eagerly on
    arrays; only the built-in constraints are applied while training (see the module's
    docstring).

    Example:

    >>> pytrainc.constraints.NonNeg()(np.array([-1.0, 1.0], dtype="float32"))
    array([0., 1.], dtype=float32)
    """

    _kind = None  # the C kind of a built-in constraint

    def __call__(self, w):
        """The projected weight (the base class: `w` unchanged)."""
        return w

    def get_config(self):
        """The arguments that rebuild this constraint with `from_config` (JSON-serializable)."""
        return {}

    @classmethod
    def from_config(cls, config):
        """A constraint from what `get_config` returned."""
        return cls(**config)

    def _values(self):
        return (0.0, 0.0, 1.0)  # min_value, max_value, rate

    def _axis(self):
        return None

    def _row(self, shape, offset, what):
        """The C table row ([offset, kind, rank, axes, dims...], [min, max, rate]) on a weight."""
        rank, width = len(shape), _C.CONSTRAINT_ROW["width"]
        if rank > _C.CONSTRAINT_ROW["max_rank"]:
            raise ValueError(
                f"{what}: constraints apply to weights of rank {_C.CONSTRAINT_ROW['max_rank']} at most. "
                f"Received: shape={tuple(shape)}"
            )
        kind = _C.CONSTRAINTS[self._kind]
        axes = 0 if self._kind == "non_neg" else _axes_mask(self._axis(), rank, what)
        row = [int(offset), kind, rank, axes, *shape] + [1] * (width - 4 - rank)
        return row, [float(v) for v in self._values()]

    def _eager(self, w):
        """Applies this built-in constraint to a copy of w through the C kernel."""
        if hasattr(w, "numpy") and not isinstance(w, np.ndarray):
            w = w.numpy()
        out = np.array(w, dtype=np.float32, order="C", copy=True)
        row, values = self._row(out.shape, 0, type(self).__name__)
        _C.constraint_apply(np.array([row], dtype=np.int64), np.array([values], dtype=np.float64), out)
        return out


class MaxNorm(Constraint):
    """Constrains the norm of the weights incident to each unit to at most `max_value`.

    Keras's formula: `w * clip(norms, 0, max_value) / (epsilon + norms)`, the norms taken over
    `axis` (kept), epsilon 1e-7.

    Args:
        max_value: Maximum norm. Defaults to 2.
        axis: Int or list of ints, the axes of the norms: 0 for a Dense kernel (each unit's
            incoming weights), `[0, 1, 2]` for a Conv2D kernel (each filter). Defaults to 0.

    Example:

    >>> layer = pytrainc.layers.Dense(4, kernel_constraint=pytrainc.constraints.MaxNorm(2.0))
    """

    _kind = "max_norm"

    def __init__(self, max_value=2, axis=0):
        self.max_value = _check_value("max_value", max_value, "MaxNorm")
        self.axis = _check_axis(axis, "MaxNorm")

    __call__ = Constraint._eager

    def _values(self):
        return (0.0, self.max_value, 1.0)

    def _axis(self):
        return self.axis

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Constrains the weights to be non-negative: `maximum(w, 0)`.

    Example:

    >>> layer = pytrainc.layers.Dense(4, kernel_constraint=pytrainc.constraints.NonNeg())
    """

    _kind = "non_neg"

    __call__ = Constraint._eager


class UnitNorm(Constraint):
    """Constrains the weights incident to each unit to unit norm: `w / (epsilon + norms)`.

    Args:
        axis: Int or list of ints, the axes of the norms (see `MaxNorm`). Defaults to 0.

    Example:

    >>> layer = pytrainc.layers.Dense(4, kernel_constraint=pytrainc.constraints.UnitNorm())
    """

    _kind = "unit_norm"

    def __init__(self, axis=0):
        self.axis = _check_axis(axis, "UnitNorm")

    __call__ = Constraint._eager

    def _axis(self):
        return self.axis

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Constrains the norm of the weights incident to each unit to `[min_value, max_value]`.

    Keras's formula: `w * (rate * clip(norms, min_value, max_value) + (1 - rate) * norms) /
    (epsilon + norms)`; `rate=1.0` enforces the bounds strictly, a smaller rate moves the
    norms toward them at each step.

    Args:
        min_value: Minimum norm. Defaults to 0.0.
        max_value: Maximum norm. Defaults to 1.0.
        rate: Rate of enforcement. Defaults to 1.0.
        axis: Int or list of ints, the axes of the norms (see `MaxNorm`). Defaults to 0.

    Example:

    >>> constraint = pytrainc.constraints.MinMaxNorm(min_value=0.5, max_value=1.0)
    """

    _kind = "min_max_norm"

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _check_value("min_value", min_value, "MinMaxNorm")
        self.max_value = _check_value("max_value", max_value, "MinMaxNorm")
        self.rate = _check_value("rate", rate, "MinMaxNorm")
        self.axis = _check_axis(axis, "MinMaxNorm")

    __call__ = Constraint._eager

    def _values(self):
        return (self.min_value, self.max_value, self.rate)

    def _axis(self):
        return self.axis

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_BUILTIN = (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
_CLASSES = {cls.__name__: cls for cls in (Constraint,) + _BUILTIN}
_NAMES = {
    **_CLASSES,
    "constraint": Constraint,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}


def serialize(constraint):
    """Keras's serialization of a constraint (`keras.constraints.serialize`), None for None."""
    from pytrainc.saving import serialization_lib

    return serialization_lib.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint a `serialize` dict describes, as `keras.constraints.deserialize`.

    Args:
        config: A dict `{"class_name", "config", ...}` (or None).
        custom_objects: Optional dict of name to Constraint subclass. Defaults to None.
    """
    from pytrainc.saving import serialization_lib

    return serialization_lib.deserialize_keras_object(config, module_objects=_CLASSES, custom_objects=custom_objects)


def get(identifier):
    """A constraint from None, a name ('max_norm', 'NonNeg', ...), a config dict, a class or a callable.

    Raises:
        ValueError: for anything else, or a config dict of an unknown class or with arguments its
            class does not take.
    """
    if identifier is None:
        return None
    obj = identifier
    if isinstance(identifier, dict):
        try:
            obj = deserialize(identifier)
        except TypeError as e:  # an unknown class or a config its class does not take
            raise ValueError(f"Could not interpret constraint identifier: {identifier!r:.200}. {e}") from e
    elif isinstance(identifier, str):
        obj = _NAMES.get(identifier)
        if obj is None:
            raise ValueError(
                f"Could not interpret constraint identifier: {identifier!r}. Expected one of {sorted(_NAMES)}, "
                "a config dict, a Constraint or a callable"
            )
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
    return obj


def _plan_tables(weights):
    """The C tables of the trained weights' constraints: rows (n, CONSTRAINT_ROW width) and values (n, 3).

    Args:
        weights: (variable, offset in the flat parameters) of each trainable weight with a constraint.

    Raises:
        NotImplementedError: for a user-defined constraint (not applied inside the plan).
    """
    rows, values = [], []
    for var, offset in weights:
        c = var.constraint
        if type(c) is Constraint:  # the identity
            continue
        builtin = next((cls for cls in _BUILTIN if isinstance(c, cls)), None)
        if builtin is None or type(c).__call__ is not builtin.__call__:
            raise NotImplementedError(
                f"Weight '{var.name}' has a user-defined constraint {c!r:.80}: the C engine applies "
                "pytrainc.constraints.MaxNorm, MinMaxNorm, NonNeg and UnitNorm after each optimizer step, "
                "not Python code. Use one of them (or a subclass that keeps their __call__)."
            )
        row, vals = c._row(var.shape, offset, f"Weight '{var.name}'")
        rows.append(row)
        values.append(vals)
    width = _C.CONSTRAINT_ROW["width"]
    return np.array(rows, dtype=np.int64).reshape(-1, width), np.array(values, dtype=np.float64).reshape(-1, 3)
