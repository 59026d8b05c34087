"""Denormals flushed inside the engine's calls, the caller's floating-point state kept (csrc/fpenv.h).

fit, evaluate and predict run with FTZ and DAZ set (x86-64) and restore the
caller's MXCSR on every return. Read without pytrainc._C: a float32 product
that is denormal under IEEE rules is 0 in a thread with FTZ set.
"""

import platform

import numpy as np
import pytest

import pytrainc
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

TINY = np.finfo(np.float32).tiny  # smallest normal float32, 2**-126


def denormal_product():
    # 2**-126 * 0.5 = 2**-127: a denormal, or 0 where FTZ is set.
    return float(np.float32(TINY) * np.float32(0.5))


def test_caller_fp_state_unchanged_by_fit_evaluate_predict():
    before = denormal_product()
    assert before == 2.0**-127, "this process starts with FTZ set: the test cannot see a change"
    r = np.random.default_rng(0)
    x, y = r.standard_normal((64, 6)).astype(np.float32), r.standard_normal((64, 2)).astype(np.float32)
    model = Sequential([Input((6,)), Dense(8, activation="relu"), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert denormal_product() == before
    model.evaluate(x, y, verbose=0)
    assert denormal_product() == before
    model.predict(x, verbose=0)
    assert denormal_product() == before
    model.train_on_batch(x[:16], y[:16])
    assert denormal_product() == before


def test_caller_fp_state_unchanged_after_an_engine_error():
    # A sparse label out of range is caught by the C loss inside the training loop: an early return.
    model = Sequential([Input((3,)), Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.ones((8, 3), np.float32)
    before = denormal_product()
    with pytest.raises(ValueError):
        model.fit(x, np.full(8, 7), batch_size=4, epochs=1, verbose=0)
    assert denormal_product() == before


def adam_reference(x, y, w0, lr, beta_1, beta_2, eps, batch):
    """Keras 3's Adam on a bias-free linear model with MSE, in NumPy float32 under IEEE rules (no FTZ)."""
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    f32 = np.float32
    for t, s in enumerate(range(0, len(x), batch), start=1):
        xb, yb = x[s : s + batch], y[s : s + batch]
        g = (xb.T @ (f32(2.0 / (len(xb) * y.shape[1])) * (xb @ w - yb))).astype(np.float32)
        alpha = f32(lr * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t))
        m += (g - m) * f32(1.0 - beta_1)
        v += (g * g - v) * f32(1.0 - beta_2)
        w -= (m * alpha) / (np.sqrt(v) + f32(eps))
    return w, m


def test_adam_with_denormal_moments_matches_reference():
    # Feature 0 is non-zero in the first batch only: its gradient is 0 afterwards and Adam's
    # first moment halves every step (beta_1 = 0.5) from about 0.1 into the float32 denormal
    # range (below 2**-126) after about 125 steps; after 135 the reference holds denormals.
    # Under FTZ the engine holds none: Keras's m += (g - m) * (1 - beta_1) stops where the
    # increment (-m) * 0.5 would be denormal, so m stays at a normal value near 2**-125
    # (m += 0 from then on). Every weight still agrees: such a moment moves its weight by
    # less than 1e-30, far below a float32 ulp of the weight.
    steps, batch, lr = 135, 8, 1e-2
    r = np.random.default_rng(3)
    x = r.standard_normal((steps * batch, 5)).astype(np.float32)
    x[batch:, 0] = 0.0
    y = (x @ r.standard_normal((5, 2)) + 0.1 * r.standard_normal((len(x), 2))).astype(np.float32)
    model = Sequential([Input((5,)), Dense(2, use_bias=False)])
    model.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=lr, beta_1=0.5), loss="mse")
    w0 = model.get_weights()[0]
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    w_ref, m_ref = adam_reference(x, y, w0, lr, 0.5, 0.999, 1e-7, batch)
    assert 0 < np.abs(m_ref[0]).max() < TINY, "the reference's moment of feature 0 should be denormal"
    # 135 float32 Adam steps from the same start, matmul summation order apart: the
    # trajectories agree to a few float32 ulps of the weights' size.
    np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-5, atol=1e-6)
    m = model.optimizer.variables()["m"]
    if platform.machine() in ("x86_64", "AMD64"):
        denormal = (m != 0) & (np.abs(m) < TINY)
        assert not denormal.any(), f"FTZ was not active inside fit: m = {m}"
        assert np.all((np.abs(m[:2]) >= TINY) & (np.abs(m[:2]) <= 4 * TINY)), m[:2]
    np.testing.assert_allclose(m[2:], m_ref[1:].ravel(), rtol=1e-4, atol=1e-7)
