"""Activation functions of your own in Dense, Conv2D and Activation (written with pytrainc.ops, or
pytrainc.activations with Keras's arguments through functools.partial): traced into the plan after
the fused op, trained as Keras 3 (torch backend) trains them, saved and loaded by registered name."""

import functools

import numpy as np
import pytest

import pytrainc
from pytrainc import activations, ops, testing

keras = testing.keras_torch()

f32 = testing.f32


def doubled_relu(x):
    return ops.relu(x) * 2.0


def k_doubled_relu(x):
    return keras.ops.relu(x) * 2.0


FUNCTIONS = {
    "ops": (doubled_relu, k_doubled_relu),
    "lambda_mix": (
        lambda t: activations.elu(t, alpha=0.5) + ops.tanh(t) * 0.5,
        lambda t: keras.activations.elu(t, alpha=0.5) + keras.ops.tanh(t) * 0.5,
    ),
    "partial_relu": (
        functools.partial(activations.relu, negative_slope=0.1),
        functools.partial(keras.activations.relu, negative_slope=0.1),
    ),
    "partial_gelu": (
        functools.partial(activations.gelu, approximate=True),
        functools.partial(keras.activations.gelu, approximate=True),
    ),
}


def _train_both(m, k, x, y):
    k.set_weights(m.get_weights())
    testing.assert_close(m.predict(x, verbose=0), k.predict(x, verbose=0), 1e-5, "predictions")
    m.compile(optimizer=pytrainc.optimizers.SGD(0.05), loss="mse")
    k.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    fit = {"batch_size": 4, "epochs": 4, "shuffle": False, "verbose": 0}
    np.testing.assert_allclose(m.fit(x, y, **fit).history["loss"], k.fit(x, y, **fit).history["loss"], rtol=1e-4)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_dense_and_activation_with_a_function_train_as_keras(name):
    fn, kfn = FUNCTIONS[name]
    r = testing.rng(2)
    x, y = f32(r.standard_normal((16, 4))), f32(r.standard_normal((16, 3)))
    pytrainc.utils.set_random_seed(1)
    L, K = pytrainc.layers, keras.layers
    m = pytrainc.Sequential([pytrainc.Input((4,)), L.Dense(6, activation=fn), L.Dense(3), L.Activation(fn)])
    k = keras.Sequential([keras.Input((4,)), K.Dense(6, activation=kfn), K.Dense(3), K.Activation(kfn)])
    _train_both(m, k, x, y)


def test_conv2d_with_a_function_trains_as_keras():
    r = testing.rng(3)
    x, y = f32(r.standard_normal((8, 6, 6, 2))), f32(r.standard_normal((8, 2)))
    pytrainc.utils.set_random_seed(2)
    L, K = pytrainc.layers, keras.layers
    m = pytrainc.Sequential(
        [pytrainc.Input((6, 6, 2)), L.Conv2D(3, 3, activation=doubled_relu), L.Flatten(), L.Dense(2)]
    )
    k = keras.Sequential([keras.Input((6, 6, 2)), K.Conv2D(3, 3, activation=k_doubled_relu), K.Flatten(), K.Dense(2)])
    _train_both(m, k, x, y)


def test_a_function_with_a_constant_array():
    scale = np.array([1.0, 2.0, 3.0], np.float32)
    fn = lambda t: ops.multiply(ops.sigmoid(t), scale)  # noqa: E731
    kfn = lambda t: keras.ops.multiply(keras.ops.sigmoid(t), scale)  # noqa: E731
    r = testing.rng(4)
    x, y = f32(r.standard_normal((12, 4))), f32(r.standard_normal((12, 3)))
    pytrainc.utils.set_random_seed(3)
    m = pytrainc.Sequential([pytrainc.Input((4,)), pytrainc.layers.Dense(3, activation=fn)])
    k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=kfn)])
    _train_both(m, k, x, y)
    assert len(m.weights) == 2  # the constant is a hidden parameter, not a weight


def test_a_registered_activation_saves_and_loads(tmp_path):
    @pytrainc.saving.register_keras_serializable(package="HLTest")
    def tripled_tanh(x):
        return ops.tanh(x) * 3.0

    def unregistered(x):
        return ops.sigmoid(x) - 0.5

    m = pytrainc.Sequential(
        [pytrainc.Input((4,)), pytrainc.layers.Dense(5, activation=tripled_tanh), pytrainc.layers.Dense(2)]
    )
    m.add(pytrainc.layers.Activation(unregistered))
    assert m.layers[0].get_config()["activation"] == "HLTest>tripled_tanh"
    x = f32(testing.rng(5).standard_normal((6, 4)))
    path = str(tmp_path / "model.keras")
    m.save(path)
    with pytest.raises(ValueError, match="unregistered"):
        pytrainc.saving.load_model(path)
    back = pytrainc.saving.load_model(path, custom_objects={"unregistered": unregistered})
    assert back.layers[0].activation is tripled_tanh
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_bad_activation_functions_are_refused_with_the_layer_name():
    inp = pytrainc.Input((4,))
    with pytest.raises(ValueError, match=r"activation '<lambda>' of layer 'wide'.*keep its input's shape"):
        pytrainc.layers.Dense(3, activation=lambda t: ops.sum(t, axis=-1), name="wide")(inp)
    with pytest.raises(TypeError, match=r"activation 'const' of layer 'c'.*Received: float"):

        def const(t):
            return 1.0

        pytrainc.layers.Dense(3, activation=const, name="c")(inp)
    with pytest.raises(ValueError, match=r"activations.relu.*max_value=6.0 has no C kernel"):
        pytrainc.layers.Dense(3, activation=functools.partial(activations.relu, max_value=6.0))(inp)
    with pytest.raises(ValueError, match="Unknown activation: 'no_such_fn'"):
        pytrainc.layers.Dense(3, activation="no_such_fn")
