"""Regularization losses as Keras 3 counts them, checked against Keras itself (torch backend):
activity penalties divided by the batch size, and weight penalties of trainable weights only."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()


def build(lib, frozen):
    dense = lib.layers.Dense(
        5,
        activation="tanh",
        kernel_regularizer=lib.regularizers.L2(0.02),
        activity_regularizer=lib.regularizers.L1L2(l1=0.01, l2=0.03),
    )
    head = lib.layers.Dense(2, kernel_regularizer=lib.regularizers.L1(0.05), bias_regularizer=lib.regularizers.L2(0.1))
    model = lib.Sequential([lib.Input((4,)), dense, head])
    head.trainable = not frozen
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("batch_size", [4, 16, 7])
def test_evaluate_loss_equals_keras(frozen, batch_size):
    r = np.random.default_rng(3)
    x, y = r.normal(size=(16, 4)).astype(np.float32), r.normal(size=(16, 2)).astype(np.float32)
    ours, theirs = build(pytrainc, frozen), build(keras, frozen)
    # Weights drawn here (not the initializers', which depend on the global seed's history), and
    # large: penalties that matter.
    weights = [r.normal(0.0, 1.5, w.shape).astype(np.float32) for w in ours.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    got = ours.evaluate(x, y, batch_size=batch_size, verbose=0)
    want = theirs.evaluate(x, y, batch_size=batch_size, verbose=0)
    assert got == pytest.approx(want, rel=2e-6)
    plain = float(np.mean((ours.predict(x, verbose=0) - y) ** 2))
    assert got - plain > 0.05 * got  # the penalties are a real part of the loss compared


def test_frozen_weights_add_no_penalty_and_get_no_step():
    r = np.random.default_rng(4)
    x, y = r.normal(size=(8, 4)).astype(np.float32), r.normal(size=(8, 2)).astype(np.float32)
    ours, theirs = build(pytrainc, True), build(keras, True)
    ours.set_weights(theirs.get_weights())
    before = ours.get_weights()
    got = ours.train_on_batch(x, y)
    want = theirs.train_on_batch(x, y)
    assert float(np.ravel(got)[0]) == pytest.approx(float(np.ravel(want)[0]), rel=2e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights()[2:], before[2:]))  # the frozen head
