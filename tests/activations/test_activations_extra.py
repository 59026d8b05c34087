"""The activations added for issue #11 in session 10 (sparse_sigmoid and sparsemax as C kernels,
glu traced from pytrainc.ops, threshold) and Dropout(noise_shape=): values and gradients against
torch or the definitions, the strings in layers, and Keras's names."""

import numpy as np
import pytest
import torch

import pytrainc
from pytrainc import activations, testing
from pytrainc import layers as L
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()
R = np.random.default_rng(0)


def projection(x):
    """Sparsemax by its definition (the Euclidean projection of each row onto the simplex), by bisection."""
    x = np.asarray(x, np.float64)
    lo, hi = x.max(-1, keepdims=True) - 1, x.max(-1, keepdims=True)
    for _ in range(200):
        tau = (lo + hi) / 2
        over = np.maximum(x - tau, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(over, tau, lo), np.where(over, hi, tau)
    return np.maximum(x - (lo + hi) / 2, 0)


def keras_sparsemax_fixed(x):
    """Keras's formula with keras-team/keras#23469's fix (tau from the k-th cumulative sum)."""
    z = -np.sort(-x, -1)
    cum = np.cumsum(z, -1)
    support = z - (cum - 1) / np.arange(1, x.shape[-1] + 1) > 0
    k = support.sum(-1, keepdims=True)
    return np.maximum(x - (np.where(support, z, 0).sum(-1, keepdims=True) - 1) / k, 0)


def test_keras_names_exist():
    for name in ("sparse_sigmoid", "sparsemax", "glu", "threshold"):
        assert callable(getattr(keras.activations, name)) and callable(getattr(activations, name))


def test_sparsemax_is_the_projection_in_numpy_and_in_c_and_its_gradient():
    x = (R.normal(size=(50, 7)) * 1.5).astype(np.float32)
    x[0] = [0.1, 0.2, 0.3, 0.4, 0.5, -3, 2]
    want = projection(x)
    np.testing.assert_allclose(activations.sparsemax(x), want, atol=2e-6)
    np.testing.assert_allclose(keras_sparsemax_fixed(x.astype(np.float64)), want, atol=2e-6)
    np.testing.assert_allclose(activations.sparsemax(x.T, axis=0).T, want, atol=2e-6)
    kind, alpha = activations.kind_and_alpha("sparsemax")
    y = pytrainc._C.act_forward(kind, x, alpha)
    np.testing.assert_allclose(y, want, atol=2e-6)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    # The Jacobian on the support S: I - 1 1^T / |S| (Martins & Astudillo, eq. 12)
    g = R.normal(size=x.shape).astype(np.float32)
    dx = pytrainc._C.act_backward(kind, g, x, y, alpha)
    s = y > 0
    expected = np.where(s, g - (g * s).sum(-1, keepdims=True) / s.sum(-1, keepdims=True), 0.0)
    np.testing.assert_allclose(dx, expected, atol=1e-5)


def test_sparse_sigmoid_equals_keras_and_torch_gradient():
    x = np.array([[-2, -1, -0.5, 0, 0.3, 1, 2, np.nan]], np.float32)
    theirs = keras.ops.convert_to_numpy(keras.activations.sparse_sigmoid(keras.ops.convert_to_tensor(x[:, :-1])))
    np.testing.assert_allclose(activations.sparse_sigmoid(x[:, :-1]), theirs, atol=1e-7)
    kind, alpha = activations.kind_and_alpha("sparse_sigmoid")
    y = pytrainc._C.act_forward(kind, x, alpha)
    np.testing.assert_allclose(y[:, :-1], theirs, atol=1e-7)
    assert np.isnan(y[0, -1])
    t = torch.tensor(x[:, :-1], requires_grad=True)  # Keras's torch backend: gradient 0 at the kinks
    (g,) = torch.autograd.grad(keras.activations.sparse_sigmoid(t).sum(), t)
    dx = pytrainc._C.act_backward(kind, np.ones_like(x), x, y, alpha)
    np.testing.assert_allclose(dx[:, :-1], g.numpy(), atol=1e-7)


@pytest.mark.parametrize("name", ["sparse_sigmoid", "sparsemax"])
def test_dense_activation_strings_train(name):
    x, y = testing.data(32, (6,)), testing.data(32, (1,), s=1)
    model = Sequential([L.Input((6,)), L.Dense(5, activation=name), L.Activation(name), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    assert L.Activation.from_config(L.Activation(name).get_config()).activation == name


def test_glu_layer_matches_torch_with_gradients():
    """Against torch's F.glu (Keras 3.15.1's Activation('glu') keeps the input shape symbolically, so a
    Keras model with a layer after it does not build)."""
    x, y = testing.data(8, (5,)), testing.data(8, (1,), s=1)
    model = Sequential([L.Input((5,)), L.Dense(6), L.Activation("glu"), L.Dense(1)])
    testing.randomize(model)
    w = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in model.get_weights()]
    out = torch.nn.functional.glu(torch.tensor(x, dtype=torch.float64) @ w[0] + w[1], -1) @ w[2] + w[3]
    testing.assert_close(model.predict(x, verbose=0), out.detach().numpy(), 1e-5, "glu forward")
    ((out - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    before = model.get_weights()
    model.compile(optimizer=pytrainc.optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(x, y)
    for w0, w1, t in zip(before, model.get_weights(), w):
        testing.assert_close_abs(w0 - w1, t.grad.numpy(), 1e-5)
    a = R.normal(size=(3, 4, 6)).astype(np.float32)
    want = keras.ops.convert_to_numpy(keras.activations.glu(keras.ops.convert_to_tensor(a), axis=1))
    np.testing.assert_allclose(activations.glu(a, axis=1), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="changes the shape"):
        Model(i := L.Input((4,)), L.Dense(4, activation="glu")(i)).predict(a[:, 0, :4], verbose=0)


def test_threshold_on_arrays_and_in_a_traced_layer():
    a = R.normal(size=(4, 5)).astype(np.float32)
    want = keras.ops.convert_to_numpy(keras.activations.threshold(keras.ops.convert_to_tensor(a), 0.1, -2.0))
    np.testing.assert_allclose(activations.threshold(a, 0.1, -2.0), want)
    model = Model(i := L.Input((5,)), L.Lambda(lambda t: activations.threshold(t, 0.1, -2.0))(i))
    np.testing.assert_allclose(model.predict(a, verbose=0), want)


class Builder:
    """Records the op a layer emits."""

    def buffer(self, size):
        return 1

    def rng(self, layer):
        return 0

    def op(self, name, ins, out, **args):
        self.emitted = (name, args)


def test_dropout_noise_shape_drops_whole_blocks():
    layer = L.Dropout(0.5, noise_shape=(None, 1, 6), seed=3)
    model = Model(i := L.Input((4, 6)), layer(i))
    x = np.ones((64, 4, 6), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # identity in inference

    builder = Builder()
    layer._emit(builder, [0], [(4, 6)])
    assert builder.emitted == ("spatial_dropout", {"rng": 0, "s": 4, "c": 6, "q": 1, "rate": 0.5})
    flat = x.reshape(64, 24)
    out = testing.run_op(
        "spatial_dropout", [flat], 24, rng_state=layer.rng_state.copy(), s=4, c=6, q=1, rng=0, rate=0.5
    )
    mask = out[0].reshape(64, 4, 6)
    assert set(np.unique(mask)) <= {0.0, 2.0}
    assert (mask == mask[:, :1, :]).all() and 0.3 < (mask == 0).mean() < 0.7
    assert L.Dropout.from_config(layer.get_config()).noise_shape == (None, 1, 6)
    same = Model(j := L.Input((4, 6)), L.Dropout(0.5, noise_shape=(None, 4, 6))(j))
    np.testing.assert_array_equal(same.predict(x, verbose=0), x)
    with pytest.raises(ValueError, match=r"1s between full axes takes inputs of rank <= 6"):
        Model(k := L.Input((2, 2, 2, 2, 2, 2)), L.Dropout(0.5, noise_shape=(None, 2, 1, 2, 2, 2, 2))(k))
    with pytest.raises(ValueError, match="1 .* or the input's size"):
        Model(k := L.Input((4, 6)), L.Dropout(0.5, noise_shape=(None, 2, 6))(k))


def dropout_mask(noise_shape, shape, n=400, seed=5, rate=0.4):
    """The factors a Dropout(noise_shape) layer multiplies a batch of ones by, in training."""
    layer = L.Dropout(rate, noise_shape=noise_shape, seed=seed)
    Model(i := L.Input(shape), layer(i))

    builder = Builder()
    layer._emit(builder, [0], [shape])
    name, args = builder.emitted
    width = int(np.prod(shape))
    x = np.ones((n, width), np.float32)
    out = testing.run_op(name, [x], width, rng_state=layer.rng_state.copy(), **args)
    return out[0].reshape(n, *shape), layer


@pytest.mark.parametrize(
    "noise_shape, shape, shared",
    [
        ((None, 5, 1), (5, 3), (2,)),  # Keras's rule: a 1 broadcasts the draw over that axis (whole steps)
        ((None, 1, 3), (5, 3), (1,)),  # whole channels, as SpatialDropout1D
        ((None, 1, 4, 1), (3, 4, 2), (1, 3)),  # leading and trailing 1s around one full axis
        ((None, None, 1), (5, 3), (2,)),  # None means the input's size
        ((None, 1, 1), (5, 3), (1, 2)),  # one draw per sample
    ],
)
def test_dropout_noise_shape_follows_keras_broadcast_rule(noise_shape, shape, shared):
    rate = 0.4
    mask, _ = dropout_mask(noise_shape, shape, rate=rate)
    for axis in shared:  # constant along each axis noise_shape holds a 1 on
        np.testing.assert_array_equal(mask, np.repeat(mask.take([0], axis=axis), shape[axis - 1], axis=axis))
    draws = mask[(slice(None),) + tuple(slice(0, 1) if k + 1 in shared else slice(None) for k in range(len(shape)))]
    assert set(np.unique(draws)) <= {0.0, np.float32(1 / (1 - rate))}
    # Independent draws elsewhere: the dropped fraction is rate within 4 standard errors.
    assert abs((draws == 0).mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / draws.size), (draws == 0).mean()
    if len(shared) < len(shape):  # and not one draw per sample along the full axes
        assert not np.all(draws == draws.reshape(len(draws), -1)[:, :1].reshape((-1,) + (1,) * len(shape)))
    again, _ = dropout_mask(noise_shape, shape, rate=rate)
    np.testing.assert_array_equal(mask, again)  # the layer's seeded generator: bitwise reproducible
    other, _ = dropout_mask(noise_shape, shape, rate=rate, seed=6)
    assert not np.array_equal(mask, other)


def test_dropout_noise_shape_trains_with_its_mask_in_backward():
    x = R.normal(size=(64, 5, 3)).astype(np.float32)
    y = R.normal(size=(64, 1)).astype(np.float32)
    model = Sequential([L.Input((5, 3)), L.Dropout(0.5, noise_shape=(None, 5, 1), seed=1), L.Flatten(), L.Dense(1)])
    model.compile("sgd", "mse")
    kernel = model.layers[-1].get_weights()[0].copy()
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    mask, _ = dropout_mask((None, 5, 1), (5, 3), n=64, seed=1, rate=0.5)  # the same generator, the same draw
    # SGD's step on the Dense kernel is -lr * d(mse)/dW with the dropped input, which only the mask explains.
    h = (x * mask).reshape(64, 15)
    err = h @ kernel - y
    want = kernel - 0.01 * (2 / 64) * h.T @ err
    np.testing.assert_allclose(model.layers[-1].get_weights()[0], want, rtol=1e-4, atol=1e-6)
    assert np.isclose(history.history["loss"][0], float((err**2).mean()), rtol=1e-5)


@pytest.mark.parametrize("noise_shape,shared", [((None, 5, 1, 4), (2,)), ((None, 1, 3, 1), (1, 3))])
def test_dropout_noise_shape_with_1s_between_full_axes_shares_and_trains(noise_shape, shared):
    """Keras's rule for 1s between full axes (the shared axes move last in the plan and back)."""
    torch = pytest.importorskip("torch")
    shape, rate = (5, 3, 4), 0.5
    mask = L.Dropout(rate, noise_shape=noise_shape, seed=4)(np.ones((16, *shape), np.float32), training=True)
    for axis in shared:
        np.testing.assert_array_equal(mask, np.repeat(mask.take([0], axis=axis), shape[axis - 1], axis=axis))
    assert set(np.unique(mask)) == {0.0, 2.0} and not np.all(mask == mask[:, :1, :1, :1])
    x = R.normal(size=(16, 5, 3, 2)).astype(np.float32)
    y = R.normal(size=(16, 1)).astype(np.float32)
    model = Sequential(
        [L.Input((5, 3, 2)), L.Dense(4), L.Dropout(rate, noise_shape=noise_shape, seed=4), L.Flatten(), L.Dense(1)]
    )
    model.compile("sgd", "mse")
    w = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in model.get_weights()]
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    h = (torch.tensor(x, dtype=torch.float64) @ w[0] + w[1]) * torch.tensor(mask, dtype=torch.float64)
    loss = ((h.reshape(16, -1) @ w[2] + w[3] - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    for got, ref in zip(model.get_weights(), w):  # the first Dense's step needs the mask in backward
        np.testing.assert_allclose(got, (ref - 0.01 * ref.grad).detach().numpy(), rtol=1e-4, atol=1e-6)
