"""Keras's rule for targets whose shape differs from the predictions' (keras/src/losses/loss.py
squeeze_or_expand_to_same_rank, then broadcasting) in fit and in standalone calls, against Keras 3
(torch backend); the EarlyStopping docstring example runs its documented 4 epochs."""

import numpy as np
import pytest

import pytrainc
from pytrainc import losses, ops, testing

keras = testing.keras_torch()

f32 = testing.f32

# Losses Keras computes on (N,) targets with (N, 1) predictions and the reverse: every regression,
# hinge and cross-entropy loss. name -> (class name, kwargs, final activation, target maker)
_reg = lambda r, n: f32(r.standard_normal(n))  # noqa: E731
_pos = lambda r, n: f32(r.uniform(0.1, 2.0, n))  # noqa: E731
_bin = lambda r, n: f32(r.integers(0, 2, n))  # noqa: E731
CASES = {
    "mse": ("MeanSquaredError", {}, None, _reg),
    "mae": ("MeanAbsoluteError", {}, None, _reg),
    "huber": ("Huber", {}, None, _reg),
    "log_cosh": ("LogCosh", {}, None, _reg),
    "mape": ("MeanAbsolutePercentageError", {}, None, _reg),
    "msle": ("MeanSquaredLogarithmicError", {}, "softplus", _pos),
    "poisson": ("Poisson", {}, "softplus", _pos),
    "kld": ("KLDivergence", {}, "sigmoid", lambda r, n: f32(r.uniform(0.1, 0.9, n))),
    "cosine": ("CosineSimilarity", {}, None, _reg),
    "hinge": ("Hinge", {}, None, _bin),
    "squared_hinge": ("SquaredHinge", {}, None, _bin),
    "categorical_hinge": ("CategoricalHinge", {}, None, _bin),
    "bce": ("BinaryCrossentropy", {}, "sigmoid", _bin),
    "bce_logits": ("BinaryCrossentropy", {"from_logits": True}, None, _bin),
    "bfce": ("BinaryFocalCrossentropy", {}, "sigmoid", _bin),
    "cce": ("CategoricalCrossentropy", {}, "sigmoid", _bin),
    "cfce": ("CategoricalFocalCrossentropy", {}, "sigmoid", _bin),
    "dice": ("Dice", {}, "sigmoid", _bin),
}


def _both(lib, units, activation, squeeze=False):
    """The same two-layer model in pytrainc (lib=pytrainc) or Keras, with a (N,) output if squeeze."""
    inp = lib.Input((3,))
    out = lib.layers.Dense(units, activation=activation)(lib.layers.Dense(4, activation="tanh")(inp))
    if squeeze:
        out = lib.layers.Lambda(lambda t: (ops if lib is pytrainc else keras.ops).squeeze(t, -1))(out)
    return lib.Model(inp, out)


def _fit_both(name, y, units=1, squeeze=False, batch_size=4, epochs=3):
    cls, kw, act, _ = CASES[name]
    pytrainc.utils.set_random_seed(2)
    m, k = _both(pytrainc, units, act, squeeze), _both(keras, units, act, squeeze)
    k.set_weights(m.get_weights())
    x = f32(testing.rng(4).standard_normal((y.shape[0], 3)))
    m.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss=getattr(losses, cls)(**kw))
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss=getattr(keras.losses, cls)(**kw))
    fit = {"batch_size": batch_size, "epochs": epochs, "shuffle": False, "verbose": 0}
    got, want = m.fit(x, y, **fit).history["loss"], k.fit(x, y, **fit).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    ev = {"batch_size": batch_size, "verbose": 0}
    np.testing.assert_allclose(m.evaluate(x, y, **ev), k.evaluate(x, y, **ev), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_targets_of_shape_n_with_predictions_n_by_1(name):
    _fit_both(name, CASES[name][3](testing.rng(1), 10))


@pytest.mark.parametrize("name", sorted(CASES))
def test_targets_n_by_1_with_predictions_of_shape_n(name):
    _fit_both(name, CASES[name][3](testing.rng(1), 10)[:, None], squeeze=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_standalone_calls_follow_the_rank_rule(name):
    cls, kw, _, make_y = CASES[name]
    r = testing.rng(6)
    y = make_y(r, 6)
    pred = f32(r.uniform(0.1, 0.9, (6, 1)))
    for yt, yp in ((y, pred), (y[:, None], pred[:, 0]), (y[:, None], pred)):
        got = getattr(losses, cls)(**kw)(yt, yp)
        want = float(getattr(keras.losses, cls)(**kw)(yt, yp))
        assert float(got) == pytest.approx(want, rel=2e-5, abs=1e-6), (name, yt.shape, yp.shape)


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "hinge", "poisson", "categorical_hinge", "kld"])
def test_targets_n_by_1_broadcast_over_the_outputs(name):
    """(N, 1) targets with (N, 3) predictions: the same rank, broadcast per sample as Keras."""
    _fit_both(name, CASES[name][3](testing.rng(3), 9)[:, None], units=3)


@pytest.mark.parametrize("name", ["mse", "huber", "squared_hinge"])
def test_targets_of_lower_rank_broadcast_with_batches_of_one(name):
    _fit_both(name, CASES[name][3](testing.rng(3), 5), units=3, batch_size=1, epochs=2)


def test_the_early_stopping_docstring_example_runs_four_epochs():
    callback = pytrainc.callbacks.EarlyStopping(monitor="loss", patience=3)
    model = pytrainc.models.Sequential([pytrainc.layers.Dense(10)])
    model.compile(pytrainc.optimizers.SGD(), loss="mse")
    history = model.fit(
        np.arange(100).reshape(5, 20), np.zeros(5), epochs=10, batch_size=1, callbacks=[callback], verbose=0
    )
    assert len(history.history["loss"]) == 4  # Only 4 epochs are run.


def test_what_keras_cannot_broadcast_is_refused():
    m = _both(pytrainc, 3, None)
    x = np.zeros((6, 3), np.float32)
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"y has fewer axes.*batch_size=1. Received: batch_size=2"):
        m.fit(x, np.zeros(6), batch_size=2, verbose=0)
    with pytest.raises(ValueError, match=r"y must have shape \(None, 3\).*Received: y.shape=\(6, 2\)"):
        m.fit(x, np.zeros((6, 2)), verbose=0)

    # Data iterators get the same check, per batch (#9): batches of one sample train, larger ones are refused.
    def batches(size):
        for start in range(0, 6, size):
            yield x[start : start + size], np.zeros(6)[start : start + size]

    m.fit(batches(1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"y \(batch 0\) has fewer axes.*batch_size=1. Received: batch_size=2"):
        m.fit(batches(2), epochs=1, verbose=0)
    m.compile(optimizer="sgd", loss="binary_crossentropy")  # Keras requires the same shape
    with pytest.raises(ValueError, match=r"y must have shape \(None, 3\).*Received: y.shape=\(6, 1\)"):
        m.fit(x, np.zeros((6, 1)), verbose=0)
