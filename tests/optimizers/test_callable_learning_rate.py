"""A callable learning rate (issue #11), as Keras 3's "callable that takes no arguments": pytrainc
calls it before each C call (an epoch without per-batch callbacks, else per chunk or batch), Keras
at every step; a constant callable and one a callback changes between epochs train as Keras 3.15.1
(torch backend) does. Weights agree within 1e-5 after 3 epochs of 4 batches (float32 sums in a
different order: about 1e-7 per step)."""

import numpy as np
import pytest

import pytrainc
from pytrainc.testing import keras_torch


def _train(M, optimizer, callbacks=(), epochs=3):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")
    model = M.Sequential([M.Input((4,)), M.layers.Dense(3, activation="tanh"), M.layers.Dense(2)])
    model.set_weights([np.random.default_rng(i).normal(size=w.shape).astype("float32") for i, w in
                       enumerate(model.get_weights())])  # fmt: skip
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))
    return model.get_weights()


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_a_constant_callable_trains_as_keras(name):
    K = keras_torch()
    ours = _train(pytrainc, getattr(pytrainc.optimizers, name)(learning_rate=lambda: 0.01))
    theirs = _train(K, getattr(K.optimizers, name)(learning_rate=lambda: 0.01))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=1e-5)
    plain = _train(pytrainc, getattr(pytrainc.optimizers, name)(learning_rate=0.01))
    for a, b in zip(ours, plain):
        np.testing.assert_array_equal(a, b)


def test_a_callable_changed_by_a_callback_between_epochs_trains_as_keras():
    K = keras_torch()
    results = []
    for M in (pytrainc, K):
        rate = {"value": 0.05}

        class Halve(M.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                rate["value"] = 0.05 * 0.5**epoch

        opt = M.optimizers.Adam(learning_rate=lambda: rate["value"])
        results.append(_train(M, opt, callbacks=[Halve()]))
        assert float(opt.learning_rate) == pytest.approx(0.0125)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)
    fixed = _train(pytrainc, pytrainc.optimizers.Adam(learning_rate=0.05))
    assert not np.allclose(fixed[0], results[0][0], atol=1e-4)  # the changes were used


def test_a_callable_set_on_the_property_is_used():
    opt = pytrainc.optimizers.SGD(learning_rate=0.1)
    opt.learning_rate = lambda: 0.25
    assert opt.learning_rate == 0.25


def _lr():
    return 0.003


def test_get_config_is_keras_and_from_config_needs_custom_objects():
    K = keras_torch()
    ours, theirs = pytrainc.optimizers.Adam(learning_rate=_lr), K.optimizers.Adam(learning_rate=_lr)
    assert ours.get_config()["learning_rate"] == theirs.get_config()["learning_rate"]
    again = pytrainc.optimizers.Adam.from_config(ours.get_config(), custom_objects={"_lr": _lr})
    assert again.learning_rate == pytest.approx(0.003)
    with pytest.raises(ValueError, match="custom_objects"):
        pytrainc.optimizers.Adam.from_config(ours.get_config())
    with pytest.raises(ValueError, match="lambda"):
        pytrainc.optimizers.Adam(learning_rate=lambda: 0.1).get_config()


@pytest.mark.parametrize("bad", [lambda: -1.0, lambda: float("nan"), lambda x: 0.1])
def test_a_bad_callable_is_a_clear_error(bad):
    with pytest.raises((ValueError, TypeError), match="learning_rate"):
        pytrainc.optimizers.Adam(learning_rate=bad).learning_rate
