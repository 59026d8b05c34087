"""pytrainc.activations against Keras 3's own functions (torch backend): names, defaults and values,
on both sides of every kink; the layers' C kernels are checked against torch in tests/layers."""

import numpy as np
import pytest

import pytrainc
from pytrainc import activations, testing

keras = testing.keras_torch()

NAMES = sorted(activations._KINDS)
X = np.concatenate([np.linspace(-8, 8, 321), [-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6]]).astype(np.float32).reshape(-1, 10)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_function_equals_keras(name):
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(keras.ops.convert_to_tensor(X)))
    ours = getattr(activations, name)(X)
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_dense_kernel_equals_keras_forward(name):
    model = pytrainc.Sequential([pytrainc.Input((10,)), pytrainc.layers.Dense(10, activation=name)])
    model.set_weights([np.eye(10, dtype=np.float32), np.zeros(10, np.float32)])
    theirs = keras.ops.convert_to_numpy(keras.activations.get(name)(keras.ops.convert_to_tensor(X)))
    np.testing.assert_allclose(model.predict(X, verbose=0), theirs, rtol=4e-6, atol=4e-6)


def test_the_new_names_are_keras_names():
    for name in (
        "relu6",
        "mish",
        "celu",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "log_sigmoid",
        "squareplus",
        "sparse_plus",
        "tanh_shrink",
        "hard_shrink",
        "soft_shrink",
        "exponential",
    ):
        assert callable(keras.activations.get(name)) and name in activations._KINDS


EDGES = np.array([[np.nan, np.inf, -np.inf, 0.5, -0.5, 6, 0, -1, 1, 3, -3, 2.0]], np.float32)
TORCH = {
    "relu6": "relu6",
    "hard_tanh": "hardtanh",
    "hard_silu": "hardswish",
    "hard_shrink": "hardshrink",
    "soft_shrink": "softshrink",
    "celu": "celu",
    "log_sigmoid": "logsigmoid",
    "tanh_shrink": "tanhshrink",
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_kernels_at_kinks_nan_and_inf_equal_torch(name):
    """Values and gradients where the piecewise kinds switch, and at NaN and +-inf: torch's rules."""
    import torch
    import torch.nn.functional as F

    kind, alpha = activations.kind_and_alpha(name)
    y = pytrainc._C.act_forward(kind, EDGES, alpha)
    g = pytrainc._C.act_backward(kind, np.ones_like(EDGES), EDGES, y, alpha)
    t = torch.tensor(EDGES, requires_grad=True)
    ty = getattr(F, TORCH[name])(t)
    (tg,) = torch.autograd.grad(ty.sum(), t)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-6, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(g, tg.numpy(), rtol=1e-6, atol=1e-7, equal_nan=True)


def test_relu_options_and_serialization_match_keras():
    from pytrainc import activations as A
    from pytrainc.testing import keras_torch

    keras = keras_torch()
    x = np.linspace(-3, 8, 23, dtype=np.float32)
    for kw in [
        {},
        {"negative_slope": 0.1},
        {"max_value": 6.0},
        {"threshold": 1.0, "negative_slope": 0.2, "max_value": 5},
    ]:
        want = np.asarray(keras.activations.relu(keras.ops.convert_to_tensor(x), **kw))
        np.testing.assert_allclose(A.relu(x, **kw), want, rtol=1e-6, atol=1e-6)
    assert A.deserialize(A.serialize("gelu")) is A.gelu
    assert A.deserialize({"module": "builtins", "class_name": "function", "config": "tanh"}) is A.tanh
    mine = lambda x: x  # noqa: E731
    assert A.deserialize("mine", custom_objects={"mine": mine}) is mine


def test_ops_where_without_branches_and_arange_default_step_as_keras():
    from pytrainc import ops

    idx = ops.where(np.array([[0, 1], [2, 0]]))
    assert [list(i) for i in idx] == [[0, 1], [1, 0]]
    assert ops.arange(3).tolist() == [0, 1, 2] and ops.arange(1, 7, 2).tolist() == [1, 3, 5]
    with pytest.raises(ValueError, match="give both x1 and x2, or neither"):
        ops.where(np.ones(2), 1.0)
