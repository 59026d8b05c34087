"""Keras's generic recurrent layer over a cell, `keras.layers.RNN(cell)`, for the built-in cells
`SimpleRNNCell`, `LSTMCell` and `GRUCell`.

Keras computes `RNN(LSTMCell(10))` exactly as `LSTM(10)` (the layers are the cells in a loop), so
here `RNN(cell)` is that fused layer: the same C op, weights (kernel, recurrent_kernel, bias) and
`.weights.h5` paths (`cell/vars`), named 'rnn' as Keras names it. Weights move between the two
forms with `set_weights`, as in Keras's RNN guide. A cell is a description here, not a layer that
runs one step on its own: calling it, a cell class of your own and `StackedRNNCells` are refused
with a message that says so.
"""

import inspect

from pytrainc.layers import rnn
from pytrainc.layers._args import init_args
from pytrainc.layers.core import Layer, _unique_name


class _Cell(Layer):
    """A built-in cell's arguments, for RNN (its `_layer` is the fused layer it becomes)."""

    _layer = None

    def __init__(self, units, **kwargs):
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("name", "trainable", "dtype")}
        super().__init__(**kwargs)
        self._args = {"units": units, **layer_kwargs}
        self._layer(**self._args, name=f"{self.name}_args")  # Keras's argument checks, now
        self.units = units

    def __call__(self, inputs, *args, **kwargs):
        raise NotImplementedError(
            f"pytrainc runs {type(self).__name__} inside RNN only (one fused op over the whole sequence), not "
            f"one step at a time: use layers.RNN({type(self).__name__}(...)) or layers.{self._layer.__name__}(...)"
        )

    def get_config(self):
        """Keras's cell configuration: the base layer's keys and the cell's own arguments."""
        names = inspect.signature(type(self).__init__).parameters
        layer = self._layer(**self._args, name=f"{self.name}_args").get_config()
        return {**super().get_config(), **{k: v for k, v in layer.items() if k in names and k != "self"}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "trainable", "dtype"):
            config.pop(key, None)
        return cls(**config)


class SimpleRNNCell(_Cell):
    """The cell of SimpleRNN, for `RNN(SimpleRNNCell(units))` (SimpleRNN's arguments, defaults and weights)."""

    _layer = rnn.SimpleRNN

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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**init_args(locals()))


class LSTMCell(_Cell):
    """The cell of LSTM, for `RNN(LSTMCell(units))` (LSTM's arguments, defaults and weights)."""

    _layer = rnn.LSTM

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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**init_args(locals()))


class GRUCell(_Cell):
    """The cell of GRU, for `RNN(GRUCell(units))` (GRU's arguments, defaults and weights)."""

    _layer = rnn.GRU

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
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**init_args(locals()))


class RNN(Layer):
    """Keras's recurrent layer over a cell: `RNN(LSTMCell(64))` is `LSTM(64)` (the same op, weights
    and results), named 'rnn'. Built-in cells only (SimpleRNNCell, LSTMCell, GRUCell).

    Args:
        cell: A SimpleRNNCell, LSTMCell or GRUCell.
        return_sequences, return_state, go_backwards: As the recurrent layers'. Default to False.
        stateful: Only False is supported. unroll: Accepted and ignored.
        zero_output_for_mask: With return_sequences, masked steps output zeros instead of the
            last state. Defaults to False.

    Example:

    >>> model = Sequential([Input((None, 28)), RNN(LSTMCell(64)), Dense(10)])
    """

    def __new__(
        cls,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError(
                f"pytrainc's RNN takes one built-in cell; for {len(cell)} stacked cells, stack the recurrent layers "
                "(LSTM(..., return_sequences=True), then LSTM(...))"
            )
        if not isinstance(cell, _Cell):
            raise NotImplementedError(
                "pytrainc's RNN runs the built-in cells (SimpleRNNCell, LSTMCell, GRUCell) as one fused op; a cell "
                f"of your own ({type(cell).__name__}) is not supported yet: write the loop as a custom layer or use "
                "SimpleRNN/LSTM/GRU"
            )
        kwargs.setdefault("name", _unique_name("rnn"))
        kwargs.setdefault("trainable", cell.trainable)
        layer = cell._layer(
            **cell._args,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        if zero_output_for_mask:
            layer._zero_output_for_mask = True
        return layer

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        pass  # __new__ returns the fused layer, which Python does not initialize again

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Keras RNN's saved configuration: {'cell': {'class_name': 'LSTMCell', 'config': ...}, ...}."""
        from pytrainc import layers as layers_module

        config = dict(config)
        cell = config.pop("cell")
        cell = cell if isinstance(cell, _Cell) else layers_module.deserialize(cell, custom_objects)
        return cls(cell, **config)


LAYERS = {c.__name__: c for c in (RNN, SimpleRNNCell, LSTMCell, GRUCell)}
