"""RepeatVector, Permute, TimeDistributed and Bidirectional, as `keras.layers`.

RepeatVector and Permute are traced from `pytrainc.ops` (a broadcast multiply, a transpose).
TimeDistributed runs its layer on every step at once: the layers it accepts act on the last
axis, so on (timesteps, ...) inputs they already are that layer per step (Dense's rows), and a
Conv1D per step is one conv2d over (timesteps, steps, channels) with a kernel one step high.
Bidirectional runs a recurrent layer and its go_backwards copy as two fused ops and merges
them with the merge ops.
"""

import math

import numpy as np

from pytrainc import ops
from pytrainc.layers import _outputs, _shapes
from pytrainc.layers.core import Layer


def _eager_data(inputs):
    from pytrainc.layers import _eager

    return _eager.is_data(inputs)


_KINDS = ("concat", "sum", "mul", "ave")


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer. Received: {value!r}")
    return int(value)


class RepeatVector(Layer):
    """Repeats each input vector n times: (None, features) -> (None, n, features).

    Args:
        n: Positive int, the number of repetitions.

    Example:

    >>> model = Sequential([Input((8,)), RepeatVector(3), LSTM(4, return_sequences=True)])
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _positive("RepeatVector's n", n)

    def call(self, inputs):
        if len(inputs.shape) != 2:
            raise ValueError(f"RepeatVector expects input of shape (batch, features). Received: shape={inputs.shape}")
        # x * 1 broadcast over n rows: exact (a NaN stays a NaN), and its gradient sums the n rows.
        return ops.multiply(ops.expand_dims(inputs, 1), np.ones((self.n, 1), np.float32))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the axes of each sample: dims is a permutation of 1..rank-1 (Keras counts from 1;
    the batch axis stays first).

    Args:
        dims: Tuple of ints, e.g. (2, 1) swaps the two axes of (None, a, b).

    Example:

    >>> model = Sequential([Input((10, 64)), Permute((2, 1))])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
                f"consecutive and start from 1. Received dims={dims}"
            )

    def call(self, inputs):
        if len(inputs.shape) != len(self.dims) + 1:
            raise ValueError(
                f"Permute(dims={self.dims}) expects input of rank {len(self.dims) + 1} with the batch axis. "
                f"Received: shape={inputs.shape}"
            )
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


def _layer_arg(wrapper, layer):
    from pytrainc import layers as layers_module

    if isinstance(layer, dict):
        layer = layers_module.deserialize(layer)
    if not isinstance(layer, Layer):
        raise ValueError(f"{wrapper} takes a pytrainc layer. Received: layer={layer!r}")
    return layer


class TimeDistributed(Layer):
    """Applies a layer to every step of a sequence: (None, T, ...) -> (None, T, layer output).

    The layer's weights are shared by all steps. Supported layers: Dense, Activation and the
    activation layers, Dropout, LayerNormalization, Conv1D.

    Args:
        layer: The layer to apply.

    Example:

    >>> model = Sequential([Input((10, 8)), TimeDistributed(Dense(4))])
    """

    supports_masking = True  # Keras: the mask passes through

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = _layer_arg("TimeDistributed", layer)
        from pytrainc import layers as L

        stepwise = (L.Dense, L.Activation, L.Dropout, L.LayerNormalization, L.ReLU, L.LeakyReLU, L.ELU, L.Softmax)
        if not isinstance(self.layer, stepwise + (L.Conv1D,)):
            raise ValueError(
                "pytrainc's TimeDistributed supports Dense, Activation, the activation layers, Dropout, "
                f"LayerNormalization and Conv1D inside yet. Received: {type(self.layer).__name__}"
            )
        self._stepwise = isinstance(self.layer, stepwise)
        self._sublayers = [self.layer]

    @property
    def _keras3_vars(self):
        return "layer/vars"

    @property
    def rng_state(self):  # a Dropout inside has a generator (AttributeError otherwise, as hasattr expects)
        return self.layer.rng_state

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed expects input of shape (batch, timesteps, ...). Received: shape={tuple(input_shape)}"
            )
        self.layer._build_for(tuple(input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (None, input_shape[1]) + tuple(inner[1:])

    def _emit(self, builder, in_bufs, in_shapes):
        t, rest = in_shapes[0][0], tuple(in_shapes[0][1:])
        if self._stepwise:  # a last-axis layer on (T, ...) is that layer on each step
            return self._emit_activity(builder, self.layer._emit(builder, in_bufs, [(t,) + rest]))
        return self._emit_activity(builder, self._emit_conv1d(builder, in_bufs, t, rest))

    def _emit_conv1d(self, builder, in_bufs, t, rest):
        """Conv1D on each of t frames (steps, channels): one conv2d over (t, steps, channels)
        with a kernel one frame high, so frames never mix."""
        from pytrainc.layers.core import _emit_activation

        from pytrainc.layers.convolutional import conv2d_args

        conv = self.layer
        g = conv._geometry((None,) + rest)  # a Conv1D's: a kernel, stride and dilation one row high
        OW = g[12]
        out = builder.buffer(t * OW * conv.filters)
        args = {**conv2d_args(g, conv.filters), "h": t, "oh": t}  # the t frames as t rows
        builder.op("conv2d", in_bufs, out, params={"kernel": conv.kernel, "bias": conv.bias}, **args)
        return _emit_activation(builder, out, (t, OW, conv.filters), conv.activation)

    def get_config(self):
        from pytrainc import layers as layers_module

        return {**super().get_config(), "layer": layers_module.serialize(self.layer)}


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards and merges their outputs.

    The backward layer (a copy of `layer` with go_backwards flipped, or `backward_layer`)
    returns its sequence in input order, as Keras, so step t of both outputs sees position t.

    Args:
        layer: A SimpleRNN, LSTM or GRU.
        merge_mode: 'concat', 'sum', 'mul' or 'ave' ('concat' by default); None (two outputs)
            is not supported yet.
        backward_layer: Optional layer of the same class for the backward direction; its
            return_sequences and return_state must equal layer's and its go_backwards differ.
            Defaults to None.

    With `return_state=True` on `layer`, a call returns Keras's list: the merged output, then
    the forward layer's final states, then the backward layer's (an LSTM's h and c each).

    Example:

    >>> model = Sequential([Input((20,)), Embedding(100, 8), Bidirectional(GRU(4)), Dense(1)])
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        from pytrainc import layers as layers_module
        from pytrainc.layers.rnn import _RNN

        layer = _layer_arg("Bidirectional", layer)
        if not isinstance(layer, _RNN):
            raise ValueError(
                f"Please initialize `Bidirectional` layer with a recurrent layer (SimpleRNN, LSTM, GRU). "
                f"Received: {layer}"
            )
        if merge_mode not in _KINDS:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                f"{list(_KINDS)} (None, which returns both outputs, is not supported yet)"
            )
        if weights is not None:
            raise ValueError("pytrainc's Bidirectional does not take weights=; use set_weights")
        # Keras's names: forward_<name>, backward_<name> (a saved config's forward_ is not doubled)
        base = layer.name.removeprefix("forward_")
        config = layers_module.serialize(layer)
        config["config"]["name"] = f"forward_{base}"
        self.forward_layer = layers_module.deserialize(config)
        if backward_layer is None:
            config = layers_module.serialize(layer)
            config["config"].update(name=f"backward_{base}", go_backwards=not layer.go_backwards)
            backward_layer = layers_module.deserialize(config)
        else:
            backward_layer = _layer_arg("Bidirectional", backward_layer)
            if type(backward_layer) is not type(layer) or backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(
                    "Bidirectional's backward_layer must be a layer of the same class as layer with the "
                    f"opposite go_backwards. Received: layer={layer}, backward_layer={backward_layer}"
                )
            if backward_layer.return_sequences != layer.return_sequences:
                raise ValueError(
                    "Forward layer and backward layer should have the same `return_sequences` attribute. "
                    f"Received: forward_layer.return_sequences={layer.return_sequences}, "
                    f"backward_layer.return_sequences={backward_layer.return_sequences}"
                )
            if backward_layer.return_state != layer.return_state:
                raise ValueError(
                    "Forward layer and backward layer should have the same `return_state` attribute. "
                    f"Received: forward_layer.return_state={layer.return_state}, "
                    f"backward_layer.return_state={backward_layer.return_state}"
                )
            self._backward_given = True
        self.backward_layer = backward_layer
        self.backward_layer._input_order = True  # Keras flips the backward sequence back
        for sub in (self.forward_layer, self.backward_layer):  # Keras's force_zero_output_for_mask
            sub._zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._sublayers = [self.forward_layer, self.backward_layer]

    @property
    def _keras3_vars(self):
        return ("forward_layer/cell/vars", "backward_layer/cell/vars")

    def build(self, input_shape):
        self.forward_layer._build_for(tuple(input_shape[1:]))
        self.backward_layer._build_for(tuple(input_shape[1:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (2 * shape[-1],)
        return shape

    def _output_layout(self, input_shapes):
        """With return_state, Keras's outputs: [merged output, *forward states, *backward states]."""
        main = tuple(self.compute_output_shape((None, *input_shapes[0]))[1:])
        units, n = self.forward_layer.units, self.forward_layer._n_states
        return [main] + [(units,)] * (2 * n)

    def __call__(self, inputs, *args, **kwargs):
        if not self.return_state or _eager_data(inputs):
            return super().__call__(inputs, *args, **kwargs)
        first = "_call_io" not in self.__dict__
        call = self._recall([inputs], kwargs.get("mask"))
        out = _outputs.outputs_of(self, call)
        if first:  # Keras's node 0: every output out
            self._call_io = (inputs, out)
        return out

    def _recall(self, parents, mask=None):
        """The call's one graph node: with return_state, all of its outputs in a row (`_outputs`)."""
        if self.return_state and self.activity_regularizer is not None:
            raise ValueError("pytrainc's Bidirectional takes no activity_regularizer with return_state=True")
        call = Layer.__call__(self, parents[0], mask=mask)
        if self.return_state:
            call._several = True
            sizes = self._output_layout([parents[0].sample_shape])
            call.shape = (None, None if _shapes.has_none(sizes) else sum(math.prod(s) for s in sizes))
        return call

    def _emit(self, builder, in_bufs, in_shapes):
        mask = builder.input_masks[0] if builder.input_masks else None
        fwd = self.forward_layer._emit(builder, in_bufs, in_shapes)
        bwd = self.backward_layer._emit(builder, in_bufs, in_shapes)
        builder.output_mask = mask if self.return_sequences else None
        units = self.forward_layer.units
        rows = in_shapes[0][0] if self.return_sequences else 1
        states = []
        if self.return_state:  # each direction's buffer: its output, then its states
            size, n = rows * units, self.forward_layer._n_states * units
            parts = []
            for buf in (fwd, bwd):
                for start, length in ((0, size), (size, n)):
                    part = builder.buffer(length)
                    builder.op("slice", [buf], part, outer=1, extent=size + n, inner=1, start=start, step=1, len=length)
                    parts.append(part)
            fwd, states_f, bwd, states_b = parts
            states = [states_f, states_b]
        if self.merge_mode == "concat":
            out = builder.buffer(rows * 2 * units)
            builder.op("concat", [fwd, bwd], out, outer=rows)
        else:
            out = builder.buffer(rows * units)
            builder.op({"sum": "add", "mul": "multiply", "ave": "average"}[self.merge_mode], [fwd, bwd], out)
        if states:
            merged = out
            main = rows * units * (2 if self.merge_mode == "concat" else 1)
            out = builder.buffer(main + 2 * self.forward_layer._n_states * units)
            builder.op("concat", [merged, *states], out, outer=1)
            return out
        return self._emit_activity(builder, out)

    def get_config(self):
        from pytrainc import layers as layers_module

        config = {**super().get_config(), "merge_mode": self.merge_mode}
        config["layer"] = layers_module.serialize(self.forward_layer)
        if getattr(self, "_backward_given", False):
            config["backward_layer"] = layers_module.serialize(self.backward_layer)
        return config


LAYERS = {c.__name__: c for c in (RepeatVector, Permute, TimeDistributed, Bidirectional)}
