"""Recurrent layers, as `keras.layers.SimpleRNN`, `LSTM` and `GRU`: each is one fused C op
(csrc/rnn.c) that runs all time steps forward and backpropagates through time."""

import math

import numpy as np

from pytrainc import _C, activations, initializers, utils
from pytrainc.layers import _eager, _outputs, _shapes
from pytrainc.layers._args import add_weight_of, init_args, set_weight_args, weight_arg_names, weight_args_config
from pytrainc.layers.core import KerasTensor, Layer, _traced_mask_argument, with_mask_parent
from pytrainc.layers.embedding import _positive_int
from pytrainc.ops import _trace

# The elementwise activations the fused cells compute (their derivative follows from the output).
_CELL_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "hard_sigmoid")
_WEIGHTS = ("kernel", "recurrent", "bias")
_WEIGHT_ARGS = weight_arg_names(_WEIGHTS)


def _cell_activation(layer, arg, value):
    name = activations.get(value)
    if name not in _CELL_ACTIVATIONS:
        raise ValueError(f"{layer}'s {arg} must be one of {list(_CELL_ACTIVATIONS)}. Received: {arg}={value!r}")
    return name


class _RNN(Layer):
    """Shared by SimpleRNN, LSTM and GRU: Keras 3's arguments, weights and the fused op.

    Subclasses set `_op` (the op's name) and `_gates` (columns of the kernel per unit).
    """

    _op = None
    _gates = 1
    supports_masking = True
    # Set by Bidirectional on its layers (Keras flips the backward sequence back and forces
    # zero_output_for_mask with return_sequences).
    _input_order = False
    _zero_output_for_mask = False
    _keras3_vars = "cell/vars"  # where Keras 3's .weights.h5 keeps the weights (its cell's)

    def __init__(self, units, *, activation, recurrent_activation="sigmoid", use_bias, dropout, recurrent_dropout,
                 seed, return_sequences, return_state, go_backwards, stateful, unroll, **kwargs):  # fmt: skip
        """Each subclass passes its whole Keras 3 signature (`init_args`), defaults included: the
        weights' initializers, regularizers and constraints and the base Layer's arguments in `kwargs`."""
        weight_args = {name: kwargs.pop(name) for name in _WEIGHT_ARGS}
        kwargs.pop("use_cudnn", None)  # a TensorFlow choice; results are the same
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.units = _positive_int("units", units)
        self.activation = _cell_activation(cls, "activation", activation)
        self.recurrent_activation = _cell_activation(cls, "recurrent_activation", recurrent_activation)
        self.use_bias = bool(use_bias)
        set_weight_args(self, **weight_args)
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value < 1:
                raise ValueError(f"{cls}'s {arg} must be a float in [0, 1). Received: {arg}={value!r}")
        self.dropout, self.recurrent_dropout, self.seed = float(dropout), float(recurrent_dropout), seed
        if self.dropout or self.recurrent_dropout:  # the generator the fused op draws its masks from
            self.rng_state = (
                utils.make_rng(seed) if seed is not None else utils.make_rng(_C.rng_next(utils.global_rng()))
            )
        if stateful:
            raise ValueError(f"pytrainc's {cls} does not support stateful=True. Received: stateful=True")
        self.return_sequences, self.go_backwards = bool(return_sequences), bool(go_backwards)
        self.return_state, self.stateful = bool(return_state), False
        self.unroll = bool(unroll)  # the fused op's results do not depend on it
        self.kernel = self.recurrent_kernel = self.bias = None

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, timesteps, features). "
                f"Received: shape={tuple(input_shape)}"
            )
        g = self._gates * self.units
        self.kernel = add_weight_of(self, "kernel", (input_shape[-1], g))
        self.recurrent_kernel = add_weight_of(self, "recurrent_kernel", (self.units, g), "recurrent")
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", self._bias_shape(), self._bias_init(), regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )  # fmt: skip
        self.built = True

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    @property
    def _n_states(self):
        return 2 if self._gates == 4 else 1  # the LSTM's h and c, the others' h

    def _output_layout(self, input_shapes):
        """Per-sample shapes of a call's outputs with return_state: Keras's [output, *states]."""
        main = tuple(self.compute_output_shape((None, *input_shapes[0]))[1:])
        return [main] + [(self.units,)] * self._n_states

    def __call__(self, inputs, initial_state=None, mask=None, training=None):
        """Keras 3's RNN call: `inputs` (batch, timesteps, features), `initial_state` a list of the
        states' tensors (LSTM: [h, c], GRU and SimpleRNN: [h], each (batch, units)); with
        return_state, returns [output, *final states] as Keras. As in Keras 3 (whose
        Layer.__call__ fills `mask` only for a call with one tensor argument), a call with
        initial_state does not mask its steps (its sequence output still carries the mask).
        `mask=`: a (batch, timesteps) tensor of the model (e.g. `Input((T,), dtype="bool")`), an
        input of the call's node, or of a traced call."""
        cls = type(self).__name__
        if isinstance(inputs, (list, tuple)):  # [sequences, *initial states], as Keras 2 took them
            if initial_state is not None or not inputs:
                raise ValueError(
                    f"{cls} takes a tensor and initial_state=, or one list [sequences, *initial states]. "
                    f"Received: {len(inputs)} inputs and initial_state={initial_state!r}"
                )
            inputs, initial_state = inputs[0], list(inputs[1:]) or None
        if initial_state is None and _eager.is_data(inputs):  # on arrays, as Keras runs it
            first = "_call_io" not in self.__dict__
            mask = _eager.input_mask(inputs) if mask is None else mask  # Keras: the input's `_keras_mask`
            if mask is not None:
                out = _eager.call_layer_masked(self, inputs, mask, training)
            else:
                out = _eager.call_layer(self, inputs, training)
            if first:  # an eager call is no node of a graph: `input`/`output` stay unset
                self.__dict__.pop("_call_io", None)
            return out
        states = [] if initial_state is None else self._check_states(initial_state)
        mask = _traced_mask_argument(self, inputs, mask, _trace.tracing_layer())
        if mask is not None and states:
            raise ValueError(f"pytrainc's {cls} takes mask= or initial_state=, not both yet")
        first = "_call_io" not in self.__dict__
        call = self._call_tensor(inputs, states, mask)
        out = _outputs.outputs_of(self, call) if self.return_state else call
        if first:  # Keras's node 0: the sequence and the initial states in, every output out
            self._call_io = ([inputs, *states] if states else inputs, out)
        return out

    def _check_states(self, initial_state):
        cls, n = type(self).__name__, self._n_states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        names = "[h, c]" if n == 2 else "[h]"
        if len(states) != n or not all(isinstance(t, KerasTensor) for t in states):
            raise ValueError(
                f"{cls} takes initial_state as a list of {n} KerasTensor(s) {names}, each of shape "
                f"(None, {self.units}). Received: {initial_state!r}"
            )
        for t in states:
            if tuple(t.sample_shape) != (self.units,):
                raise ValueError(
                    f"{cls}'s initial_state tensors must have shape (None, {self.units}). Received: shape={t.shape}"
                )
        return states

    def _call_tensor(self, inputs, states, mask=None):
        """The call's one graph node: its output, or with return_state all outputs in a row."""
        if self.return_state and self.activity_regularizer is not None:
            raise ValueError(f"pytrainc's {type(self).__name__} takes no activity_regularizer with return_state=True")
        out = super().__call__(inputs)
        out._inputs = (inputs, *states)
        with_mask_parent(out, mask)
        if self.return_state:
            out._several = True
            sizes = self._output_layout([inputs.sample_shape])
            out.shape = (None, None if _shapes.has_none(sizes) else sum(math.prod(s) for s in sizes))
        return out

    def _recall(self, parents, mask=None):
        return self._call_tensor(parents[0], list(parents[1:]), mask)

    def _emit(self, builder, in_bufs, in_shapes):
        t, features = in_shapes[0]
        size = (t if self.return_sequences else 1) * self.units
        out = builder.buffer(size + (self._n_states * self.units if self.return_state else 0))
        seq_mask = builder.input_masks[0] if builder.input_masks else None
        builder.output_mask = seq_mask if self.return_sequences else None  # Keras's RNN.compute_mask
        # Keras 3's Layer.__call__ hands a call the input's mask only when it has one tensor
        # argument: with initial_state= the steps are not masked (the output still carries the
        # mask, Layer.__call__'s fallback to the first argument's).
        mask = seq_mask if len(in_bufs) == 1 else None
        builder.op(
            self._op,
            in_bufs + ([mask] if mask is not None else []),
            out,
            params={"kernel": self.kernel, "recurrent_kernel": self.recurrent_kernel, "bias": self.bias},
            t=t,
            units_in=features,
            units=self.units,
            act=_C.ACTIVATIONS[self.activation],
            recurrent_act=_C.ACTIVATIONS[self.recurrent_activation],
            go_backwards=int(self.go_backwards),
            return_sequences=int(self.return_sequences),
            rng=builder.rng(self) if hasattr(self, "rng_state") else 0,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            input_order=int(self._input_order),
            zero_masked=int(self._zero_output_for_mask),
            initial_state=int(len(in_bufs) > 1),
            return_state=int(self.return_state),
        )
        return self._emit_activity(builder, out)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "use_bias": self.use_bias,
            **weight_args_config(self, _WEIGHTS),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
        }


class SimpleRNN(_RNN):
    """Fully connected recurrence: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Args:
        units: Positive int, the state's size.
        activation: One of 'tanh', 'relu', 'sigmoid', 'hard_sigmoid', 'linear'. Defaults to 'tanh'.
        use_bias: Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: Defaults
            'glorot_uniform', 'orthogonal', 'zeros'.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Defaults to None.
        dropout, recurrent_dropout: Fractions in [0, 1) of the inputs and of the previous state
            dropped in training, with masks drawn once per sequence from the layer's seeded
            generator (Keras's cells). Default to 0.
        seed: Optional int for that generator. Defaults to None (drawn from the global one).
        return_sequences: Return every step's state (timesteps, units) instead of the last.
            Defaults to False.
        return_state: Also return the final state(s): the call returns [output, h] (LSTM:
            [output, h, c]), as Keras. Defaults to False.
        go_backwards: Process the sequence from its end; outputs stay in processing order,
            as Keras. Defaults to False.
        unroll: Accepted and ignored (it does not change results).

    Example:

    >>> model = Sequential([Input((10, 3)), SimpleRNN(8), Dense(1)])
    """

    _op = "simple_rnn"
    _gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN got an unexpected keyword argument 'recurrent_activation'")
        super().__init__(**init_args(locals()))

    def get_config(self):
        config = super().get_config()
        del config["recurrent_activation"]
        return config


class _ForgetBias(initializers.Initializer):
    """Keras's LSTM bias with unit_forget_bias: bias_initializer's values, ones for the forget gate."""

    def __init__(self, init, units):
        self.init, self.units = init, units

    def __call__(self, shape, dtype=None):
        u = self.units
        return np.concatenate([self.init((u,)), np.ones(u, np.float32), self.init((2 * u,))]).astype(np.float32)


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997) with Keras 3's gates i, f, c, o:
    `c_t = f * c_{t-1} + i * activation(x W_c + h U_c + b_c)`, `h_t = o * activation(c_t)`.

    Args:
        units: Positive int, the state's size.
        activation: Defaults to 'tanh'. recurrent_activation: Defaults to 'sigmoid'
            (each one of 'tanh', 'sigmoid', 'hard_sigmoid', 'relu', 'linear').
        use_bias: Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: Defaults
            'glorot_uniform', 'orthogonal', 'zeros'.
        unit_forget_bias: Start the forget gate's bias at 1 (Jozefowicz et al.). Defaults to True.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Defaults to None.
        dropout, recurrent_dropout: Fractions in [0, 1) of the inputs and of the previous state
            dropped in training, masks drawn once per sequence from the layer's seeded generator;
            with recurrent_dropout one mask per gate, as Keras. Default to 0.
        seed: Optional int for that generator. Defaults to None.
        return_sequences: Defaults to False. return_state: Defaults to False (see SimpleRNN).
        go_backwards: Defaults to False. unroll: Accepted and ignored.

    Example:

    >>> model = Sequential([Input((100,)), Embedding(1000, 32), LSTM(64), Dense(1, activation="sigmoid")])
    """

    _op = "lstm"
    _gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_cudnn="auto",
        **kwargs,
    ):
        args = init_args(locals())
        args.pop("unit_forget_bias")
        super().__init__(**args)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        return _ForgetBias(self.bias_initializer, self.units) if self.unit_forget_bias else self.bias_initializer

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), Keras 3's reset_after=True form with gates z, r, h:
    `hh = activation(x W_h + b_h + r * (h U_h + b'_h))`, `h_t = z * h_{t-1} + (1 - z) * hh`,
    bias of shape (2, 3 * units) (input and recurrent rows), as torch's nn.GRU.

    Args:
        units: Positive int, the state's size.
        activation: Defaults to 'tanh'. recurrent_activation: Defaults to 'sigmoid'.
        reset_after: Only True (Keras 3's default) is supported yet.
        The other arguments as LSTM's.

    Example:

    >>> model = Sequential([Input((30, 1)), GRU(16), Dense(1)])
    """

    _op = "gru"
    _gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        **kwargs,
    ):
        args = init_args(locals())
        args.pop("reset_after")
        super().__init__(**args)
        if not reset_after:
            raise ValueError(
                "pytrainc's GRU supports reset_after=True (Keras 3's default, and torch's nn.GRU) only. "
                "Received: reset_after=False"
            )
        self.reset_after = True

    def _bias_shape(self):
        return (2, self._gates * self.units)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


LAYERS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}
