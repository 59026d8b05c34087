"""ops.matmul of a per-batch tensor (a weight computed on in a traced call, e.g. `self.w * 2`)
against a per-sample one, trained against torch autograd with the same weights."""

import numpy as np
import pytest

import pytrainc
from pytrainc import layers, ops

torch = pytest.importorskip("torch")


def _layer(order):
    class Scaled(layers.Layer):
        def build(self, shape):
            rows = shape[-1] if order == "right" else shape[-2]
            self.w = self.add_weight(shape=(rows, 4) if order == "right" else (4, rows), initializer="glorot_uniform")

        def call(self, x):
            if order == "right":  # (None, 3) @ (3, 4)
                return ops.matmul(x, self.w * 2.0) + ops.matmul(x, ops.square(self.w))
            return ops.matmul(ops.tanh(self.w), x)  # (4, 3) @ (None, 3, 5)

    return Scaled()


def _torch_out(order, w, xb):
    if order == "right":
        return xb @ (w * 2) + xb @ (w**2)
    return torch.tanh(w) @ xb


@pytest.mark.parametrize("order,shape", [("right", (3,)), ("left", (3, 5))])
def test_a_per_batch_operand_trains_as_torch(order, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, *shape)).astype("float32")
    out_shape = (4,) if order == "right" else (4, 5)
    y = rng.normal(size=(16, *out_shape)).astype("float32")
    model = pytrainc.Sequential([pytrainc.Input(shape), _layer(order)])
    w0 = model.get_weights()[0].copy()
    model.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    got = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    want = []
    for _ in range(3):
        total = 0.0
        for b in range(2):
            xb, yb = (torch.tensor(a[b * 8 : (b + 1) * 8], dtype=torch.float64) for a in (x, y))
            loss = ((_torch_out(order, w, xb) - yb) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        want.append(total / 2)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_a_product_of_two_per_batch_tensors_is_per_batch():
    class Both(layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(3, 3))

        def call(self, x):
            return x + ops.matmul(self.w * 2.0, self.w * 3.0)[0]

    model = pytrainc.Sequential([pytrainc.Input((3,)), Both(name="both")])
    w = model.get_weights()[0]
    np.testing.assert_allclose(model.predict(np.zeros((2, 3), "float32"), verbose=0), [(w * 6 @ w)[0]] * 2, rtol=1e-5)
