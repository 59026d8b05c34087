"""Core layers: the Layer base class, Input, Activation and Lambda (Dense is in dense.py). A layer
validates its arguments in `__init__`, creates its weights in `build`, and adds its ops to the
model's plan in `_emit`; the C engine runs them."""

import copyreg
import math

import numpy as np

from pytrainc import _activation_trace, activations, constraints, initializers, regularizers, utils
from pytrainc.layers import _shapes
from pytrainc.layers._args import _from_batch_shape, _unsupported
from pytrainc.layers.tensors import KerasTensor, Variable, _ops  # noqa: F401  (re-exported)

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
    if callable(activation):  # a function of your own, traced (pytrainc/_activation_trace.py)
        return _activation_trace.emit(builder, in_buf, shape, activation)
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


def _shape_tuple(shape, what, allow_none=False):
    """A per-sample shape as a tuple of ints (None for a variable-length axis where allowed)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints. Received: {shape!r}") from None
    for d in shape:
        if d is None and allow_none:
            continue
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            kinds = "positive ints or None" if allow_none else "positive ints"
            raise ValueError(f"{what} must be a tuple of {kinds} (without the batch axis). Received: {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


class Layer:
    """Base class of all layers.

    Args (keyword-only, as Keras 3's):
        activity_regularizer: Optional regularizer of the layer's output. Defaults to None.
        trainable: Whether the layer's weights are trained. Defaults to True.
        dtype: Only float32 (or None). Defaults to None.
        autocast: Keras's mixed-precision casting; pytrainc computes in float32, so it has no
            effect. Defaults to True.
        name: Optional name; defaults to the snake-cased class name made unique.
        input_shape: Optional per-sample input shape, for the first layer of a
            Sequential model (as Keras accepts it).
        input_dim: Optional int, shorthand for `input_shape=(input_dim,)`.
    """

    _multi_input = False  # merge layers take a list of inputs
    supports_masking = False  # Keras 3: whether the layer hands its input's mask on (PlanBuilder.emit)

    def __init__(
        self,
        *,
        activity_regularizer=None,
        trainable=True,
        dtype=None,
        autocast=True,
        name=None,
        input_shape=None,
        input_dim=None,
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
        self._input_shape_arg = _shape_tuple(input_shape, "input_shape", True) if input_shape is not None else None
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
            constraint: Optional constraint (pytrainc.constraints), applied after each
                optimizer step. Defaults to None.
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
        shape = () if shape is None else ((int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape))
        _shapes.check_weight_shape(shape, f"{self.name}/{name or 'variable'}")
        if name is None:
            count = sum(1 for v in self._variables if v.name.rsplit("/", 1)[-1].startswith("variable"))
            name = "variable" if count == 0 else f"variable_{count}"
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = np.array(np.reshape(init(shape), shape), dtype=np.float32, order="C")  # 0-d stays 0-d
        var = Variable(
            f"{self.name}/{name}",
            value,
            trainable=trainable,
            regularizer=regularizers.get(regularizer),
            layer=self,
            constraint=constraints.get(constraint),
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

    def add_loss(self, loss):
        """Adds a loss to the model's, as Keras 3's `Layer.add_loss`: called in `call` on a tensor
        computed from the inputs, it is traced into the plan, and the sum of its values over the
        batch (`ops.sum(x)`, `0.1 * ops.mean(x)`, or any per-sample tensor) joins every batch's
        loss, with its gradient. Called eagerly, the value is kept in `layer.losses`.

        Args:
            loss: A tensor traced in this layer's call, or an array-like (eager).

        Example:

        >>> class ActivityRegularization(pytrainc.layers.Layer):
        ...     def call(self, inputs):
        ...         self.add_loss(1e-2 * pytrainc.ops.mean(inputs))
        ...         return inputs
        """
        from pytrainc import _layer_losses

        _layer_losses.add(self, loss)

    @property
    def losses(self):
        """The losses added by the last eager call (traced ones are part of the plan's loss)."""
        out = list(self.__dict__.get("_eager_losses", ()))
        for sub in getattr(self, "_sublayers", ()):
            out += sub.losses
        return out

    @property
    def rng_state(self):
        """The layer's generator state: a Dropout's own, or that of the one `pytrainc.random.SeedGenerator`
        a custom layer holds (saved with the model and in backups, so training resumes exactly).
        AttributeError for a layer without one, as `hasattr` expects."""
        own = self.__dict__.get("rng_state")
        if own is not None:
            return own
        gen = _seed_generator(self)
        if gen is None:
            raise AttributeError(f"Layer '{self.name}' draws no random numbers: it has no rng_state")
        return gen.rng_state

    @rng_state.setter
    def rng_state(self, value):
        gen = None if "rng_state" in self.__dict__ else _seed_generator(self)
        if gen is not None:
            gen.rng_state = value  # the plan's table row, as a Dropout's
        else:
            self.__dict__["rng_state"] = value

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
            _shapes.build(self, _with_batch(sample_shape))
            self.built = True
            self._build_shape = sample_shape
        elif self._build_shape is not None and not _shapes.compatible(sample_shape, self._build_shape):
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

            return self._note_call(inputs, _tracing.call(self, inputs, args, kwargs))
        from pytrainc.layers import _eager

        if _eager.is_data(inputs) and not args and set(kwargs) <= {"training", "mask"}:
            first = "_call_io" not in self.__dict__
            mask = kwargs.get("mask")
            if mask is None and self.supports_masking:  # Keras: the input's `_keras_mask`
                mask = _eager.input_mask(inputs)
            if mask is not None:
                out = _eager.call_layer_masked(self, inputs, mask, kwargs.get("training"))
            else:  # layer(x) on arrays, as Keras runs it
                out = _eager.call_layer(self, inputs, kwargs.get("training"))
            if first:  # an eager call is no node of a graph: `input`/`output` stay unset, as Keras's
                self.__dict__.pop("_call_io", None)
            return _eager.with_mask(self, inputs, out, mask)
        from pytrainc.layers import _tracing
        from pytrainc.ops import _trace

        tracer = _trace.tracing_layer()
        if tracer is not None and "training" in kwargs:  # in a traced call, the plan's mode at run time
            kwargs = dict(kwargs)
            _tracing.check_training(self, tracer, kwargs.pop("training"))
        mask = None
        if "mask" in kwargs:
            kwargs = dict(kwargs)
            mask = _traced_mask_argument(self, inputs, kwargs.pop("mask"), tracer)
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
        out = _shapes.output_shape(self.compute_output_shape, _with_batch(sample_shape))
        return self._note_call(inputs, with_mask_parent(KerasTensor(out[1:], layer=self, inputs=tensors), mask))

    def _note_call(self, inputs, outputs):
        """Keeps the tensors of the first symbolic call, Keras's node 0 (`input`, `output`)."""
        if "_call_io" not in self.__dict__ and isinstance(outputs, (KerasTensor, list, tuple)):
            self._call_io = (list(inputs) if isinstance(inputs, tuple) else inputs, outputs)
        return outputs

    def _call_tensors(self, which):
        if "_call_io" not in self.__dict__:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {which}.")
        return self._call_io[0 if which == "input" else 1]

    @property
    def input(self):
        """The input tensor(s) of the layer's first call (Keras's `Operation.input`)."""
        return self._call_tensors("input")

    @property
    def output(self):
        """The output tensor(s) of the layer's first call: a list for a call with several outputs."""
        return self._call_tensors("output")

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


def _seed_generator(layer):
    """The SeedGenerator among a layer's attributes, several as one `random.GeneratorStates`
    owner, else None."""
    from pytrainc import random

    gens = random.layer_generators(layer)
    if len(gens) > 1:
        return _Generators(gens)
    return gens[0] if gens else None


class _Generators:
    """A layer's several SeedGenerators seen as one: rng_state is their (k, 4) states."""

    def __init__(self, gens):
        self.gens = gens

    @property
    def rng_state(self):
        from pytrainc import random

        return random.GeneratorStates(self.gens)

    @rng_state.setter
    def rng_state(self, value):
        self.rng_state[...] = value


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
        batch_size: Optional batch size (not used: the plan takes any). Defaults to None.
        dtype: As `Input`'s. Defaults to None (float32).
        sparse, ragged, optional: Keras's sparse, ragged and optional inputs, not supported: must
            be None or False. Default to None, None, False.
        batch_shape: The shape with the batch axis, instead of `shape` and `batch_size`.
            Defaults to None.
        input_tensor: Keras's wrapping of an existing tensor, not supported: must be None.
        name: Optional name.
        input_shape: pytrainc's older name of `shape` (keyword-only).
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        ragged=None,
        batch_shape=None,
        input_tensor=None,
        optional=False,
        name=None,
        *,
        input_shape=None,
        **kwargs,
    ):
        _unsupported("InputLayer", sparse=sparse, ragged=ragged, input_tensor=input_tensor, optional=optional)
        shape, batch_size = _from_batch_shape(shape, batch_size, batch_shape)
        if shape is None:
            shape = input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(8,)). Received: shape=None")
        super().__init__(name=name, **kwargs)
        self.shape = _shape_tuple(shape, "shape", allow_none=True)
        self.batch_size = batch_size
        self.input_dtype = _input_dtype(dtype)
        self.built = True
        tensor = KerasTensor(self.shape, layer=self)
        self._call_io = (tensor, tensor)  # `input` and `output`, as Keras's InputLayer

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


def Input(
    shape=None,
    batch_size=None,
    dtype=None,
    sparse=None,
    ragged=None,
    batch_shape=None,
    name=None,
    tensor=None,
    optional=False,
):
    """Return a symbolic input tensor, as `keras.Input`.

    Args:
        shape: Per-sample shape (no batch axis), e.g. `(8,)`.
        batch_size: Ignored; accepted for Keras compatibility. Defaults to None.
        dtype: "float32" (None) or an integer type for ids such as an Embedding's input; the
            plan computes in float32, exact for integers up to 2**24.
        sparse, ragged, optional: Not supported: must be None or False. Default to None, None, False.
        batch_shape: The shape with the batch axis, instead of `shape`. Defaults to None.
        name: Optional name.
        tensor: Keras's wrapping of an existing tensor, not supported: must be None.

    Returns:
        A KerasTensor to call layers on, or to pass to `Sequential` / `Model`.

    Example:

    >>> x = Input(shape=(8,))
    >>> y = Dense(1)(x)
    """
    _unsupported("Input", tensor=tensor)
    layer = InputLayer(shape, batch_size, dtype, sparse, ragged, batch_shape, None, optional, name)
    return layer.output


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

    def _traced(self):  # activations composed from pytrainc.ops (glu, your own) are traced into the plan
        return callable(self.activation) or self.activation in activations._COMPOSED

    def call(self, inputs):
        return (self.activation if callable(self.activation) else activations._FUNCTIONS[self.activation])(inputs)

    def _emit(self, builder, in_bufs, in_shapes):
        if self._traced():
            return super()._emit(builder, in_bufs, in_shapes)
        return self._emit_activity(builder, _emit_activation(builder, in_bufs[0], in_shapes[0], self.activation))

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


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


# Keras's import path for Dense (keras.layers.core.Dense in Keras 2); its code is in dense.py
from pytrainc.layers.dense import Dense, _KernelLayer  # noqa: E402, F401


def _traced_mask_argument(layer, inputs, mask, tracer):
    """A built-in layer's explicit `mask=` (Keras's "passing mask tensors directly to layers"):
    None, or a symbolic tensor of one value per step of the first input: a tensor of the
    functional graph (an `Input((steps,), dtype="bool")`, a layer's output), which becomes an
    input of the call's node, or a tensor of the traced call."""
    if mask is None:
        return None
    cls = type(layer).__name__
    first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
    if not isinstance(mask, KerasTensor) or mask._per_batch:
        where = "a tensor of the traced call (e.g. from compute_mask or ops.not_equal)"
        raise TypeError(
            f"{cls} '{layer.name}' takes mask= as "
            + (where if tracer is not None else "a KerasTensor of the model, e.g. Input((steps,), dtype='bool')")
            + f". Received: {type(mask).__name__}"
        )
    steps = tuple(first.sample_shape)[:-1]
    if tuple(mask.sample_shape) != steps:
        raise ValueError(
            f"{cls} '{layer.name}' takes a mask of shape {(None, *steps)}, one value per step of its input "
            f"{first.shape}. Received: mask of shape {mask.shape}"
        )
    return mask


def with_mask_parent(out, mask):
    """out, with an explicit mask as its node's last parent (PlanBuilder.emit reads it)."""
    if mask is not None:
        out._inputs = (*out._inputs, mask)
        out._mask_parent = True
    return out
