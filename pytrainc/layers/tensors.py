"""The two kinds of value a layer handles outside the C plan: `Variable` (a weight, a view into
the model's flat parameter buffer) and `KerasTensor` (a symbolic tensor of the functional graph,
with Python operators that record `pytrainc.ops` calls). Both are exported by `pytrainc.layers`
and `pytrainc.layers.core`, where they lived before."""

import numpy as np


class Variable:
    """A weight: a float32 array that lives in the model's flat parameter buffer.

    `numpy()` returns a copy; `assign(value)` writes in place, so the C engine
    sees the new value.
    """

    def __init__(self, name, value, trainable=True, regularizer=None, layer=None, constraint=None):
        self.name = name
        self.constraint = constraint  # applied by the engine after each optimizer step (pytrainc.constraints)
        self._value = value
        self._trainable = bool(trainable)
        self._layer = layer
        self.regularizer = regularizer

    @property
    def trainable(self):
        """Trained by the optimizer: its own flag and its layer's (`layer.trainable = False` freezes it)."""
        return self._trainable and (self._layer is None or self._layer.trainable)

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        """Sets the value (Keras's `Variable.assign`); returns `value`. Inside a layer's traced
        `call`, a symbolic value records an assignment the plan runs at each training step
        (pytrainc/_weight_updates.py)."""
        from pytrainc import _weight_updates

        if _weight_updates.traced(self, value):
            return _weight_updates.assign(self, value)
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(f"Variable '{self.name}' has shape {self._value.shape}. Received: shape={value.shape}")
        self._value[...] = value
        return value

    def assign_add(self, value):
        """Adds `value` in place (as Keras's `Variable.assign_add`, also inside a traced call)."""
        from pytrainc import _weight_updates

        if _weight_updates.traced(self, value):
            return _weight_updates.assign(self, _weight_updates.read(self) + value, "assign_add")
        self.assign(self._value + np.asarray(value, np.float32))
        return self

    def assign_sub(self, value):
        """Subtracts `value` in place (as Keras's `Variable.assign_sub`, also inside a traced call)."""
        from pytrainc import _weight_updates

        if _weight_updates.traced(self, value):
            return _weight_updates.assign(self, _weight_updates.read(self) - value, "assign_sub")
        self.assign(self._value - np.asarray(value, np.float32))
        return self

    def __array__(self, dtype=None, copy=None):
        _refuse_in_traced_call(self, "NumPy's asarray")
        return self._value.copy() if dtype is None else self._value.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy's ufuncs with a weight (`np.ones(4) * w`): the pytrainc.ops function of the same
        name, which reads the weight in a traced call (so it trains) and computes on its value
        elsewhere. Any other ufunc computes on the values, and is refused in a traced call, where
        it would freeze the weight into a constant."""
        name = KerasTensor._UFUNCS.get(ufunc.__name__)
        if method == "__call__" and not kwargs and name is not None:
            return getattr(_ops(), name)(*inputs)
        _refuse_in_traced_call(self, f"NumPy's {ufunc.__name__}")
        values = [np.asarray(v) if isinstance(v, Variable) else v for v in inputs]
        return getattr(ufunc, method)(*values, **kwargs)

    def __getitem__(self, key):
        """Keras's `w[key]` (basic indexing): in a layer's traced call a slice of the weight read there
        (it trains, pytrainc/ops/_index.py); elsewhere a copy of that part of its value."""
        from pytrainc import _weight_updates

        if _weight_updates._layer_call() is not None:
            from pytrainc.ops import _index

            return _index.getitem(self, key)
        return np.array(self._value[key])

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape}>"


def _refuse_in_traced_call(variable, what):
    """A weight's value read as an array inside a layer's traced call would be a constant of the
    plan (its value at tracing time) that never trains: refused, naming the layer and the weight."""
    from pytrainc import _weight_updates

    layer = _weight_updates._layer_call()
    if layer is not None:
        raise TypeError(
            f"{what} on the weight '{variable.name}' of shape {tuple(variable.shape)} in the call of layer "
            f"'{layer.name}' would use the weight's value at tracing time as a constant, which never trains. "
            "In a traced call a weight takes pytrainc.ops functions (elementwise ops, reductions, matmul, shape "
            "and indexing ops, w[...]) and assign."
        )


def _variable_operator(name, fn, reflected=False):
    def method(self, *other):
        args = (other[0], self) if reflected else (self,) + other
        return getattr(_ops(), fn)(*args)

    method.__name__ = name
    return method


# Keras's Variable arithmetic: in a layer's traced call it reads the weight (pytrainc/_weight_updates.py),
# elsewhere it computes on the current value.
for _name, _fn in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"), ("pow", "power")):
    setattr(Variable, f"__{_name}__", _variable_operator(f"__{_name}__", _fn))
    setattr(Variable, f"__r{_name}__", _variable_operator(f"__r{_name}__", _fn, reflected=True))
for _name, _fn in (("neg", "negative"), ("abs", "abs")):
    setattr(Variable, f"__{_name}__", _variable_operator(f"__{_name}__", _fn))
Variable.__matmul__ = _variable_operator("__matmul__", "matmul")
Variable.__rmatmul__ = _variable_operator("__rmatmul__", "matmul", reflected=True)


class KerasTensor:
    """A symbolic tensor of the functional API: a per-sample shape and the
    layer call that produces it."""

    # A per-batch tensor (a reduction over the batch axis, a weight read in a traced call) has
    # no batch axis: its shape is Keras's, and row 0 of its plan buffer holds all of it (every
    # row, for an op that reads it row by row: csrc/batch_stats.c).
    _per_batch = False

    def __init__(self, shape, layer=None, inputs=()):
        self.shape = (None,) + tuple(shape)  # Keras shows the batch axis
        self._layer = layer
        self._inputs = tuple(inputs)

    @property
    def sample_shape(self):
        """The shape of one row of its plan buffer: one sample's (all of it for a per-batch tensor)."""
        return self.shape if self._per_batch else self.shape[1:]

    @property
    def ndim(self):
        return len(self.shape)

    dtype = "float32"

    def __repr__(self):
        name = self._layer.name if self._layer else "?"
        return f"<KerasTensor shape={self.shape}, source={name}>"

    # Operators and NumPy's ufuncs on a symbolic tensor record pytrainc.ops primitives.
    _UFUNCS = {
        "add": "add",
        "subtract": "subtract",
        "multiply": "multiply",
        "true_divide": "divide",
        "divide": "divide",
        "power": "power",
        "maximum": "maximum",
        "minimum": "minimum",
        "negative": "negative",
        "exp": "exp",
        "log": "log",
        "log1p": "log1p",
        "sqrt": "sqrt",
        "square": "square",
        "absolute": "abs",
        "tanh": "tanh",
        "matmul": "matmul",
        "greater": "greater",
        "less": "less",
    }

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = self._UFUNCS.get(ufunc.__name__)
        if method != "__call__" or kwargs or name is None:
            self._no_value(f"NumPy's {ufunc.__name__} cannot run on it (no NumPy array exists); use pytrainc.ops")
        return getattr(_ops(), name)(*inputs)

    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __pow__(self, other):
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __abs__(self):
        return _ops().abs(self)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __eq__(self, other):  # as Keras's KerasTensor: an elementwise comparison, not identity
        return _ops().equal(self, other)

    def __ne__(self, other):
        return _ops().not_equal(self, other)

    def __getitem__(self, key):
        from pytrainc.ops import _index

        return _index.getitem(self, key)

    __hash__ = object.__hash__

    def _no_value(self, what):
        from pytrainc.ops import _trace

        ctx = _trace.tracing_layer()
        where = f" in the call of {_trace.label(ctx)}" if ctx is not None else ""
        raise TypeError(
            f"A symbolic tensor {self.shape} has no value while it is traced{where}: {what}. The code is "
            "traced once and runs in C; express a data-dependent choice with pytrainc.ops "
            "(ops.where-style arithmetic, ops.maximum, ops.clip, comparisons as 0/1 floats)."
        )

    def __bool__(self):
        self._no_value("it cannot be used as a Python bool (`if`, `while`, `and`, `or`)")

    def __float__(self):
        self._no_value("it cannot be converted to a Python float")

    def __int__(self):
        self._no_value("it cannot be converted to a Python int")

    def __array__(self, dtype=None, copy=None):
        self._no_value("it cannot be converted to a NumPy array (use pytrainc.ops functions, not NumPy's)")

    def __iter__(self):
        self._no_value("it cannot be iterated over")

    def numpy(self):
        self._no_value("it has no .numpy()")


def _ops():
    from pytrainc import ops

    return ops
