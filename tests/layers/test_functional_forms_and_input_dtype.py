"""Keras's functional merge forms (`layers.add([...])`, ...) and `Input(dtype=...)` for ids."""

import inspect

import numpy as np
import pytest

import pytrainc
from pytrainc import layers, testing

keras = testing.keras_torch()

FORMS = ["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"]


@pytest.mark.parametrize("name", FORMS)
def test_functional_form_equals_its_layer_and_keras(name):
    a, b = pytrainc.Input((3,)), pytrainc.Input((3,))
    out = getattr(layers, name)([a, b], name=f"my_{name}")
    assert out._layer.name == f"my_{name}"
    ka, kb = keras.Input((3,)), keras.Input((3,))
    assert tuple(out.shape) == tuple(getattr(keras.layers, name)([ka, kb]).shape)
    ours = list(inspect.signature(getattr(layers, name)).parameters)
    theirs = list(inspect.signature(getattr(keras.layers, name)).parameters)
    assert ours == theirs


def test_functional_forms_compute_their_merge():
    x = pytrainc.Input((4,))
    h1, h2 = layers.Dense(4, name="d1")(x), layers.Dense(4, name="d2")(x)
    model = pytrainc.Model(x, layers.concatenate([layers.add([h1, h2]), layers.maximum([h1, h2])]))
    data = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    d1, d2 = ({layer.name: layer for layer in model.layers}[n].get_weights() for n in ("d1", "d2"))
    y1, y2 = data @ d1[0] + d1[1], data @ d2[0] + d2[1]
    np.testing.assert_allclose(
        model.predict(data, verbose=0), np.concatenate([y1 + y2, np.maximum(y1, y2)], 1), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("dtype", ["int32", "int64", np.int32, "uint8", "bool"])
def test_integer_inputs_feed_an_embedding(dtype):
    ids = pytrainc.Input((5,), dtype=dtype)
    model = pytrainc.Model(ids, layers.Dense(1)(layers.GlobalAveragePooling1D()(layers.Embedding(10, 3)(ids))))
    model.compile("adam", "mse")
    x = np.random.default_rng(1).integers(0, 2 if dtype == "bool" else 10, (8, 5))
    model.fit(x, np.zeros((8, 1)), epochs=1, verbose=0)
    assert ids._layer.get_config()["dtype"] == np.dtype(dtype).name


def test_integer_input_dtype_round_trips_through_keras_files(tmp_path):
    ids = pytrainc.Input((4,), dtype="int32")
    model = pytrainc.Model(ids, layers.GlobalAveragePooling1D()(layers.Embedding(7, 2)(ids)))
    path = str(tmp_path / "ids.keras")
    model.save(path)
    theirs = keras.models.load_model(path)
    assert theirs.inputs[0].dtype == "int32"
    x = np.array([[1, 2, 3, 6], [0, 0, 5, 4]], dtype=np.int32)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    back = pytrainc.models.load_model(path)
    assert back.inputs[0]._layer.input_dtype == "int32"
    kpath = str(tmp_path / "keras_ids.keras")
    theirs.save(kpath)
    assert pytrainc.models.load_model(kpath).inputs[0]._layer.input_dtype == "int32"


@pytest.mark.parametrize("dtype", ["float16", "float64", "string", "complex64"])
def test_other_input_dtypes_are_refused_with_the_choices(dtype):
    with pytest.raises(ValueError, match="float32 or an integer type.*Received: dtype"):
        pytrainc.Input((3,), dtype=dtype)


def test_sequence_layers_move_both_ways_through_keras_files(tmp_path):
    # Keras keeps a recurrent layer's weights in its cell's group, and writes constraint and
    # zero_output_for_mask keys that pytrainc reads as their defaults.
    L = keras.layers
    theirs = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            L.Embedding(9, 4),
            L.LSTM(5, return_sequences=True),
            L.GRU(4, return_sequences=True),
            L.SimpleRNN(3, return_sequences=True),
            L.LayerNormalization(),
            L.GlobalAveragePooling1D(),
        ]
    )
    path = str(tmp_path / "seq.keras")
    theirs.save(path)
    ours = pytrainc.models.load_model(path)
    x = np.random.default_rng(0).integers(0, 9, (3, 6)).astype(np.int32)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)
    back = str(tmp_path / "back.keras")
    ours.save(back)
    np.testing.assert_allclose(
        keras.models.load_model(back).predict(x, verbose=0), ours.predict(x, verbose=0), atol=1e-6
    )
