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

    def __repr__(self):
        name = self._layer.name if self._layer else "?"
        return f"<KerasTensor shape={self.shape}, source={name}>"


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
    def add_weight(self, name, shape, initializer, regularizer=None, trainable=True):
        value = np.ascontiguousarray(initializers.get(initializer)(shape), dtype=np.float32)
        var = Variable(f"{self.name}/{name}", value, trainable=trainable, regularizer=regularizer, layer=self)
        self._variables.append(var)
        return var

    @property
    def weights(self):
        return list(self._variables)

    @property
    def trainable_weights(self):
        return [v for v in self._variables if v.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self._variables if not v.trainable]

    def get_weights(self):
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(
                f"Layer '{self.name}' expects {len(self._variables)} weight arrays. Received: {len(weights)}"
            )
        for v, w in zip(self._variables, weights):
            v.assign(w)

    def count_params(self):
        return int(sum(v._value.size for v in self._variables))

    # -- graph
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
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

    def __call__(self, inputs):
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

    def __init__(self, shape=None, batch_size=None, name=None, input_shape=None, **kwargs):
        if shape is None:
            shape = input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(8,)). Received: shape=None")
        super().__init__(name=name, **kwargs)
        self.shape = _shape_tuple(shape, "shape")
        self.batch_size = batch_size
        self.built = True
        self.output = KerasTensor(self.shape, layer=self)

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape)}


def Input(shape=None, batch_size=None, name=None, dtype=None):
    """Return a symbolic input tensor, as `keras.Input`.

    Args:
        shape: Per-sample shape (no batch axis), e.g. `(8,)`.
        batch_size: Ignored; accepted for Keras compatibility. Defaults to None.
        name: Optional name.
        dtype: Only float32 (or None) is accepted.

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

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def _emit(self, builder, in_bufs, in_shapes):
        return self._emit_activity(builder, _emit_activation(builder, in_bufs[0], in_shapes[0], self.activation))

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}
