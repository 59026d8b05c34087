"""Bidirectional(..., return_state=True): Keras 3's outputs [merged, *forward states, *backward states],
equal to Keras (KERAS_BACKEND=torch) on the same weights, trained through every output, saved and
loaded in each format; and functional `model.layers` with its InputLayers first, as Keras's."""

import os

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402

K = keras.layers
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def bidi(lib, cell, merge_mode, return_sequences):
    M = L if lib is pytrainc else K
    x = M.Input((6, 4))
    rnn = getattr(M, cell)(3, return_sequences=return_sequences, return_state=True)
    outs = M.Bidirectional(rnn, merge_mode=merge_mode, name="bi")(x)
    return (Model if lib is pytrainc else keras.Model)(x, outs)


@pytest.mark.parametrize(
    "cell, merge_mode, return_sequences",
    [("LSTM", "concat", True), ("GRU", "sum", False), ("SimpleRNN", "ave", True), ("LSTM", "mul", False)],
)
def test_outputs_equal_keras(cell, merge_mode, return_sequences):
    pt, km = bidi(pytrainc, cell, merge_mode, return_sequences), bidi(keras, cell, merge_mode, return_sequences)
    km.set_weights(pt.get_weights())
    assert pt.output_shape == km.output_shape
    x = np.random.default_rng(0).random((3, 6, 4)).astype("float32")
    got, want = pt.predict(x, verbose=0), km.predict(x, verbose=0)
    assert len(got) == len(want) == (5 if cell == "LSTM" else 3)
    for g, w in zip(got, want):
        testing.assert_close_abs(g, w, atol=1e-5)


def _trained_on_states(tmp_path):
    x = L.Input((6, 4))
    out, fh, fc, bh, bc = L.Bidirectional(L.LSTM(3, return_state=True))(x)
    model = Model(x, L.Dense(2)(L.Concatenate()([out, fh, bc])))
    model.compile("adam", "mse")
    rng = np.random.default_rng(1)
    xs, ys = rng.random((8, 6, 4)).astype("float32"), rng.random((8, 2))
    losses = model.fit(xs, ys, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    return model, xs


@pytest.mark.parametrize("ext", ["keras", "h5", "ptc"])
def test_states_train_save_and_load(tmp_path, ext):
    model, xs = _trained_on_states(tmp_path)
    path = os.path.join(tmp_path, "m." + ext)
    model.save(path)
    loaded = pytrainc.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


def test_the_trained_model_on_states_exports_to_torch(tmp_path):
    import torch

    model, xs = _trained_on_states(tmp_path)
    exported = pytrainc.interop.to_torch(model).eval()  # tests/interop/test_export_several_outputs.py has the rest
    with torch.no_grad():
        got = exported(torch.from_numpy(xs)).numpy()
    testing.assert_close_abs(got, model.predict(xs, verbose=0), atol=1e-5)


def test_backward_layer_must_match_return_state():
    with pytest.raises(ValueError, match="same `return_state`"):
        L.Bidirectional(L.LSTM(2, return_state=True), backward_layer=L.LSTM(2, go_backwards=True))


def test_functional_layers_start_with_input_layers_as_keras():
    a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
    m = Model([a, b], L.Dense(1, name="head")(L.Concatenate(name="cat")([a, b])))
    assert [layer.name for layer in m.layers] == ["a", "b", "cat", "head"]
    assert m.get_layer(index=0) is a._layer and m.get_layer(index=-1).name == "head"
    assert list(m.state_dict()) == ["1.kernel", "1.bias"]  # weight names index the computing layers
    seq = Sequential([L.Input((4,)), L.Dense(2)])
    assert [type(layer).__name__ for layer in seq.layers] == ["Dense"]  # Keras 3's Sequential: no InputLayer
    again = Sequential(m.layers[:1] + [L.Dense(2)])  # Sequential(pretrained.layers[...]) keeps working
    assert again.input_shape == (None, 4)
