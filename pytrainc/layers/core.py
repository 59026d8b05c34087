"""Core layers: the Layer base class, Input, Dense and Activation. A layer validates its arguments in `__init__`,
creates its weights in `build`, and adds its ops to the model's plan in `_emit`;
the C engine runs them."""

import copyreg
import math

import numpy as np

from pytrainc import activations, initializers, regularizers, utils

_NAME_COUNTS = {}


def _unique_name(base):
    """'dense', 'dense_1', ... as Keras names layers."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _with_batch(shape):
    """(None,) + shape, or a list of those for merge layers."""
    if isinstance(shape, list):
        return [(None,) + tuple(s) for s in shape]
    return (None,) + tuple(shape)


def _emit_activation(builder, in_buf, shape, activation, alpha=None):
    """Add an activation op after in_buf (nothing for linear); return the output buffer.

    activation is a name of `pytrainc.activations`; alpha overrides the parameter its
    string form implies (a LeakyReLU layer's slope, an ELU layer's alpha).
    """
    if activation == "linear":
        return in_buf
    kind, default_alpha = activations.kind_and_alpha(activation)
    out = builder.buffer(math.prod(shape))
    builder.op("activation", [in_buf], out, kind=kind, width=shape[-1], alpha=default_alpha if alpha is None else alpha)
    return out


def _feature_axis(layer, axis, input_shape):
    """`axis` (Keras's, over the shape with the batch axis) as an index into the per-sample shape."""
    rank = len(input_shape)
    if not -rank <= axis < rank or axis % rank == 0:
        raise ValueError(
            f"Layer '{layer.name}': axis={axis} must name a feature axis of inputs of shape "
            f"{tuple(input_shape)} (1 to {rank - 1}, or -1 to {1 - rank})"
        )
    return axis % rank - 1


def _shape_tuple(shape, what):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints. Received: {shape!r}") from None
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise ValueError(f"{what} must be a tuple of positive ints (without the batch axis). Received: {shape!r}")
    return tuple(int(d) for d in shape)


class Variable:
    """A weight: a float32 array that lives in the model's flat parameter buffer.

    `numpy()` returns a copy; `assign(value)` writes in place, so the C engine
    sees the new value.
    """

    def __init__(self, name, value, trainable=True, regularizer=None, layer=None):
        self.name = name
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
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(f"Variable '{self.name}' has shape {self._value.shape}. Received: shape={value.shape}")
        self._value[...] = value

    def __array__(self, dtype=None, copy=None):
        return self._value.copy() if dtype is None else self._value.astype(dtype)

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape}>"


class KerasTensor:
    """A symbolic tensor of the functional API: a per-sample shape and the
    layer call that produces it."""

    def __init__(self, shape, layer=None, inputs=()):
        self.shape = (None,) + tuple(shape)  # Keras shows the batch axis
        self._layer = layer
        self._inputs = tuple(inputs)

    @property
    def sample_shape(self):
        return self.shape[1:]

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


class Layer:
    """Base class of all layers.

    Args:
        name: Optional name; defaults to the snake-cased class name made unique.
        trainable: Whether the layer's weights are trained. Defaults to True.
        input_shape: Optional per-sample input shape, for the first layer of a
            Sequential model (as in Keras).
        input_dim: Optional int, shorthand for `input_shape=(input_dim,)`.
    """

    _multi_input = False  # merge layers take a list of inputs
    supports_masking = False  # Keras 3: whether the layer hands its input's mask on (PlanBuilder.emit)

    def __init__(
        self,
        name=None,
        trainable=True,
        input_shape=None,
        input_dim=None,
        dtype=None,
        activity_regularizer=None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"pytrainc computes in float32. Received: dtype={dtype!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string. Received: {name!r}")
        self.name = name or _unique_name(utils.snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self._variables = []
        if input_dim is not None and input_shape is not None:
            raise ValueError(
                "Pass either input_shape or input_dim, not both. "
                f"Received: input_shape={input_shape!r}, input_dim={input_dim!r}"
            )
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = _shape_tuple(input_shape, "input_shape") if input_shape is not None else None
        self._build_shape = None
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # -- weights
    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        aggregation="none",
        overwrite_with_gradient=False,
        name=None,
        **kwargs,
    ):
        """Adds a weight to the layer, as Keras 3's `Layer.add_weight`.

        Args:
            shape: Tuple of ints. Defaults to None (a scalar).
            initializer: Name or callable. Defaults to None ('glorot_uniform', Keras's
                default for float weights).
            dtype: Only float32 (or None).
            trainable: Whether the optimizer trains it. Defaults to True.
            regularizer: Optional regularizer. Defaults to None.
            constraint: Not supported: must be None.
            name: Optional name. Defaults to 'variable', 'variable_1', ...

        Returns:
            The `Variable`, a view into the model's flat parameter array once the model is built.
        """
        if isinstance(shape, str):  # pytrainc's own positional form: (name, shape, initializer, ...)
            name, shape, initializer = shape, initializer, dtype
            dtype = None
        if kwargs:
            raise TypeError(f"add_weight got unexpected keyword argument(s): {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"pytrainc weights are float32. Received: dtype={dtype!r}")
        if constraint is not None:
            raise ValueError(f"add_weight: constraints are not supported yet. Received: constraint={constraint!r}")
        shape = () if shape is None else ((int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape))
        if name is None:
            count = sum(1 for v in self._variables if v.name.rsplit("/", 1)[-1].startswith("variable"))
            name = "variable" if count == 0 else f"variable_{count}"
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = np.array(np.reshape(init(shape), shape), dtype=np.float32, order="C")  # 0-d stays 0-d
        var = Variable(
            f"{self.name}/{name}", value, trainable=trainable, regularizer=regularizers.get(regularizer), layer=self
        )
        self._variables.append(var)
        return var

    @property
    def weights(self):
        """This layer's weights, then those of the layers its traced `call` uses."""
        out, seen = list(self._variables), {id(v) for v in self._variables}
        for sub in getattr(self, "_sublayers", ()):
            for v in sub.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.trainable]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        weights, variables = list(weights), self.weights
        if len(weights) != len(variables):
            raise ValueError(f"Layer '{self.name}' expects {len(variables)} weight arrays. Received: {len(weights)}")
        for v, w in zip(variables, weights):
            v.assign(w)

    def count_params(self):
        return int(sum(v._value.size for v in self.weights))

    def _hidden_constants(self):
        """Constant operands of the ops traced in `call` (hidden, non-trainable parameters)."""
        return list(getattr(self, "_constants", ()))

    # -- graph
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        if self._traced():
            from pytrainc.layers import _tracing

            return _tracing.output_shape(self, input_shape)
        return input_shape

    def _build_for(self, sample_shape):
        if not self.built:
            self.build(_with_batch(sample_shape))
            self.built = True
            self._build_shape = sample_shape
        elif self._build_shape is not None and sample_shape != self._build_shape:
            raise ValueError(
                f"Layer '{self.name}' was built for input shape {_with_batch(self._build_shape)}. "
                f"Received: {_with_batch(sample_shape)}"
            )

    def call(self, inputs, *args, **kwargs):
        """The layer's computation, written with `pytrainc.ops` (traced once on symbolic inputs)."""
        raise NotImplementedError(f"Layer '{self.name}' ({type(self).__name__}) does not define call()")

    def _traced(self):
        return type(self).call is not Layer.call

    def __call__(self, inputs, *args, **kwargs):
        if self._traced():
            from pytrainc.layers import _tracing

            return _tracing.call(self, inputs, args, kwargs)
        from pytrainc.layers import _eager

        if _eager.is_data(inputs) and not args and set(kwargs) <= {"training"}:
            return _eager.call_layer(self, inputs, **kwargs)  # layer(x) on arrays, as Keras runs it
        if args or kwargs:
            raise TypeError(f"Layer '{self.name}' takes only its inputs. Received extra arguments {args} {kwargs}")
        multi = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if multi else [inputs]
        if multi and not self._multi_input:
            raise ValueError(f"Layer '{self.name}' takes one input. Received: {len(tensors)} inputs")
        if not multi and self._multi_input:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) takes a list of inputs, "
                f"e.g. {type(self).__name__}()([x1, x2]). Received: {type(inputs).__name__}"
            )
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"Layer '{self.name}' must be called on the output of pytrainc.layers.Input or "
                    f"of another layer. Received: {type(t).__name__}. To run a model on "
                    "data, use model.predict(x)."
                )
        shapes = [tuple(t.sample_shape) for t in tensors]
        sample_shape = shapes if multi else shapes[0]
        self._build_for(sample_shape)
        out = self.compute_output_shape(_with_batch(sample_shape))
        return KerasTensor(out[1:], layer=self, inputs=tensors)

    def _emit_activity(self, builder, out_buf):
        """The activity regularizer's op on this layer's output, if any."""
        reg = self.activity_regularizer
        if reg is not None:
            builder.op("activity_reg", [out_buf], out_buf, l1=reg.l1, l2=reg.l2)
        return out_buf

    def _emit(self, builder, in_bufs, in_shapes):
        """Add this layer's ops to the plan; return the output buffer id."""
        if self._traced():
            from pytrainc.layers import _tracing

            return self._emit_activity(builder, _tracing.emit(self, builder, in_bufs, in_shapes))
        raise NotImplementedError

    # -- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __reduce__(self):
        """Pickling, `copy.copy` and `copy.deepcopy` go through the config and the weights.

        The copy is a new, independent layer: built for the same input shape,
        with copies of the weights (and of a Dropout layer's generator state).
        Making it draws nothing from the global generator. Classes outside
        pytrainc's own layers are copied attribute by attribute.
        """
        from pytrainc import layers as layers_module

        if layers_module._LAYER_CLASSES.get(type(self).__name__) is not type(self):
            return copyreg.__newobj__, (type(self),), dict(self.__dict__)
        rng = getattr(self, "rng_state", None)
        return _restore_layer, (
            layers_module.serialize(self),
            self._build_shape,
            self.get_weights(),
            [v._trainable for v in self._variables],
            None if rng is None else rng.copy(),
        )

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _restore_layer(config, build_shape, weights, trainable, rng):
    from pytrainc import layers as layers_module

    with utils._global_rng_kept():
        layer = layers_module.deserialize(config)
        if build_shape is not None:
            layer._build_for(build_shape)
    layer.set_weights(weights)
    for v, flag in zip(layer._variables, trainable):
        v.trainable = flag
    if rng is not None:
        layer.rng_state[...] = rng
    return layer


class InputLayer(Layer):
    """The input of a model: a per-sample shape.

    Args:
        shape: Per-sample shape (no batch axis), e.g. `(8,)`.
        name: Optional name.
    """

    def __init__(self, shape=None, batch_size=None, name=None, input_shape=None, dtype=None, **kwargs):
        if shape is None:
            shape = input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(8,)). Received: shape=None")
        super().__init__(name=name, **kwargs)
        self.shape = _shape_tuple(shape, "shape")
        self.batch_size = batch_size
        self.input_dtype = _input_dtype(dtype)
        self.built = True
        self.output = KerasTensor(self.shape, layer=self)

    def get_config(self):
        config = {"name": self.name, "shape": list(self.shape)}
        if self.input_dtype != "float32":
            config["dtype"] = self.input_dtype
        return config


_INT_INPUT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")


def _input_dtype(dtype):
    """Keras's Input dtype: float32, or integer ids (token or class ids for an Embedding). The plan
    computes in float32, which holds every integer up to 2**24 exactly."""
    if dtype is None:
        return "float32"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name == "float32" or name in _INT_INPUT_DTYPES:
        return name
    raise ValueError(
        f"Input dtype must be float32 or an integer type ({', '.join(_INT_INPUT_DTYPES)}); pytrainc computes "
        f"in float32. Received: dtype={dtype!r}"
    )


def Input(shape=None, batch_size=None, name=None, dtype=None):
    """Return a symbolic input tensor, as `keras.Input`.

    Args:
        shape: Per-sample shape (no batch axis), e.g. `(8,)`.
        batch_size: Ignored; accepted for Keras compatibility. Defaults to None.
        name: Optional name.
        dtype: "float32" (None) or an integer type for ids such as an Embedding's input; the
            plan computes in float32, exact for integers up to 2**24.

    Returns:
        A KerasTensor to call layers on, or to pass to `Sequential` / `Model`.

    Example:

    >>> x = Input(shape=(8,))
    >>> y = Dense(1)(x)
    """
    return InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype).output


class _KernelLayer(Layer):
    """Shared by Dense and the convolutions: an activation, a kernel and an
    optional bias, with their initializers and regularizers."""

    def _init_kernel(
        self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer
    ):
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel = self.bias = None

    def _build_kernel(self, kernel_shape, units):
        self.kernel = self.add_weight(
            "kernel", kernel_shape, self.kernel_initializer, regularizer=self.kernel_regularizer
        )
        if self.use_bias:
            self.bias = self.add_weight("bias", (units,), self.bias_initializer, regularizer=self.bias_regularizer)
        self.built = True

    def _kernel_config(self):
        return {
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }


class Dense(_KernelLayer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`.

    The kernel has shape (input features, units) as in Keras. Inputs of rank > 1
    per sample are transformed along their last axis.

    Args:
        units: Positive int, output features.
        activation: Name or pytrainc.activations function. Defaults to None (linear).
        use_bias: Defaults to True.
        kernel_initializer: Defaults to 'glorot_uniform'.
        bias_initializer: Defaults to 'zeros'.
        kernel_regularizer: Optional regularizer. Defaults to None.
        bias_regularizer: Optional regularizer. Defaults to None.

    Example:

    >>> model = Sequential([Input((8,)), Dense(10, activation="relu"), Dense(1)])
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units`, expected a positive integer. Received: units={units!r}"
            )
        self.units = int(units)
        self._init_kernel(
            activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer
        )

    def build(self, input_shape):
        self._build_kernel((input_shape[-1], self.units), self.units)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _emit(self, builder, in_bufs, in_shapes):
        shape = in_shapes[0]
        rows = math.prod(shape[:-1])
        out = builder.buffer(rows * self.units)
        builder.op(
            "dense",
            in_bufs,
            out,
            params={"kernel": self.kernel, "bias": self.bias},
            rows=rows,
            units_in=shape[-1],
            units_out=self.units,
        )
        return self._emit_activity(
            builder, _emit_activation(builder, out, tuple(shape[:-1]) + (self.units,), self.activation)
        )

    def get_config(self):
        return {**super().get_config(), "units": self.units, **self._kernel_config()}


class Activation(Layer):
    """Applies an activation function.

    Args:
        activation: Name or pytrainc.activations function, e.g. 'relu'.

    Example:

    >>> model = Sequential([Input((4,)), Dense(3), Activation("softmax")])
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def _emit(self, builder, in_bufs, in_shapes):
        return self._emit_activity(builder, _emit_activation(builder, in_bufs[0], in_shapes[0], self.activation))

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Lambda(Layer):
    """Wraps a function of tensors written with `pytrainc.ops` as a layer, traced into the plan.

    Args:
        function: Called once on the symbolic input, e.g. `lambda x: ops.square(x) + 1.0`.
        output_shape: Optional per-sample output shape (with or without the batch axis); when
            given it must match the traced shape. Defaults to None (inferred from the trace).
        arguments: Optional dict of keyword arguments passed to `function`. Defaults to None.

    Example:

    >>> x = Input((4,))
    >>> y = Lambda(lambda t: t * 2.0)(x)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda needs a callable. Received: {type(function).__name__}")
        if mask is not None:
            raise ValueError("Lambda: masks are not supported. Received: mask={mask!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = None if output_shape is None else tuple(output_shape)

    def call(self, inputs):
        out = self.function(inputs, **self.arguments)
        if self._output_shape is not None and isinstance(out, KerasTensor):
            want = self._output_shape[1:] if len(self._output_shape) == len(out.shape) else self._output_shape
            if tuple(want) != tuple(out.sample_shape) and tuple(self._output_shape) != tuple(out.shape):
                raise ValueError(
                    f"Lambda '{self.name}' was given output_shape={self._output_shape}; its function returns "
                    f"shape {out.shape}"
                )
        return out

    def get_config(self):
        config = {**super().get_config(), "output_shape": self._output_shape}
        return config

    @classmethod
    def from_config(cls, config):
        raise ValueError(
            "A Lambda layer cannot be loaded from a config: its function is Python code and loading never "
            "runs code. Rebuild the model in code and load its weights (load_weights)."
        )
