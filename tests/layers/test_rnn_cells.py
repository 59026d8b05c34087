"""`layers.RNN` over the built-in cells (pytrainc/layers/rnn_cells.py) against Keras 3 on its torch
backend: `RNN(LSTMCell(u))` computes what Keras's does with the same weights (1e-5: float32
recurrences in two implementations), takes an LSTM's weights as Keras's RNN guide moves them, loads
from Keras's model JSON, and has Keras's signatures. Cells of your own are refused by name."""

import functools
import inspect

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402

close = functools.partial(testing.assert_close_abs, atol=1e-5)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
CELLS = ["SimpleRNNCell", "LSTMCell", "GRUCell"]


def pair(cell, **rnn_kwargs):
    out = []
    for lib in (pytrainc, keras):
        x = lib.Input((7, 5))
        out.append(lib.Model(x, lib.layers.RNN(getattr(lib.layers, cell)(4), **rnn_kwargs)(x)))
    pt, km = out
    rng = np.random.default_rng(0)
    pt.set_weights([w + rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in pt.get_weights()])
    km.set_weights(pt.get_weights())
    return pt, km


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True}])
@pytest.mark.parametrize("cell", CELLS)
def test_rnn_over_a_cell_predicts_as_keras(cell, kwargs):
    pt, km = pair(cell, **kwargs)
    x = testing.data(3, (7, 5))
    close(pt.predict(x, verbose=0), km.predict(x, verbose=0))


@pytest.mark.parametrize("cell", CELLS)
def test_return_state_and_training_as_keras(cell):
    pt, km = pair(cell, return_state=True)
    x = testing.data(3, (7, 5))
    for a, b in zip(pt.predict(x, verbose=0), km.predict(x, verbose=0)):
        close(a, b)
    x1 = pytrainc.Input((7, 5))
    pt1 = pytrainc.Model(x1, L.Dense(1)(L.RNN(getattr(L, cell)(4, dropout=0.0))(x1)))
    x2 = keras.Input((7, 5))
    km1 = keras.Model(x2, keras.layers.Dense(1)(keras.layers.RNN(getattr(keras.layers, cell)(4))(x2)))
    km1.set_weights(pt1.get_weights())
    pt1.compile(pytrainc.optimizers.SGD(0.1), "mse")
    km1.compile(keras.optimizers.SGD(0.1), "mse")
    y = testing.data(3, (1,), s=5)
    close([float(pt1.train_on_batch(x, y)) for _ in range(3)], [float(km1.train_on_batch(x, y)) for _ in range(3)])


def test_weights_move_from_lstm_as_in_the_rnn_guide():
    fused = pytrainc.Sequential([L.Input((None, 6)), L.LSTM(8), L.BatchNormalization(), L.Dense(3)])
    looped = pytrainc.Sequential([L.Input((None, 6)), L.RNN(L.LSTMCell(8)), L.BatchNormalization(), L.Dense(3)])
    looped.set_weights(fused.get_weights())
    x = testing.data(4, (9, 6))
    np.testing.assert_array_equal(looped.predict(x, verbose=0), fused.predict(x, verbose=0))
    assert looped.layers[0].name.startswith("rnn")


@pytest.mark.parametrize("cell", CELLS)
def test_loads_keras_model_json(cell):
    x = keras.Input((7, 5))
    km = keras.Model(x, keras.layers.RNN(getattr(keras.layers, cell)(4, activation="relu"), return_sequences=True)(x))
    pt = pytrainc.models.model_from_json(km.to_json())
    pt.set_weights(km.get_weights())
    xs = testing.data(2, (7, 5))
    close(pt.predict(xs, verbose=0), km.predict(xs, verbose=0))


@pytest.mark.parametrize("name", ["RNN", *CELLS])
def test_signatures_are_keras(name):
    assert inspect.signature(getattr(L, name)) == inspect.signature(getattr(keras.layers, name))


def test_cell_config_is_keras():
    for cell in CELLS:
        got = getattr(L, cell)(3, name="c").get_config()
        want = getattr(keras.layers, cell)(3, name="c").get_config()
        assert set(got) <= set(want), set(got) - set(want)
        assert {k: got[k] for k in ("units", "activation", "use_bias", "dropout")} == {
            k: want[k] for k in ("units", "activation", "use_bias", "dropout")
        }


def test_what_is_refused():
    class MyCell(pytrainc.layers.Layer):
        state_size = 4

        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(NotImplementedError, match="a cell of your own .MyCell."):
        L.RNN(MyCell())
    with pytest.raises(NotImplementedError, match="2 stacked cells"):
        L.RNN([L.LSTMCell(3), L.LSTMCell(3)])
    with pytest.raises(NotImplementedError, match="inside RNN only"):
        L.LSTMCell(3)(np.zeros((1, 5), np.float32), [np.zeros((1, 3), np.float32)])
    with pytest.raises(ValueError, match="units"):
        L.GRUCell(-1)
    with pytest.raises(ValueError, match="stateful"):
        L.RNN(L.GRUCell(3), stateful=True)


def test_loads_a_keras_file_with_an_rnn_over_a_cell(tmp_path):
    x = keras.Input((7, 5))
    h = keras.layers.RNN(keras.layers.GRUCell(4), return_sequences=True)(x)
    km = keras.Model(x, keras.layers.Dense(2)(keras.layers.RNN(keras.layers.LSTMCell(3))(h)))
    km.save(tmp_path / "m.keras")
    pt = pytrainc.models.load_model(tmp_path / "m.keras")
    xs = testing.data(2, (7, 5))
    close(pt.predict(xs, verbose=0), km.predict(xs, verbose=0))
