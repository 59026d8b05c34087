"""`layer(x)` and `model(x)` on arrays run eagerly (in C, through predict), as Keras runs them."""

import numpy as np
import pytest

import pytrainc
from pytrainc import layers


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_dense_called_on_an_array_builds_and_computes_x_w_plus_b():
    dense = layers.Dense(4, activation="relu")
    x = _data((5, 3))
    y = dense(x)
    kernel, bias = dense.get_weights()
    assert kernel.shape == (3, 4) and isinstance(y, np.ndarray)
    np.testing.assert_allclose(y, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_a_layer_called_eagerly_after_training_uses_the_trained_weights():
    dense = layers.Dense(1)
    model = pytrainc.Sequential([pytrainc.Input((3,)), dense])
    model.compile(optimizer="sgd", loss="mse")
    x = _data((32, 3))
    before = dense(x)
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=3, verbose=0)
    after = dense(x)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.predict(x, verbose=0), rtol=1e-6)
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=1, verbose=0)  # and the model still trains it
    np.testing.assert_allclose(dense(x), model.predict(x, verbose=0), rtol=1e-6)


def test_embedding_on_int_ids_and_a_merge_on_a_list():
    emb = layers.Embedding(10, 2)
    ids = np.array([[1, 2], [3, 9]])
    np.testing.assert_array_equal(emb(ids), emb.get_weights()[0][ids])
    a, b = _data((4, 2)), _data((4, 3), 1)
    np.testing.assert_array_equal(layers.Concatenate()([a, b]), np.concatenate([a, b], axis=1))


def test_model_called_on_an_array_equals_predict_and_builds_a_sequential_without_input():
    model = pytrainc.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3)])
    x = _data((6, 4))
    y = model(x)
    assert y.shape == (6, 3) and model.built
    np.testing.assert_array_equal(y, model.predict(x, verbose=0))


def test_eager_calls_refuse_training_mode_and_empty_or_non_numeric_data():
    dense = layers.Dense(2)
    with pytest.raises(ValueError, match=r"inference mode.*Received: training=True"):
        dense(_data((2, 3)), training=True)
    with pytest.raises(ValueError, match=r"at least one sample\. Received: dtype=float32, shape=\(0, 3\)"):
        dense(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="numeric arrays"):
        dense(np.array([["a", "b"]]))
