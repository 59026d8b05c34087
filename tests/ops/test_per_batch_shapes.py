"""Shape and indexing ops on weights and per-batch tensors inside a traced layer call (issue #9):
each trains as the same model in torch autograd (same initial weights, 20 SGD steps), its gradient
matches finite differences of the plan's own loss, eagerly (on a weight outside any call) each
equals NumPy, and the cases Keras refuses are refused by layer and op."""

import numpy as np
import pytest

import pytrainc
from pytrainc import layers, ops, testing

torch = pytest.importorskip("torch")

W_SHAPE = (4, 3)
M = np.linspace(-1.0, 1.0, 6, dtype="float32").reshape(3, 2)  # a constant operand
IDX = np.array([3, 0, 3])
IDX2 = np.array([[2, 0], [1, 1]])
IDX_ALONG = np.array([[0, 2], [1, 1], [2, 0], [0, 0]])

# name: (f(w) in pytrainc, the same in torch); w has shape (4, 3)
CASES = {
    "reshape": (lambda w: ops.reshape(w, (3, 4)), lambda w: w.reshape(3, 4)),
    "reshape_infer": (lambda w: ops.reshape(w, (2, -1)), lambda w: w.reshape(2, -1)),
    "transpose": (ops.transpose, lambda w: w.T),
    "transpose_3d": (
        lambda w: ops.transpose(ops.reshape(w, (2, 2, 3)), (2, 0, 1)),
        lambda w: w.reshape(2, 2, 3).permute(2, 0, 1),
    ),
    "expand_dims": (lambda w: ops.expand_dims(w, 1), lambda w: w.unsqueeze(1)),
    "expand_dims_axes": (lambda w: ops.expand_dims(w, (0, -1)), lambda w: w[None, :, :, None]),
    "squeeze": (lambda w: ops.squeeze(ops.expand_dims(w, 0), 0), lambda w: w),
    "concatenate_0": (lambda w: ops.concatenate([w, w * 2.0], axis=0), lambda w: torch.cat([w, w * 2], 0)),
    "concatenate_1": (
        lambda w: ops.concatenate([w, ops.square(w), np.ones((4, 1), "float32")], axis=1),
        lambda w: torch.cat([w, w**2, torch.ones(4, 1, dtype=w.dtype)], 1),
    ),
    "stack": (lambda w: ops.stack([w, -w], axis=1), lambda w: torch.stack([w, -w], 1)),
    "split": (lambda w: ops.split(w, [1, 3], axis=0)[1], lambda w: w[1:3]),
    "slice": (lambda w: w[1:3, ::2], lambda w: w[1:3, ::2]),
    "index": (lambda w: w[2], lambda w: w[2]),
    "index_new_axis": (lambda w: w[..., None, -1], lambda w: w[..., None, -1]),
    "take_0": (lambda w: ops.take(w, IDX, axis=0), lambda w: w[IDX]),
    "take_1": (lambda w: ops.take(w, IDX2, axis=1), lambda w: w[:, IDX2]),
    "take_flat": (lambda w: ops.take(w, np.array([0, 5, 11])), lambda w: w.flatten()[[0, 5, 11]]),
    "take_along_axis": (
        lambda w: ops.take_along_axis(w, IDX_ALONG, axis=1),
        lambda w: torch.gather(w, 1, torch.tensor(IDX_ALONG)),
    ),
    "tile": (lambda w: ops.tile(w, (2, 1)), lambda w: w.repeat(2, 1)),
    "tile_new_axis": (lambda w: ops.tile(w, (2, 1, 2)), lambda w: torch.tile(w, (2, 1, 2))),
    "broadcast_to": (
        lambda w: ops.broadcast_to(w[:, :1], (2, 4, 3)),
        lambda w: torch.broadcast_to(w[:, :1], (2, 4, 3)),
    ),
    "matmul_weights": (lambda w: ops.matmul(w, ops.transpose(w)), lambda w: w @ w.T),
    "matmul_constant": (lambda w: ops.matmul(w * 2.0, M), lambda w: (w * 2) @ torch.tensor(M, dtype=w.dtype)),
    "dot": (lambda w: ops.dot(ops.transpose(w), w), lambda w: w.T @ w),
    "einsum": (lambda w: ops.einsum("ij,kj->ik", w, w), lambda w: torch.einsum("ij,kj->ik", w, w)),
    "einsum_constant": (
        lambda w: ops.einsum("ij,jk->ki", w, M),
        lambda w: torch.einsum("ij,jk->ki", w, torch.tensor(M, dtype=w.dtype)),
    ),
    "slice_reshape_transpose": (lambda w: ops.transpose(ops.reshape(w[1:], (3, 3))), lambda w: w[1:].reshape(3, 3).T),
}


def _coefficients(shape):
    """A fixed constant of f(w)'s shape, so each entry of f(w) weighs differently in the loss."""
    n = int(np.prod(shape))
    return (np.cos(np.arange(n)) * 0.5).reshape(shape).astype("float32")


class OnWeight(layers.Layer):
    """x @ w + sum(C * tanh(f(w))): the loss sees every entry of f(w) (a permutation shows)."""

    def __init__(self, f, coefficients, **kwargs):
        super().__init__(**kwargs)
        self.f, self.c = f, coefficients

    def build(self, shape):
        self.w = self.add_weight(shape=W_SHAPE, initializer="glorot_uniform")

    def call(self, x):
        return ops.matmul(x, self.w) + ops.sum(self.c * ops.tanh(self.f(self.w)))


def _torch_shape(fn):
    return tuple(fn(torch.zeros(W_SHAPE, dtype=torch.float64)).shape)


def _layer_on_weight(name):
    f, tf = CASES[name]
    return OnWeight(f, _coefficients(_torch_shape(tf)), name="on_w")


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")


def _torch_fit(forward, w0, x, y, epochs=10, batch=8, penalty=None):
    """The epoch losses and final weights of the same SGD run in torch (float64); `penalty(*ws)`
    is added to each step's loss (a layer's add_loss)."""
    ws = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in w0]
    opt = torch.optim.SGD(ws, lr=0.1)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for b in range(len(x) // batch):
            xb, yb = (torch.tensor(a[b * batch : (b + 1) * batch], dtype=torch.float64) for a in (x, y))
            loss = ((forward(xb, *ws) - yb) ** 2).mean() + (penalty(*ws) if penalty else 0.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(total / (len(x) // batch))
    return losses, [w.detach().numpy() for w in ws]


def _assert_trains_as_torch(layer, x, y, forward, penalty=None):
    """`layer` after an Input of x's sample shape trains as `forward(x, *weights)` in torch: the
    epoch losses of 20 SGD steps and the final weights. Returns the model."""
    model = pytrainc.Sequential([pytrainc.Input(x.shape[1:]), layer])
    model.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    w0 = model.get_weights()
    got = model.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0).history["loss"]
    want, w_want = _torch_fit(forward, w0, x, y, penalty=penalty)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for w, expected in zip(model.get_weights(), w_want):
        np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-6)
    return model


def _torch_forward(name):
    tf = CASES[name][1]
    c = torch.tensor(_coefficients(_torch_shape(tf)), dtype=torch.float64)
    return lambda xb, w: xb @ w + (c * torch.tanh(tf(w))).sum()


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_op_on_a_weight_trains_as_torch(name):
    _assert_trains_as_torch(_layer_on_weight(name), *_data(), _torch_forward(name))


def _loss(model, w, x, y):
    model.set_weights([w])
    return float(model.evaluate(x, y, batch_size=len(x), verbose=0))


@pytest.mark.parametrize("name", ["transpose_3d", "concatenate_1", "take_1", "tile_new_axis", "matmul_weights"])
def test_the_gradient_reaching_the_weight_matches_finite_differences(name):
    x, y = _data(8)
    model = pytrainc.Sequential([pytrainc.Input((4,)), _layer_on_weight(name)])
    model.compile(optimizer=pytrainc.optimizers.SGD(1.0), loss="mse")
    w0 = model.get_weights()[0].copy()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    grad = w0 - model.get_weights()[0]  # one step of plain SGD at rate 1
    eps, fd = 1e-2, np.zeros_like(w0)
    for j in np.ndindex(w0.shape):
        step = np.zeros_like(w0)
        step[j] = eps
        fd[j] = (_loss(model, w0 + step, x, y) - _loss(model, w0 - step, x, y)) / (2 * eps)
    assert np.abs(fd).max() > 1e-2
    np.testing.assert_allclose(grad, fd, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_eagerly_on_a_weight_each_op_equals_numpy(name):
    layer = OnWeight(CASES[name][0], None)
    layer.build((None, 4))
    got = CASES[name][0](layer.w)  # outside any call: on the weight's value
    want = CASES[name][1](torch.tensor(layer.w.numpy(), dtype=torch.float64)).numpy()
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


class Centred(layers.Layer):
    """A batch statistic broadcast back over the batch: x - mean(x, axis=0), then a weight."""

    def build(self, shape):
        self.w = self.add_weight(shape=(4, 3))

    def call(self, x):
        centred = x - ops.expand_dims(ops.mean(x, axis=0), 0)  # (None, 4) - (1, 4)
        spread = ops.reshape(ops.transpose(ops.reshape(ops.mean(ops.square(centred), axis=0), (2, 2))), (1, 4))
        return ops.matmul(centred / ops.sqrt(spread + 1.0), self.w)


def _torch_centred(xb, w):
    centred = xb - xb.mean(0).unsqueeze(0)
    spread = (centred**2).mean(0).reshape(2, 2).T.reshape(1, 4)
    return (centred / torch.sqrt(spread + 1.0)) @ w


def test_a_batch_mean_subtracted_from_the_batch_trains_as_torch():
    x, y = _data()
    _assert_trains_as_torch(Centred(), x * 3.0 + 1.0, y, _torch_centred)


class Spread(layers.Layer):
    """A per-sample tensor broadcast to a new sample axis, weighted by a per-batch one."""

    def build(self, shape):
        self.w = self.add_weight(shape=(4, 3))

    def call(self, x):
        wide = ops.broadcast_to(ops.expand_dims(x, 1), (None, 2, 4))  # (None, 2, 4)
        return ops.sum(ops.matmul(wide * ops.stack([self.w[:, 0], self.w[:, 1]]), self.w), axis=1)


def test_broadcast_to_on_a_per_sample_tensor_trains_as_torch():
    def forward(xb, w):
        wide = torch.broadcast_to(xb[:, None], (len(xb), 2, 4))
        return ((wide * torch.stack([w[:, 0], w[:, 1]])) @ w).sum(1)

    _assert_trains_as_torch(Spread(), *_data(), forward)
    with pytest.raises(ValueError, match=r"ops.broadcast_to: shapes \(None, 4\) and \(None, 3\) cannot be broadcast"):
        ops.broadcast_to(pytrainc.Input((4,)), (None, 3))


class Lookup(layers.Layer):
    """Rows of a per-batch tensor (tanh of a weight) at per-sample indices."""

    def build(self, shape):
        self.w = self.add_weight(shape=(5, 3))

    def call(self, ids):
        return ops.sum(ops.take(ops.tanh(self.w), ids, axis=0), axis=1)


def test_rows_of_a_per_batch_tensor_at_per_sample_indices_train_as_torch():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 5, size=(16, 2)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    _assert_trains_as_torch(Lookup(), ids, y, lambda xb, w: torch.tanh(w)[xb.long()].sum(1))


def _layer(body):
    class Bad(layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=W_SHAPE)

        def call(self, x):
            return body(self, x)

    return Bad(name="bad")


@pytest.mark.parametrize(
    "body,match",
    [
        (
            lambda s, x: ops.concatenate([x[:, :3], s.w[:1]], axis=-1),
            r"ops.concatenate \(in layer 'bad'\): cannot join a per-batch tensor .* same batch size",
        ),
        (
            lambda s, x: ops.concatenate([x, ops.mean(x, axis=0, keepdims=True)], axis=0),
            r"ops.concatenate \(in layer 'bad'\): cannot join a per-batch tensor .*of shape \(1, 4\)",
        ),
        (lambda s, x: x * ops.sum(ops.transpose(s.w, (0, 0))), r"ops.transpose \(in layer 'bad'\): axes must be"),
        (
            lambda s, x: x * ops.sum(ops.expand_dims(s.w, 3)),
            r"ops.expand_dims \(in layer 'bad'\): axis 3 must name distinct axes of the result, in \[-3, 3\)",
        ),
        (lambda s, x: x * ops.sum(ops.squeeze(s.w, 0)), r"ops.squeeze \(in layer 'bad'\): cannot squeeze axis 0"),
        (
            lambda s, x: x * ops.sum(ops.expand_dims(ops.reshape(s.w, (1, 2, 2, 3, 1)), 0)),
            r"ops.expand_dims \(in layer 'bad'\): per-batch tensors .* have rank <= 5. Received: shape=\(1, 1, 2",
        ),
        (lambda s, x: x * ops.sum(ops.reshape(s.w, (5, -1))), r"ops.reshape \(in layer 'bad'\): cannot reshape"),
        (lambda s, x: x * ops.sum(ops.split(s.w, 3, axis=0)[0]), r"ops.split \(in layer 'bad'\): an axis of extent 4"),
        (lambda s, x: x * ops.sum(ops.take(s.w, IDX, axis=2)), r"ops.take \(in layer 'bad'\): axis 2 is out of range"),
        (lambda s, x: x * ops.sum(ops.matmul(s.w, s.w)), r"ops.matmul \(in layer 'bad'\): contraction dims differ"),
        (
            lambda s, x: x * ops.sum(ops.concatenate([s.w, ops.transpose(s.w)], axis=1)),
            r"ops.concatenate \(in layer 'bad'\): shapes \[\(4, 3\), \(3, 4\)\] do not match",
        ),
    ],
)
def test_invalid_uses_are_refused_naming_the_layer_and_the_op(body, match):
    with pytest.raises(ValueError, match=match):
        pytrainc.Sequential([pytrainc.Input((4,)), _layer(body)])


def test_an_index_out_of_range_on_a_weight_is_an_index_error():
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for axis 1 with size 3"):
        pytrainc.Sequential([pytrainc.Input((4,)), _layer(lambda s, x: x * ops.sum(s.w[:, 5]))])


class Factored(layers.Layer):
    """Keras's Variable operators on weights: x @ (w @ v) + |w[0, 0]|."""

    def build(self, shape):
        self.w = self.add_weight(shape=(4, 2))
        self.v = self.add_weight(shape=(2, 3))

    def call(self, x):
        return x @ (self.w @ self.v) + abs(self.w[0, 0])


def test_variable_operators_on_weights_train_as_torch_and_compute_eagerly():
    model = _assert_trains_as_torch(Factored(), *_data(), lambda xb, w, v: xb @ (w @ v) + w[0, 0].abs())
    layer = model.layers[0]
    w, v = layer.w.numpy(), layer.v.numpy()
    np.testing.assert_allclose(layer.w @ layer.v, w @ v, rtol=1e-6)
    np.testing.assert_allclose(np.ones((1, 4), "float32") @ layer.w, np.ones((1, 4)) @ w, rtol=1e-6)
    np.testing.assert_allclose(abs(layer.w), np.abs(w))


def test_a_keras_style_layer_on_slices_of_its_kernel_matches_keras():
    """Tied weights as Keras code writes them: slices of a kernel, its transpose, a reshaped row
    joined to a bias, and a batch mean subtracted; predictions and gradients equal Keras 3's."""
    keras = testing.keras_torch()

    def body(lib, inputs):
        K = ops if lib is layers else keras.ops

        class Tied(lib.Layer):
            def build(self, shape):
                self.kernel = self.add_weight(shape=(4, 6), initializer="glorot_uniform")
                self.bias = self.add_weight(shape=(3,), initializer="zeros")

            def call(self, x):
                enc = K.tanh(K.matmul(x, self.kernel[:, :3]))
                dec = K.matmul(enc, K.transpose(self.kernel[:, 3:]))
                shift = K.concatenate([self.bias, K.reshape(self.kernel[1], (2, 3))[1, :1]], axis=0)
                return dec - K.expand_dims(K.mean(dec, axis=0), 0) + shift

        return Tied()(inputs)

    x, y = _data(8)
    testing.keras_parity(body, x, np.concatenate([y, y[:, :1]], axis=1), (4,))


def test_the_matmul_kernel_of_two_per_batch_operands_computes_once_and_sums_the_rows_gradients():
    rng = np.random.default_rng(2)
    n, (m, k, c) = 5, (3, 4, 2)
    a, b = rng.normal(size=(m, k)).astype("float32"), rng.normal(size=(k, c)).astype("float32")
    dout = rng.normal(size=(n, m * c)).astype("float32")
    rows = [np.tile(v.reshape(1, -1), (n, 1)) for v in (a, b)]  # a per-batch tensor: its value in every row
    args = dict(batch=1, m=m, k=k, cols=c, bcast_a=0, bcast_b=0, per_batch_a=1, per_batch_b=1)
    out, (da, db), _ = testing.run_op("matmul", rows, m * c, dout=dout, **args)
    np.testing.assert_allclose(out, np.tile((a @ b).reshape(1, -1), (n, 1)), rtol=1e-6)
    g = dout.sum(0).reshape(m, c)  # the per-batch output's gradient: all rows' together, back to row 0
    np.testing.assert_allclose(da[0].reshape(m, k), g @ b.T, rtol=1e-5)
    np.testing.assert_allclose(db[0].reshape(k, c), a.T @ g, rtol=1e-5)
    np.testing.assert_array_equal(da[1:], 0.0)
    np.testing.assert_array_equal(db[1:], 0.0)


class FlatLookup(layers.Layer):
    """ops.take with axis=None (x flattened) at per-sample indices: a weight, a per-batch tensor, a constant."""

    def build(self, shape):
        self.w = self.add_weight(shape=(4, 3))

    def call(self, ids):
        table = np.arange(12.0, dtype="float32").reshape(3, 4)
        return ops.take(self.w, ids) + ops.take(ops.tanh(self.w), ids) + ops.take(table, ids)


def test_take_of_flattened_weights_at_per_sample_indices_trains_as_torch():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 12, size=(16, 2)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")

    def forward(xb, w):
        i = xb.long()
        return w.flatten()[i] + torch.tanh(w).flatten()[i] + xb

    _assert_trains_as_torch(FlatLookup(), ids, y, forward)


class Penalized(layers.Layer):
    """add_loss of a penalty on a slice of a weight's transpose (a per-batch scalar, added once)."""

    def build(self, shape):
        self.w = self.add_weight(shape=(4, 3))

    def call(self, x):
        self.add_loss(0.1 * ops.sum(ops.square(ops.transpose(self.w)[0:2] - 1.0)))
        return ops.matmul(x, self.w)


def test_add_loss_of_a_penalty_through_shape_ops_trains_as_torch():
    _assert_trains_as_torch(
        Penalized(), *_data(), lambda xb, w: xb @ w, penalty=lambda w: 0.1 * ((w.T[0:2] - 1.0) ** 2).sum()
    )


class CallsDense(layers.Layer):
    """A layer called inside the call on a per-batch tensor computed once (its rows filled for it)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(2)

    def build(self, shape):
        self.w = self.add_weight(shape=(1, 4))

    def call(self, x):
        return x[:, :2] + self.dense(ops.tanh(ops.transpose(ops.transpose(self.w))))[:, 0]


def test_a_layer_called_on_a_per_batch_tensor_sees_it_in_every_row():
    x, _ = _data(5)
    model = pytrainc.Sequential([pytrainc.Input((4,)), CallsDense()])
    layer = model.layers[0]
    want = np.tanh(layer.w.numpy()) @ layer.dense.kernel.numpy() + layer.dense.bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0) - x[:, :2], np.repeat(want, 5, 0), rtol=1e-5, atol=1e-6)


def _plan_ops(monkeypatch):
    """Records, per compiled plan, (op name, flagged per_batch) of each op."""
    from pytrainc import _C, _plan

    seen, tables = [], _plan.PlanBuilder.tables

    def spy(self):
        ops_, fargs, sizes = tables(self)
        seen.append([(self.row(i).name, bool(ops_[i, 1] & _C.OP_FLAGS["per_batch"])) for i in range(len(ops_))])
        return ops_, fargs, sizes

    monkeypatch.setattr(_plan.PlanBuilder, "tables", spy)
    return seen


class Tied(layers.Layer):
    def build(self, shape):
        self.w = self.add_weight(shape=(3, 4))

    def call(self, x):
        return ops.matmul(x, ops.transpose(self.w)) + x[:, :3] * ops.sum(self.w, axis=1)


def test_ops_on_weights_alone_run_once_per_batch_and_are_broadcast_only_where_read_by_row(monkeypatch):
    seen = _plan_ops(monkeypatch)
    model = _assert_trains_as_torch(Tied(), *_data(), lambda xb, w: xb @ w.T + xb[:, :3] * w.sum(1))
    ops_ = seen[-1]
    assert ("read_weight", True) in ops_ and ("transpose", True) in ops_ and ("reduce", True) in ops_
    assert ("matmul", False) in ops_  # reads the per-batch transpose at row 0
    assert [name for name, _ in ops_].count("batch_broadcast") == 1  # the sum, for the per-sample product
    assert model.predict(_data(3)[0], verbose=0).shape == (3, 3)
