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
