"""Weights updated by assignment in a traced `call` (issue #9), as BatchNormalization's moving
statistics: a custom layer with moving statistics and a custom batch normalization (batch
statistics in training, moving ones in inference) train in fit as in Keras 3 on the torch
backend from the same weights, moving weights included, over a last batch smaller than the
others; evaluate and predict use the moving values; bad uses get a clear error.
"""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops
from pytrainc.testing import keras_torch


def _layers(K):
    class Moving(K.layers.Layer):
        """Keeps moving statistics of its inputs and centres them with the moving mean."""

        def build(self, input_shape):
            c = input_shape[-1]
            self.moving_mean = self.add_weight(shape=(c,), initializer="zeros", trainable=False, name="moving_mean")
            self.moving_sq = self.add_weight(shape=(1, c), initializer="ones", trainable=False, name="moving_sq")
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

        def call(self, inputs, training=None):
            if training:
                mean = K.ops.mean(inputs, axis=0)
                self.moving_mean.assign(self.moving_mean * 0.9 + mean * 0.1)
                sq = K.ops.sum(K.ops.square(inputs), axis=0, keepdims=True) / 10.0
                self.moving_sq.assign_sub((self.moving_sq - sq) * 0.2)
                self.count.assign_add(1.0)
            return inputs - self.moving_mean

    class Norm(K.layers.Layer):
        """A batch normalization written by hand (Keras's formulas, momentum 0.8)."""

        def build(self, input_shape):
            c = input_shape[-1]
            self.gamma = self.add_weight(shape=(c,), initializer="ones", name="gamma")
            self.beta = self.add_weight(shape=(c,), initializer="zeros", name="beta")
            self.moving_mean = self.add_weight(shape=(c,), initializer="zeros", trainable=False, name="moving_mean")
            self.moving_var = self.add_weight(shape=(c,), initializer="ones", trainable=False, name="moving_var")

        def call(self, inputs, training=None):
            if training:
                mean = K.ops.mean(inputs, axis=0)
                var = K.ops.var(inputs, axis=0)
                self.moving_mean.assign(self.moving_mean * 0.8 + mean * 0.2)
                self.moving_var.assign_add((var - self.moving_var) * 0.2)
            else:
                mean, var = self.moving_mean, self.moving_var
            return (inputs - mean) * K.ops.rsqrt(var + 1e-3) * self.gamma + self.beta

    return Moving, Norm


def _model(K, which):
    Moving, Norm = _layers(K)
    inputs = K.Input((5,))
    h = K.layers.Dense(6)(inputs)
    h = (Moving() if which == "moving" else Norm())(h)
    h = K.layers.Dense(6, activation="tanh")(h)
    if which == "both":
        h = Moving()(h)
    return K.Model(inputs, K.layers.Dense(2)(h))


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5)).astype("float32") * 2 + 1
    return x, rng.normal(size=(60, 2)).astype("float32")


@pytest.mark.parametrize("which", ["moving", "norm", "both"])
def test_moving_statistics_train_as_keras(which):
    K = keras_torch()
    x, y = _data()
    kmodel, pmodel = _model(K, which), _model(keras, which)
    assert [w.shape for w in pmodel.get_weights()] == [w.shape for w in kmodel.get_weights()]
    pmodel.set_weights(kmodel.get_weights())
    for model, M in ((kmodel, K), (pmodel, keras)):
        model.compile(optimizer=M.optimizers.SGD(0.05), loss="mse")
    # batches of 16: the last of each epoch has 12 rows (its mean divides by 12); 5 epochs = 20 steps
    want = kmodel.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0).history["loss"]
    got = pmodel.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(pmodel.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pmodel.evaluate(x, y, verbose=0), kmodel.evaluate(x, y, verbose=0), rtol=1e-5)


def test_evaluate_and_predict_use_the_moving_values_and_never_write_them():
    Moving, _ = _layers(keras)
    inputs = keras.Input((3,))
    layer = Moving()
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # moving mean 0
    model.evaluate(x, x, verbose=0)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
    model.fit(x, x, batch_size=3, epochs=1, shuffle=False, verbose=0)  # batches of 3 and 1 rows
    first = 0.1 * x[:3].mean(0)
    np.testing.assert_allclose(layer.moving_mean.numpy(), first * 0.9 + 0.1 * x[3], rtol=1e-6)
    assert float(layer.count.numpy()) == 2.0
    np.testing.assert_allclose(model.predict(x, verbose=0), x - layer.moving_mean.numpy(), rtol=1e-6)


def test_moving_weights_are_saved_and_restored(tmp_path):
    x, y = _data()
    model = _model(keras, "norm")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    again = _model(keras, "norm")
    again.load_weights(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_batch_normalization_by_batch_statistics_trains_its_gradient():
    """The batch mean's and variance's gradients (through the normalized output) against torch."""
    import torch

    _, Norm = _layers(keras)
    x = np.random.default_rng(1).normal(size=(7, 4)).astype("float32")
    inputs = keras.Input((4,))
    layer = Norm()
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    target = np.zeros_like(x)
    model.fit(x, target, batch_size=7, epochs=1, verbose=0)
    t = torch.tensor(x, requires_grad=False)
    gamma = torch.ones(4, requires_grad=True)
    beta = torch.zeros(4, requires_grad=True)
    out = (t - t.mean(0)) * torch.rsqrt(t.var(0, unbiased=False) + 1e-3) * gamma + beta
    ((out**2).mean()).backward()
    np.testing.assert_allclose(layer.gamma.numpy(), 1.0 - gamma.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.beta.numpy(), -beta.grad.numpy(), atol=1e-6)


def test_reproducible_bitwise():
    x, y = _data()
    runs = []
    for _ in range(2):
        model = _model(keras, "both")
        model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.get_weights()])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def _bad(call, build=None):
    class Bad(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(3,), initializer="zeros", trainable=False, name="w")
            self.k = self.add_weight(shape=(3,), initializer="zeros", name="k")

    Bad.call = call
    return Bad(name="bad")


def test_bad_assignments_are_refused_clearly():
    def wrong_shape(self, inputs, training=None):
        if training:
            self.w.assign(ops.mean(inputs, axis=0, keepdims=True))
        return inputs

    with pytest.raises(
        ValueError, match=r"bad.*w.assign.*must match. variable.shape=\(3,\), Received: value.shape=\(1, 3\)"
    ):
        _bad(wrong_shape)(keras.Input((3,)))

    def per_sample(self, inputs, training=None):
        self.w.assign(inputs * 2.0)
        return inputs

    with pytest.raises(ValueError, match=r"one value per sample.*ops.mean\(x, axis=0\)"):
        _bad(per_sample)(keras.Input((3,)))

    def trainable(self, inputs, training=None):
        if training:
            self.k.assign(ops.mean(inputs, axis=0))
        return inputs

    with pytest.raises(ValueError, match=r"k.assign in a traced call: the variable is trainable"):
        _bad(trainable)(keras.Input((3,)))

    def in_inference(self, inputs, training=None):
        if not training:
            self.w.assign(ops.mean(inputs, axis=0))
        return inputs

    with pytest.raises(ValueError, match=r"runs with training=False.*`if training:`"):
        _bad(in_inference)(keras.Input((3,)))

    def returns_stat(self, inputs, training=None):
        return ops.mean(inputs, axis=0)

    with pytest.raises(ValueError, match=r"returned a per-batch tensor of shape \(3,\)"):
        _bad(returns_stat)(keras.Input((3,)))

    layer = _bad(wrong_shape)
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"symbolic value.*outside any call"):
        layer.w.assign(ops.mean(keras.Input((3,)), axis=-1))
    layer.w.assign(np.ones(3))  # eagerly, outside a call
    np.testing.assert_array_equal(layer.w.numpy(), 1.0)


def test_unsupported_ops_on_per_batch_tensors_are_refused_clearly():
    def softmax(self, inputs, training=None):
        return inputs * ops.softmax(ops.mean(inputs, axis=0))

    with pytest.raises(ValueError, match=r"does not take a per-batch tensor yet"):
        _bad(softmax)(keras.Input((3,)))
