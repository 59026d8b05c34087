"""SwapEMAWeights and use_ema in fit: the end-of-fit average and the swap around evaluate/predict, against Keras 3."""

import numpy as np
import pytest

import pytrainc
from pytrainc import callbacks, optimizers, testing

keras = testing.keras_torch()
f32 = testing.f32


def _pair(**opt):
    r = testing.rng(4)
    x, y = f32(r.standard_normal((32, 3))), f32(r.standard_normal((32, 2)))
    testing.seed(0)
    model = pytrainc.Sequential([pytrainc.layers.Input((3,)), pytrainc.layers.Dense(2)])
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    km.set_weights(model.get_weights())
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1, **opt), loss="mse")
    km.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, **opt), loss="mse")
    return model, km, x, y


def test_evaluate_swaps_in_the_average_and_back_as_keras():
    model, km, x, y = _pair(use_ema=True, ema_momentum=0.5)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), km.get_weights()):  # fit ends on the average
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    model.optimizer._state["ema"][:] += 0.25  # make the average differ from the weights
    for v in km.optimizer._model_variables_moving_average:
        v.assign(v + 0.25)
    before = [w.copy() for w in model.get_weights()]
    got = model.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    want = km.evaluate(x, y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got != pytest.approx(model.evaluate(x, y, verbose=0))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    pred = model.predict(x, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(pred, x @ (before[0] + 0.25) + (before[1] + 0.25), rtol=1e-5, atol=1e-5)


def test_swap_on_epoch_leaves_the_average_in_the_model_between_epochs():
    model, km, x, y = _pair(use_ema=True)
    cb = callbacks.SwapEMAWeights(swap_on_epoch=True)
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[cb])
    km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights(True)])
    for a, b in zip(model.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_without_use_ema_the_swap_is_refused():
    model, _, x, y = _pair()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
