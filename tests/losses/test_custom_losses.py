"""Custom losses traced into the plan: functions `fn(y_true, y_pred)` and `Loss` subclasses with
`call`, reduced with Keras's "sum_over_batch_size"; the engine seeds the backward from them."""

import numpy as np
import pytest
import torch

import pytrainc as keras
from pytrainc import ops


def xy(n=32, s=0):
    r = np.random.default_rng(s)
    return r.normal(size=(n, 4)).astype(np.float32), r.normal(size=(n, 2)).astype(np.float32)


def model(seed=1):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(5, activation="tanh")(inp)))


def abs_plus_square(y_true, y_pred):
    e = y_true - y_pred
    return ops.mean(ops.abs(e) + 0.1 * ops.square(e), axis=-1)


def test_loss_function_trains_as_torch():
    """50 full-batch SGD steps against torch in float64: 1e-5 relative (1e-4 asked)."""
    x, y = xy()
    m = model()
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss=abs_plus_square)
    k1, b1, k2, b2 = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in m.get_weights()]
    losses = m.fit(x, y, batch_size=32, epochs=50, shuffle=False, verbose=0).history["loss"]
    opt = torch.optim.SGD([k1, b1, k2, b2], lr=0.1)
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    ref = []
    for _ in range(50):
        opt.zero_grad()
        e = yt - (torch.tanh(xt @ k1 + b1) @ k2 + b2)
        loss = torch.mean(torch.mean(torch.abs(e) + 0.1 * e**2, dim=-1))
        loss.backward()
        opt.step()
        ref.append(float(loss.detach()))
    np.testing.assert_allclose(losses, ref, rtol=1e-5)


def test_a_traced_mse_equals_the_builtin_mse_with_sample_weights():
    x, y = xy(s=2)
    w = np.random.default_rng(3).uniform(0.1, 2.0, size=32).astype(np.float32)
    a, b = model(), model()
    a.compile(optimizer="adam", loss=lambda t, p: ops.mean(ops.square(t - p), axis=-1))
    b.compile(optimizer="adam", loss="mse")
    ha = a.fit(x, y, batch_size=8, epochs=3, sample_weight=w, shuffle=False, verbose=0).history["loss"]
    hb = b.fit(x, y, batch_size=8, epochs=3, sample_weight=w, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(ha, hb, rtol=1e-5)
    np.testing.assert_allclose(a.evaluate(x, y, verbose=0), b.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


class ScaledSquares(keras.losses.Loss):
    def __init__(self, scale=2.0, name="scaled_squares"):
        super().__init__(name=name)
        self.scale = scale

    def call(self, y_true, y_pred):
        return ops.square(y_pred - y_true) * self.scale  # per-sample values of rank 2: all are averaged


def test_loss_subclass_with_call_and_a_constant():
    x, y = xy(s=4)
    offsets = np.array([0.5, -0.5], np.float32)

    class Offset(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_pred - y_true - offsets), axis=-1)  # a constant operand

    a, b = model(), model()
    a.compile(optimizer="sgd", loss=ScaledSquares(scale=2.0))
    b.compile(optimizer="sgd", loss="mse")
    b.optimizer.learning_rate = 0.02  # 2 * mse: the same steps with twice the rate
    ha = a.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history["loss"]
    hb = b.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(np.array(ha) / 2, hb, rtol=1e-5)
    c = model()
    c.compile(optimizer="sgd", loss=Offset())
    loss = c.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean((c.predict(x, verbose=0) - y - offsets) ** 2), rtol=1e-5)
    assert [w.shape for w in c.get_weights()] == [(4, 5), (5,), (5, 2), (2,)]  # the constant stays hidden
    keras.utils.clear_session()  # Keras's auto_name: the first instance of a name, then _1, _2, ...
    assert [Offset().name, Offset().name] == ["offset", "offset_1"]


def test_bad_losses_are_refused_with_the_loss_name():
    x, y = xy(n=4)

    def fit(loss):
        m = model()
        m.compile(optimizer="sgd", loss=loss)
        m.fit(x, y, epochs=1, verbose=0)

    def too_high(y_true, y_pred):
        return ops.expand_dims(y_true - y_pred, -1)

    with pytest.raises(ValueError, match=r"Loss 'too_high' returned shape \(None, 2, 1\), of higher rank than y_pred"):
        fit(too_high)

    def batch_mean(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred))

    with pytest.raises(ValueError, match=r"ops.mean \(in loss 'batch_mean'\) reduces over the batch axis"):
        fit(batch_mean)

    def branches(y_true, y_pred):
        return y_pred if ops.max(y_pred, axis=-1) else y_true

    with pytest.raises(TypeError, match="in the call of loss 'branches': it cannot be used as a Python bool"):
        fit(branches)

    with pytest.raises(TypeError, match="Loss .constant. must return per-sample values.*Received: float"):
        fit(keras.losses.LossFunctionWrapper(lambda t, p: 1.0, name="constant"))

    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*Received: reduction='total'"):
        keras.losses.Loss(reduction="total")


def test_builtin_losses_keep_their_fused_path():
    m = model()
    m.compile(optimizer="sgd", loss="mse")
    assert not m._heads[0].loss._traced
    assert not keras.losses.get("binary_crossentropy")._traced


def test_loss_base_signature_is_keras_3s_plus_keyword_from_logits():
    import inspect

    from pytrainc import testing

    real_keras = testing.keras_torch()
    ours = [(p.name, p.default) for p in inspect.signature(keras.losses.Loss).parameters.values()]
    theirs = [(p.name, p.default) for p in inspect.signature(real_keras.losses.Loss).parameters.values()]
    assert ours[: len(theirs)] == theirs and ours[len(theirs) :] == [("from_logits", False)]
    assert inspect.signature(keras.losses.Loss).parameters["from_logits"].kind is inspect.Parameter.KEYWORD_ONLY
