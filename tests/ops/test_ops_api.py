"""`pytrainc.ops` with Keras's names: eagerly on arrays (through the C kernels) against NumPy,
and symbolically on KerasTensors (shape inference, and the same values once in a plan)."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops

R = np.random.default_rng(0)
A = R.normal(size=(2, 3, 4)).astype(np.float32)
B = R.normal(size=(3, 1)).astype(np.float32)
P = (np.abs(A) + 0.5).astype(np.float32)
TOL = dict(rtol=1e-6, atol=1e-6)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


EAGER = {
    "add": (lambda: ops.add(A, B), lambda: A + B),
    "subtract": (lambda: ops.subtract(A, B), lambda: A - B),
    "multiply": (lambda: ops.multiply(A, B), lambda: A * B),
    "divide": (lambda: ops.divide(A, P), lambda: A / P),
    "power": (lambda: ops.power(P, B), lambda: P**B),
    "maximum": (lambda: ops.maximum(A, B), lambda: np.maximum(A, B)),
    "minimum": (lambda: ops.minimum(A, 0.1), lambda: np.minimum(A, 0.1)),
    "negative": (lambda: ops.negative(A), lambda: -A),
    "square": (lambda: ops.square(A), lambda: A * A),
    "sqrt": (lambda: ops.sqrt(P), lambda: np.sqrt(P)),
    "exp": (lambda: ops.exp(A), lambda: np.exp(A)),
    "log": (lambda: ops.log(P), lambda: np.log(P)),
    "abs": (lambda: ops.abs(A), lambda: np.abs(A)),
    "clip": (lambda: ops.clip(A, -0.5, 0.5), lambda: np.clip(A, -0.5, 0.5)),
    "greater": (lambda: ops.greater(A, B), lambda: (A > B).astype(np.float32)),
    "matmul": (lambda: ops.matmul(A, A[0].T), lambda: A @ A[0].T),
    "matmul-vec": (lambda: ops.matmul(A, A[0, 0]), lambda: A @ A[0, 0]),
    "transpose": (lambda: ops.transpose(A, (2, 0, 1)), lambda: A.transpose(2, 0, 1)),
    "transpose-default": (lambda: ops.transpose(A), lambda: A.T),
    "reshape": (lambda: ops.reshape(A, (4, -1)), lambda: A.reshape(4, -1)),
    "expand_dims": (lambda: ops.expand_dims(A, 1), lambda: A[:, None]),
    "squeeze": (lambda: ops.squeeze(B), lambda: B[:, 0]),
    "concatenate": (lambda: ops.concatenate([A, A * 2], axis=1), lambda: np.concatenate([A, A * 2], 1)),
    "sum": (lambda: ops.sum(A, axis=(0, 2)), lambda: A.sum((0, 2))),
    "sum-all": (lambda: ops.sum(A), lambda: A.sum()),
    "mean": (lambda: ops.mean(A, axis=-1, keepdims=True), lambda: A.mean(-1, keepdims=True)),
    "max": (lambda: ops.max(A, axis=1), lambda: A.max(1)),
    "min": (lambda: ops.min(A, axis=0), lambda: A.min(0)),
    "relu": (lambda: ops.relu(A), lambda: np.maximum(A, 0)),
    "sigmoid": (lambda: ops.sigmoid(A), lambda: 1 / (1 + np.exp(-A))),
    "tanh": (lambda: ops.tanh(A), lambda: np.tanh(A)),
    "softmax": (lambda: ops.softmax(A), lambda: softmax(A)),
    "log_softmax": (lambda: ops.log_softmax(A), lambda: np.log(softmax(A))),
    "where": (lambda: ops.where(A > 0, A, B), lambda: np.where(A > 0, A, B)),
    "stop_gradient": (lambda: ops.stop_gradient(A), lambda: A),
    "cast": (lambda: ops.cast(A, "float32"), lambda: A),
    "convert_to_tensor": (lambda: ops.convert_to_tensor([[1.0, 2.0]]), lambda: np.array([[1.0, 2.0]], np.float32)),
    "zeros_like": (lambda: ops.zeros_like(A), lambda: np.zeros_like(A)),
    "ones_like": (lambda: ops.ones_like(A), lambda: np.ones_like(A)),
}


@pytest.mark.parametrize("name", sorted(EAGER))
def test_eager_ops_match_numpy(name):
    got, ref = EAGER[name][0](), EAGER[name][1]()
    assert isinstance(got, np.ndarray)
    assert got.shape == np.shape(ref)
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)


def test_keras_ops_namespace():
    assert keras.ops is ops
    assert ops.relu(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]


SYMBOLIC = {
    # name: (function of a (None, 3, 4) tensor x, the same on a NumPy batch)
    "bias": (lambda x: x + np.arange(4, dtype=np.float32), lambda x: x + np.arange(4)),
    "scalars": (lambda x: 2.0 - x * 3.0 / 1.5 + x**2, lambda x: 2.0 - x * 3.0 / 1.5 + x**2),
    "rdiv": (lambda x: 1.0 / (ops.abs(x) + 1.0), lambda x: 1.0 / (np.abs(x) + 1.0)),
    "max-axis": (lambda x: ops.max(x, axis=1, keepdims=True) * x, lambda x: x.max(1, keepdims=True) * x),
    "softmax": (lambda x: ops.softmax(x), softmax),
    "concat": (lambda x: ops.concatenate([x, -x], axis=1), lambda x: np.concatenate([x, -x], 1)),
    "expand": (lambda x: ops.squeeze(ops.expand_dims(x, 2), 2), lambda x: x),
    "minimum": (lambda x: ops.minimum(x, ops.zeros_like(x) + 0.2), lambda x: np.minimum(x, 0.2)),
    "where": (
        lambda x: ops.where(x > 0, ops.log(ops.abs(x)), -1.0),
        lambda x: np.where(x > 0, np.log(np.abs(x)), -1.0),
    ),
    "compare": (lambda x: ops.greater(x, 0.0) * x, lambda x: (x > 0) * x),
    "rank-2": (
        lambda x: ops.reshape(x, (None, 12)) @ np.ones((12, 2), np.float32),
        lambda x: x.reshape(-1, 12) @ np.ones((12, 2)),
    ),
}


@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_symbolic_ops_predict_as_numpy(name):
    fn, ref = SYMBOLIC[name]
    inp = keras.Input((3, 4))
    out = fn(inp)
    expected = ref(A)
    assert out.shape == (None,) + expected.shape[1:]
    model = keras.Model(inp, out)
    np.testing.assert_allclose(model.predict(A, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_symbolic_shape_inference_and_errors():
    x = keras.Input((3, 4))
    assert ops.matmul(x, np.ones((4, 5), np.float32)).shape == (None, 3, 5)
    assert ops.sum(x, axis=-1).shape == (None, 3)
    assert ops.transpose(x, (0, 2, 1)).shape == (None, 4, 3)
    assert ops.reshape(x, (-1, 2, 6)).shape == (None, 2, 6)
    with pytest.raises(ValueError, match="ops.transpose would move the batch axis"):
        ops.transpose(x)
    with pytest.raises(ValueError, match="ops.reshape: cannot reshape"):
        ops.reshape(x, (None, 5))
    with pytest.raises(ValueError, match="ops.concatenate: axis 0 is the batch axis"):
        ops.concatenate([x, x], axis=0)
    with pytest.raises(ValueError, match=r"ops.add: shapes \(None, 3, 4\) and \(2, 4\) cannot be broadcast"):
        ops.add(x, np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="would contract over the batch axis"):
        ops.matmul(np.ones((2, 3), np.float32), keras.Input((3,)))
    assert ops.softmax(x, axis=1).shape == (None, 3, 4)  # any sample axis (tests/ops/test_index_ops.py)
    x6 = ops.expand_dims(ops.expand_dims(ops.expand_dims(x, -1), -1), -1)
    assert x6.shape == (None, 3, 4, 1, 1, 1)  # rank 6 with the batch axis: the most a primitive takes
    with pytest.raises(ValueError, match=r"ops.expand_dims: tensors have rank <= 6 with the batch axis"):
        ops.expand_dims(x6, -1)
