"""Keras 3's loss reductions ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight",
"none") against Keras 3 (torch backend): the C loss's value and gradient per reduction, standalone
calls on arrays, training trajectories (built-in and traced losses), configs and deserialize."""

import numpy as np
import pytest

import pytrainc
from pytrainc import _C, losses, ops, testing

keras = testing.keras_torch()
import torch  # noqa: E402  (after keras_torch, which sets the backend)

f32 = testing.f32
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight"]


def _normal(r, n, d):
    return f32(r.standard_normal((n, d)))


def _prob(r, n, d):
    return f32(r.uniform(0.05, 0.95, (n, d)))


def _binary(r, n, d):
    return f32(r.integers(0, 2, (n, d)))


def _onehot(r, n, d):
    return f32(np.eye(d)[r.integers(0, d, n)])


def _ids(r, n, d):
    return f32(r.integers(0, d, (n, 1)))


# name -> (class name, kwargs, prediction maker, target maker)
CASES = {
    "mse": ("MeanSquaredError", {}, _normal, _normal),
    "mae": ("MeanAbsoluteError", {}, _normal, _normal),
    "huber": ("Huber", {"delta": 0.5}, _normal, _normal),
    "log_cosh": ("LogCosh", {}, _normal, _normal),
    "hinge": ("Hinge", {}, _normal, _binary),
    "squared_hinge": ("SquaredHinge", {}, _normal, _binary),
    "categorical_hinge": ("CategoricalHinge", {}, _normal, _onehot),
    "cosine": ("CosineSimilarity", {}, _normal, _normal),
    "kld": ("KLDivergence", {}, _prob, _prob),
    "poisson": ("Poisson", {}, _prob, _prob),
    "mape": ("MeanAbsolutePercentageError", {}, _normal, _normal),
    "msle": ("MeanSquaredLogarithmicError", {}, _prob, _prob),
    "bce": ("BinaryCrossentropy", {}, _prob, _binary),
    "bce_logits": ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, _normal, _binary),
    "cce": ("CategoricalCrossentropy", {}, _prob, _onehot),
    "cce_logits": ("CategoricalCrossentropy", {"from_logits": True}, _normal, _onehot),
    "scce": ("SparseCategoricalCrossentropy", {}, _prob, _ids),
    "scce_ignore": ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, _normal, _ids),
    "bfce": ("BinaryFocalCrossentropy", {"gamma": 1.5}, _prob, _binary),
    "cfce": ("CategoricalFocalCrossentropy", {}, _prob, _onehot),
    "dice": ("Dice", {}, _prob, _binary),
    "dice_rows": ("Dice", {"axis": -1}, _prob, _binary),
    "tversky": ("Tversky", {"alpha": 0.3, "beta": 0.7}, _prob, _binary),
}


def pair(name, reduction):
    cls, kw, _, _ = CASES[name]
    return getattr(losses, cls)(reduction=reduction, **kw), getattr(keras.losses, cls)(reduction=reduction, **kw)


def data(name, n=7, d=4, s=3):
    _, _, make_pred, make_y = CASES[name]
    r = testing.rng(s)
    return make_pred(r, n, d), make_y(r, n, d), f32(r.uniform(0.2, 2.0, n))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_c_loss_reduces_as_keras(name, reduction, weighted):
    """The plan's kernel (through _C.loss): value and gradient against torch autograd on Keras."""
    loss, kloss = pair(name, reduction)
    pred, y, w = data(name)
    w = w if weighted else None
    kind = loss._fused if loss.from_logits else loss._kind
    got, dpred = _C.loss(kind, pred, y, w, loss._param_array())
    p = torch.tensor(pred, requires_grad=True)
    value = kloss(torch.tensor(y), p, None if w is None else torch.tensor(w))
    value.backward()
    grad = p.grad.numpy()
    assert got == pytest.approx(float(value.detach()), rel=1e-5, abs=1e-6), (name, reduction)
    np.testing.assert_allclose(dpred, grad, rtol=1e-4, atol=1e-5 * max(np.abs(grad).max(), 1e-3))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["none", None])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_standalone_call_gives_keras_value(name, reduction, weighted):
    loss, kloss = pair(name, reduction)
    pred, y, w = data(name, s=5)
    w = w if weighted else None
    got = loss(y, pred, sample_weight=w)
    want = np.asarray(kloss(y, pred, sample_weight=w))
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


class ScaledSquares(losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1) * 0.5


class KerasScaledSquares(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) * 0.5


def _models(outputs=2, seed=4):
    pytrainc.utils.set_random_seed(seed)
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(5, activation="tanh")])
    m.add(pytrainc.layers.Dense(outputs))
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(outputs)])
    k.set_weights(m.get_weights())
    return m, k


def _fit_both(loss, kloss, x, y, w, epochs=4, batch_size=5):
    m, k = _models(y.shape[-1])
    m.compile(optimizer=pytrainc.optimizers.SGD(0.05), loss=loss)
    k.compile(optimizer=keras.optimizers.SGD(0.05), loss=kloss)
    kw = {"batch_size": batch_size, "epochs": epochs, "shuffle": False, "verbose": 0, "sample_weight": w}
    got = m.fit(x, y, **kw).history["loss"]
    want = k.fit(x, y, **kw).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    testing.assert_weights_close(m.get_weights(), [v.numpy() for v in k.weights], rtol=1e-4)
    return m, k


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "mean"])
def test_training_with_a_reduction_follows_keras(reduction, weighted):
    r = testing.rng(8)
    x, y = f32(r.standard_normal((13, 3))), f32(r.standard_normal((13, 2)))
    w = f32(r.uniform(0.1, 2.0, 13)) if weighted else None
    m, k = _fit_both(losses.Huber(reduction=reduction), keras.losses.Huber(reduction=reduction), x, y, w)
    kw = {"batch_size": 4, "verbose": 0, "sample_weight": w}
    np.testing.assert_allclose(m.evaluate(x, y, **kw), k.evaluate(x, y, **kw), rtol=1e-4)


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight"])
def test_a_traced_loss_subclass_reduces_as_keras(reduction):
    r = testing.rng(9)
    x, y = f32(r.standard_normal((12, 3))), f32(r.standard_normal((12, 2)))
    w = f32(r.uniform(0.1, 2.0, 12))
    _fit_both(ScaledSquares(reduction=reduction), KerasScaledSquares(reduction=reduction), x, y, w)


def test_a_traced_loss_function_with_reduction_sum():
    r = testing.rng(10)
    x, y = f32(r.standard_normal((12, 3))), f32(r.standard_normal((12, 2)))
    fn = losses.LossFunctionWrapper(lambda t, p: ops.mean(ops.abs(t - p), axis=-1), reduction="sum", name="l1")
    from keras.src.losses.losses import LossFunctionWrapper  # not exported by keras.losses

    kfn = LossFunctionWrapper(lambda t, p: keras.ops.mean(keras.ops.abs(t - p), axis=-1), reduction="sum", name="l1")
    _fit_both(fn, kfn, x, y, None)


def test_reduction_none_is_refused_in_a_model():
    m, _ = _models()
    m.compile(optimizer="sgd", loss=losses.MeanSquaredError(reduction="none"))
    with pytest.raises(ValueError, match="reduction='none'.*one loss value per batch"):
        m.fit(np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*Received: reduction='avg'"):
        losses.Hinge(reduction="avg")
    with pytest.raises(ValueError, match="float32.*Received: dtype='float16'"):
        losses.Hinge(dtype="float16")


@pytest.mark.parametrize("name", sorted(CASES))
def test_configs_and_names_match_keras(name):
    loss, kloss = pair(name, "sum")
    default, kdefault = getattr(losses, CASES[name][0])(), getattr(keras.losses, CASES[name][0])()
    assert default.name == kdefault.name and default.reduction == kdefault.reduction == "sum_over_batch_size"
    assert loss.get_config()["reduction"] == "sum" and loss.dtype == "float32"
    back = losses.deserialize(losses.serialize(loss))
    assert type(back) is type(loss) and back.get_config() == loss.get_config()
    assert back._param_array().tolist() == loss._param_array().tolist()
    # Keras's own config loads too
    from_keras = losses.deserialize(keras.losses.serialize(kloss))
    assert type(from_keras) is type(loss) and from_keras.reduction == "sum"


def test_deserialize_takes_custom_objects():
    config = losses.serialize(ScaledSquares(reduction="mean_with_sample_weight", name="half"))
    with pytest.raises(ValueError, match="ScaledSquares"):
        losses.deserialize(config)
    loss = losses.deserialize(config, custom_objects={"ScaledSquares": ScaledSquares})
    assert isinstance(loss, ScaledSquares) and loss.name == "half" and loss.reduction == "mean_with_sample_weight"
    assert losses.deserialize("huber").name == "huber_loss"


@pytest.mark.parametrize("reduction", REDUCTIONS + ["none"])
def test_a_loss_subclass_called_on_arrays_gives_keras_value(reduction):
    r = testing.rng(12)
    y, p, w = f32(r.standard_normal((5, 3))), f32(r.standard_normal((5, 3))), f32(r.uniform(0.1, 2.0, 5))
    got = ScaledSquares(reduction=reduction)(y, p, sample_weight=w)
    want = np.asarray(KerasScaledSquares(reduction=reduction)(y, p, sample_weight=w))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
