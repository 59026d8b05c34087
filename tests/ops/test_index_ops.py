"""The second batch of `pytrainc.ops` (issue #9): slicing, split, stack, take, take_along_axis,
one_hot, prod, var, std, argmax/argmin, logsumexp, softmax on any axis, arange, einsum, and
`pytrainc.random`.

Eagerly against NumPy; traced into a plan against NumPy (predict) and against torch.autograd
(SGD trajectories whose every step goes through the ops' C backward). Tolerances: float32
kernels against float64 references, values of order 1.
"""

import numpy as np
import pytest
import scipy.special as sp
import torch

import pytrainc as keras
from pytrainc import ops, random
from pytrainc.testing import data

R = np.random.default_rng(3)
X = R.normal(size=(2, 3, 4)).astype(np.float32)
I = np.argsort(X, axis=1)

EAGER = {
    "split": (lambda: ops.split(X, [1, 3], axis=-1)[1], lambda: np.split(X, [1, 3], axis=-1)[1]),
    "split-sections": (lambda: ops.split(X, 3, axis=1)[2], lambda: np.split(X, 3, axis=1)[2]),
    "stack": (lambda: ops.stack([X, 2 * X], axis=-1), lambda: np.stack([X, 2 * X], -1)),
    "take": (lambda: ops.take(X, [3, -1, 0], axis=2), lambda: np.take(X, [3, -1, 0], axis=2)),
    "take-flat": (lambda: ops.take(X, [[5, 23]]), lambda: np.take(X, [[5, 23]])),
    "take_along_axis": (lambda: ops.take_along_axis(X, I, axis=1), lambda: np.take_along_axis(X, I, 1)),
    "one_hot": (lambda: ops.one_hot(np.array([0, 3, 2, 7]), 4), lambda: np.eye(5, 4)[[0, 3, 2, 4]]),
    "prod": (lambda: ops.prod(X, axis=(0, 2)), lambda: X.prod((0, 2))),
    "prod-keepdims": (lambda: ops.prod(X, axis=1, keepdims=True), lambda: X.prod(1, keepdims=True)),
    "var": (lambda: ops.var(X, axis=1), lambda: X.var(1)),
    "std": (lambda: ops.std(X), lambda: X.std()),
    "argmax": (lambda: ops.argmax(X, axis=1), lambda: X.argmax(1)),
    "argmin-flat": (lambda: ops.argmin(X), lambda: X.argmin()),
    "argmax-keepdims": (lambda: ops.argmax(X, axis=-1, keepdims=True), lambda: X.argmax(-1)[..., None]),
    "logsumexp": (lambda: ops.logsumexp(X, axis=(1, 2)), lambda: sp.logsumexp(X, axis=(1, 2))),
    "logsumexp-all": (lambda: ops.logsumexp(X), lambda: sp.logsumexp(X)),
    "softmax-axis1": (lambda: ops.softmax(X, axis=1), lambda: sp.softmax(X, axis=1)),
    "log_softmax-axis0": (lambda: ops.log_softmax(X, axis=0), lambda: sp.log_softmax(X, axis=0)),
    "arange": (lambda: ops.arange(1, 7, 2), lambda: np.arange(1, 7, 2)),
    "einsum-matmul": (lambda: ops.einsum("ij,jk->ik", X[0], X[1].T), lambda: X[0] @ X[1].T),
    "einsum-batched": (lambda: ops.einsum("bij,bkj->bik", X, X), lambda: np.einsum("bij,bkj->bik", X, X)),
    "einsum-implicit": (lambda: ops.einsum("ij,kj", X[0], X[1]), lambda: np.einsum("ij,kj", X[0], X[1])),
    "einsum-ellipsis": (lambda: ops.einsum("...j,j->...", X, X[0, 0]), lambda: np.einsum("...j,j->...", X, X[0, 0])),
    "einsum-sum-transpose": (lambda: ops.einsum("bij->jb", X), lambda: np.einsum("bij->jb", X)),
    "einsum-three": (
        lambda: ops.einsum("bi,ji,j->b", X[:, 0], X[0], X[1, :, 0]),
        lambda: np.einsum("bi,ji,j->b", X[:, 0], X[0], X[1, :, 0]),
    ),
}


@pytest.mark.parametrize("name", sorted(EAGER))
def test_eager_ops_match_numpy(name):
    got, ref = EAGER[name][0](), EAGER[name][1]()
    assert isinstance(got, np.ndarray) and got.shape == np.shape(ref)
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)


def test_eager_argmax_gives_integers_and_ties_take_the_first():
    out = ops.argmax(np.array([[1.0, 3.0, 3.0], [np.nan, 5.0, np.nan]]), axis=-1)
    assert out.dtype == np.int64 and out.tolist() == [1, 0]  # NumPy's: the first maximum, NaN counts as one


SYMBOLIC = {
    # name: (function of a (None, 4, 6) tensor, the same on a NumPy batch)
    "getitem-slice": (lambda x: x[:, 1:3], lambda x: x[:, 1:3]),
    "getitem-ellipsis": (lambda x: x[..., 0], lambda x: x[..., 0]),
    "getitem-step-newaxis": (lambda x: x[:, ::-2, None, 2:5], lambda x: x[:, ::-2, None, 2:5]),
    "getitem-int": (lambda x: x[:, -1], lambda x: x[:, -1]),
    "split": (lambda x: ops.split(x, 2, axis=-1)[1], lambda x: x[..., 3:]),
    "stack": (lambda x: ops.stack([x, -x], axis=1), lambda x: np.stack([x, -x], 1)),
    "take": (lambda x: ops.take(x, [5, 0, 0], axis=2), lambda x: np.take(x, [5, 0, 0], axis=2)),
    "take_along_axis": (
        lambda x: ops.take_along_axis(x, ops.argmax(x, axis=-1, keepdims=True), axis=-1),
        lambda x: x.max(-1, keepdims=True),
    ),
    "one_hot-argmax": (lambda x: ops.one_hot(ops.argmax(x, axis=-1), 6), lambda x: np.eye(6)[x.argmax(-1)]),
    "argmin": (lambda x: ops.argmin(x, axis=1), lambda x: x.argmin(1)),
    "prod": (lambda x: ops.prod(x, axis=(1, 2), keepdims=True), lambda x: x.prod((1, 2), keepdims=True)),
    "var": (lambda x: ops.var(x, axis=-1), lambda x: x.var(-1)),
    "std": (lambda x: ops.std(x, axis=(1, 2)), lambda x: x.std((1, 2))),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), lambda x: sp.logsumexp(x, axis=1)),
    "softmax-axis1": (lambda x: ops.softmax(x, axis=1), lambda x: sp.softmax(x, axis=1)),
    "log_softmax-axis1": (lambda x: ops.log_softmax(x, axis=-2), lambda x: sp.log_softmax(x, axis=1)),
    "einsum-weight": (
        lambda x: ops.einsum("bij,jk->bik", x, np.ones((6, 3), np.float32)),
        lambda x: x @ np.ones((6, 3)),
    ),
    "einsum-pair": (lambda x: ops.einsum("bij,bkj->bik", x, x), lambda x: np.einsum("bij,bkj->bik", x, x)),
    "einsum-weight-first": (
        lambda x: ops.einsum("kj,bij->bki", np.arange(12, dtype=np.float32).reshape(2, 6), x),
        lambda x: np.einsum("kj,bij->bki", np.arange(12).reshape(2, 6), x),
    ),
    "arange": (lambda x: x * ops.arange(6.0), lambda x: x * np.arange(6)),
}


@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_symbolic_ops_predict_as_numpy(name):
    fn, ref = SYMBOLIC[name]
    x = data(5, (4, 6), 1)
    inp = keras.Input((4, 6))
    out = fn(inp)
    expected = ref(x)
    assert out.shape == (None,) + expected.shape[1:]
    np.testing.assert_allclose(keras.Model(inp, out).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


# Differentiable ops between two Dense layers: (pytrainc, torch) on a (batch, 4, 6) tensor.
TRAINED = {
    "getitem": (lambda t: t[:, 1:3, ::2] * t[:, 0:2, 1::2], lambda t: t[:, 1:3, ::2] * t[:, 0:2, 1::2]),
    "split-stack": (
        lambda t: ops.stack(ops.split(t, [2, 4], axis=-1)[1:], axis=1),
        lambda t: torch.stack([t[..., 2:4], t[..., 4:6]], 1),
    ),
    "take": (lambda t: ops.take(t, [5, 0, 0, 3], axis=2), lambda t: t[:, :, [5, 0, 0, 3]]),
    "take_along_axis": (
        lambda t: ops.take_along_axis(t, ops.argmin(t, axis=1, keepdims=True), axis=1),
        lambda t: torch.take_along_dim(t, t.argmin(1, keepdim=True), 1),
    ),
    "prod": (lambda t: ops.prod(t, axis=-1), lambda t: t.prod(-1)),
    "var-std": (
        lambda t: ops.var(t, axis=-1) + ops.std(t, axis=(1, 2), keepdims=True)[:, 0],
        lambda t: t.var(-1, unbiased=False) + t.std((1, 2), unbiased=False, keepdim=True)[:, 0],
    ),
    "logsumexp": (lambda t: ops.logsumexp(t, axis=1), lambda t: torch.logsumexp(t, 1)),
    "softmax-axis1": (lambda t: ops.softmax(t, axis=1) * t, lambda t: torch.softmax(t, 1) * t),
    "einsum": (
        lambda t: (
            ops.einsum("bij,bkj->bik", t, t) + ops.einsum("bij,ik->bkj", t, np.eye(4, dtype=np.float32))[:, :, 0:4]
        ),
        lambda t: (
            torch.einsum("bij,bkj->bik", t, t) + torch.einsum("bij,ik->bkj", t, torch.eye(4, dtype=t.dtype))[:, :, 0:4]
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(TRAINED))
def test_traced_ops_train_as_torch(name):
    """20 full-batch SGD steps through Dense(24) -> (4, 6) -> op -> Dense(1): the loss trajectory
    matches torch's float64 autograd (the ops' C backward reaches the first Dense's weights)."""
    fn, tfn = TRAINED[name]
    x = data(16, (5,), 2)
    y = np.sin(x.sum(1, keepdims=True)).astype(np.float32)
    inp = keras.Input((5,))
    h = ops.reshape(keras.layers.Dense(24)(inp), (None, 4, 6))
    h = keras.layers.Flatten()(keras.layers.Lambda(fn)(h))
    model = keras.Model(inp, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    w0 = model.get_weights()
    losses = model.fit(x, y, batch_size=16, epochs=20, shuffle=False, verbose=0).history["loss"]
    ws = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in w0]
    opt = torch.optim.SGD(ws, lr=0.01)
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    ref = []
    for _ in range(20):
        opt.zero_grad()
        h = tfn((xt @ ws[0] + ws[1]).reshape(-1, 4, 6)).reshape(16, -1)
        loss = torch.mean((h @ ws[2] + ws[3] - yt) ** 2)
        loss.backward()
        opt.step()
        ref.append(float(loss.detach()))
    np.testing.assert_allclose(losses, ref, rtol=1e-4)


def test_take_on_a_weight_is_an_embedding_lookup_that_trains():
    class Lookup(keras.layers.Layer):
        def build(self, input_shape):
            self.table = self.add_weight(shape=(7, 3), initializer="random_normal")

        def call(self, ids):
            return ops.take(self.table, ids, axis=0)

    ids = R.integers(0, 7, size=(32, 4)).astype(np.float32)
    inp = keras.Input((4,))
    lookup = Lookup()
    out = lookup(inp)
    assert out.shape == (None, 4, 3)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(out)))
    table = lookup.table.numpy()
    np.testing.assert_allclose(keras.Model(inp, out).predict(ids, verbose=0), table[ids.astype(int)], rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(ids, np.ones((32, 1), np.float32), epochs=2, verbose=0)
    assert not np.allclose(lookup.table.numpy(), table)
    bad = ids.copy()
    bad[3, 1] = 9.0
    with pytest.raises(ValueError, match=r"take\) expects integer indices in \[-7, 7\). Received: a value of 9.0"):
        model.predict(bad, verbose=0)


class NoisyDense(keras.layers.Layer):
    """A layer that adds keras.random.normal noise (GaussianNoise's pattern) from its SeedGenerator."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = random.SeedGenerator(seed)

    def call(self, x):
        noise = random.normal(ops.shape(x), stddev=0.5, seed=self.seed_generator)
        return x + noise + random.uniform(ops.shape(x), minval=-0.1, maxval=0.1, seed=self.seed_generator)


def _noisy_model(seed):
    keras.utils.set_random_seed(0)
    inp = keras.Input((3,))
    hidden = keras.layers.Dense(4)(inp)
    noisy = NoisyDense(seed)(hidden)
    model = keras.Model(inp, keras.layers.Dense(1)(noisy))
    model.compile(optimizer="sgd", loss="mse")
    return model, keras.Model(inp, hidden), keras.Model(inp, noisy)


def test_random_draws_in_the_plan_are_fresh_per_batch_and_reproducible():
    x, y = data(64, (3,), 4), data(64, (1,), 5)
    first = _noisy_model(7)[0].fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    again = _noisy_model(7)[0].fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    other = _noisy_model(8)[0].fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert first == again and first != other
    _, hidden, noisy = _noisy_model(7)
    a, b = noisy.predict(x, verbose=0), noisy.predict(x, verbose=0)
    noise = a - hidden.predict(x, verbose=0)
    assert not np.allclose(a, b)  # a new draw per pass
    assert (
        abs(noise.std() - np.sqrt(0.25 + 0.2**2 / 12)) < 0.05 and abs(noise.mean()) < 0.1
    )  # 256 draws: 3 standard errors


def test_eager_random_and_seed_generators():
    a = random.normal((1000,), mean=2.0, stddev=3.0, seed=1)
    np.testing.assert_array_equal(a, random.normal((1000,), mean=2.0, stddev=3.0, seed=1))  # an int seed repeats
    assert abs(a.mean() - 2.0) < 0.3 and abs(a.std() - 3.0) < 0.3
    gen = random.SeedGenerator(5)
    u1, u2 = random.uniform((2, 500), seed=gen), random.uniform((2, 500), seed=gen)
    assert u1.shape == (2, 500) and not np.array_equal(u1, u2) and 0 <= u1.min() and u1.max() < 1
    d = random.dropout(np.ones((100, 100), np.float32), 0.25, seed=3)
    assert set(np.unique(d).tolist()) <= {0.0, float(np.float32(1 / 0.75))} and 0.2 < (d == 0).mean() < 0.3
    with pytest.raises(ValueError, match="only inside a layer's call"):
        random.normal((None, 3))
    with pytest.raises(ValueError, match="expected minval < maxval"):
        random.uniform((2,), minval=1.0, maxval=1.0)


def test_random_dropout_in_a_call_drops_in_training_only():
    class Drop(keras.layers.Layer):
        def call(self, x, training=None):
            return random.dropout(x, 0.5, seed=random.SeedGenerator(1))

    inp = keras.Input((50,))
    model = keras.Model(inp, keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(Drop()(inp)))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x, y = np.ones((20, 50), np.float32), np.zeros((20, 1), np.float32)
    assert model.evaluate(x, y, verbose=0) == 2500.0  # inference: no drop, sum 50
    trained = model.fit(x, y, batch_size=20, epochs=1, verbose=0).history["loss"][0]
    assert trained != 2500.0 and 2000 < trained < 3200  # sums of 2 * Binomial(50, 0.5)


def test_bad_indexing_and_axes_are_refused_clearly():
    x = keras.Input((4, 6))
    with pytest.raises(IndexError, match=r"the batch axis \(axis 0\) of a symbolic tensor must be taken whole"):
        x[0]
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        x[:, 4]
    with pytest.raises(IndexError, match="selects nothing"):
        x[:, 3:1]
    with pytest.raises(TypeError, match="use ops.take for an array of indices"):
        x[:, [0, 1]]
    with pytest.raises(IndexError, match="too many indices"):
        x[:, 0, 0, 0]
    with pytest.raises(ValueError, match="ops.argmax: axis 0 is the batch axis"):
        ops.argmax(x, axis=0)
    with pytest.raises(ValueError, match="ops.prod: axis=None reduces over the batch axis"):
        ops.prod(x)
    with pytest.raises(ValueError, match="cannot be split into 4 equal sections"):
        ops.split(x, 4, axis=-1)
    with pytest.raises(ValueError, match="both x and the indices are symbolic"):
        ops.take(x, x)
    with pytest.raises(TypeError, match="indices must be integers"):
        ops.take(x, [0.5], axis=1)
    with pytest.raises(ValueError, match="must match x's shape"):
        ops.take_along_axis(x, keras.Input((2, 2)), axis=1)
    with pytest.raises(ValueError, match="a repeated index in one operand"):
        ops.einsum("bii->bi", x)
    with pytest.raises(ValueError, match="the batch axis .'b'. cannot be summed over"):
        ops.einsum("bij,bjk->ik", x, keras.Input((6, 2)))
    with pytest.raises(ValueError, match="must keep the batch index 'b' first"):
        ops.einsum("bij->ib", x)
