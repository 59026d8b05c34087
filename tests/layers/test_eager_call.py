"""`layer(x)` and `model(x)` on arrays run eagerly (in C, through predict), as Keras runs them."""

import numpy as np
import pytest

import pytrainc
from pytrainc import layers, testing


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


def test_eager_calls_refuse_empty_or_non_numeric_data():
    dense = layers.Dense(2)
    with pytest.raises(ValueError, match=r"at least one sample\. Received: dtype=float32, shape=\(0, 3\)"):
        dense(np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="numeric arrays"):
        dense(np.array([["a", "b"]]))


def test_dropout_called_with_training_true_drops_and_scales_and_draws_new_masks():
    """Keras's Dropout in training: each unit kept with probability 1 - rate and scaled by
    1 / (1 - rate); each call draws a new mask from the layer's seeded generator."""
    x = _data((400, 5)) + 10.0  # no zeros in x
    drop = layers.Dropout(0.3, seed=7)
    y = drop(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.03  # 2000 draws: 4.7 standard deviations
    assert not np.array_equal(drop(x, training=True) != 0, kept)
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop(x, training=False), x)
    again = layers.Dropout(0.3, seed=7)  # the same seed gives the same masks
    np.testing.assert_array_equal(again(x, training=True), y)


def test_model_called_with_training_true_matches_keras_batch_normalization_and_updates_moving_stats():
    keras = testing.keras_torch()
    x = _data((16, 3), 2) * 3.0 + 1.0

    def build(lib):
        inp = lib.Input((3,))
        out = lib.layers.BatchNormalization(momentum=0.9)(lib.layers.Dense(4)(inp))
        return lib.Model(inp, out)

    ours, ref = build(pytrainc), build(keras)
    ref.set_weights(ours.get_weights())
    for _ in range(2):  # the second call normalizes by the batch again, moving stats moved twice
        got = ours(x, training=True)
        want = ref(x, training=True).detach().cpu().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for w, k in zip(ours.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(w, k, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours.get_weights()[-2], 0)  # moving_mean left its initial zeros
    np.testing.assert_allclose(ours(x), ref(x, training=False).detach().cpu().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ours(x, training=False), ours.predict(x, verbose=0))


def test_training_true_changes_no_trainable_weight_and_fit_still_trains():
    model = pytrainc.Sequential([pytrainc.Input((3,)), layers.Dense(4), layers.Dropout(0.5, seed=1), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = _data((32, 3))
    before = [w.copy() for w in model.get_weights()]
    assert not np.array_equal(model(x, training=True), model(x))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert not np.array_equal(before[0], model.get_weights()[0])
