"""A weight in a layer's traced call trains whatever side of an operator it is on, and anything
that would read its value as a constant is refused (it would never train: the audit of #9 found
`np.ones(4) * w`, `ops.zeros_like(w) + w` and `ops.expand_dims(w, 0)` training nothing). Against
Keras 3.15.1 on the torch backend."""

import numpy as np
import pytest

import pytrainc
from pytrainc import ops, testing

keras = testing.keras_torch()

X = np.random.default_rng(0).random((16, 4)).astype("float32") + 0.5
Y = np.random.default_rng(1).random((16, 4)).astype("float32")

CASES = {
    "array_first": lambda o, x, w: (np.ones(4, "float32") * w) * x,
    "zeros_like": lambda o, x, w: (o.zeros_like(w) + w) * x,
    "arange": lambda o, x, w: o.cast(o.arange(4), "float32") * w + x,
    "converted": lambda o, x, w: o.convert_to_tensor(np.full(4, 2.0, "float32")) * w * x,
    "array_plus": lambda o, x, w: (np.zeros(4, "float32") + w) * x,
    "weight_first": lambda o, x, w: (w * np.ones(4, "float32")) * x,
}


def _step(lib, fn):
    class Weighted(lib.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(4,), initializer=lib.initializers.Constant(0.7))

        def call(self, x):
            return fn(lib.ops, x, self.w)

    inp = lib.Input((4,))
    model = lib.Model(inp, Weighted()(inp))
    model.compile(optimizer=lib.optimizers.SGD(1.0), loss="mse")
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    return 0.7 - np.asarray(model.layers[-1].get_weights()[0])


# Keras on torch raises on an array left of a weight (NumPy's operator meets a torch tensor); its
# reference is the same product with the operands swapped.
KERAS_FORM = {
    "array_first": lambda o, x, w: (w * np.ones(4, "float32")) * x,
    "array_plus": lambda o, x, w: (w + np.zeros(4, "float32")) * x,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_weight_gets_keras_gradient(name):
    got, want = _step(pytrainc, CASES[name]), _step(keras, KERAS_FORM.get(name, CASES[name]))
    assert np.abs(want).max() > 1e-3  # the case trains the weight in Keras
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "body,match",
    [
        (
            lambda x, w: ops.matmul(x, np.expand_dims(w, 1) * np.ones((1, 4), "float32")),
            "NumPy's asarray on the weight",
        ),
        (lambda x, w: x * np.sin(w), "NumPy's sin on the weight"),
        (lambda x, w: x * np.reshape(w, (2, 2))[0, 0], "NumPy's asarray on the weight"),
    ],
)
def test_reading_a_weight_as_a_constant_in_a_call_is_refused_by_name(body, match):
    class Frozen(pytrainc.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(4,), name="w")

        def call(self, x):
            return body(x, self.w)

    with pytest.raises(
        TypeError, match=match + r" 'frozen/w' of shape \(4,\) in the call of layer 'frozen'.*never trains"
    ):
        Frozen(name="frozen")(pytrainc.Input((4,)))


def test_a_weight_outside_a_call_is_an_array_for_numpy():
    layer = pytrainc.layers.Dense(2)
    layer.build((None, 3))
    np.testing.assert_array_equal(np.sin(layer.kernel), np.sin(layer.kernel.numpy()))
    np.testing.assert_array_equal(np.ones((3, 2)) * layer.kernel, layer.kernel.numpy())
    np.testing.assert_array_equal(ops.expand_dims(layer.kernel, 0), layer.kernel.numpy()[None])


def test_gelu_size_zeros_ones_and_convert_to_numpy_as_keras():
    x = np.array([[1.0, -0.5, 2.0], [0.0, 3.0, -2.0]], "float32")
    for approximate in (True, False):
        want = keras.ops.convert_to_numpy(keras.ops.gelu(x, approximate=approximate))
        np.testing.assert_allclose(ops.gelu(x, approximate=approximate), want, rtol=1e-6, atol=1e-7)
        inp = pytrainc.Input((3,))
        model = pytrainc.Model(inp, pytrainc.layers.Lambda(lambda t, a=approximate: ops.gelu(t, approximate=a))(inp))
        np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    assert int(ops.size(x)) == int(keras.ops.size(x)) == 6
    np.testing.assert_array_equal(ops.zeros((2, 3)), keras.ops.convert_to_numpy(keras.ops.zeros((2, 3))))
    np.testing.assert_array_equal(ops.ones(3), keras.ops.convert_to_numpy(keras.ops.ones(3)))
    np.testing.assert_array_equal(ops.convert_to_numpy([1, 2]), keras.ops.convert_to_numpy([1, 2]))

    class Count(pytrainc.layers.Layer):  # the size of a batch in a call: rows times the sample's size
        def call(self, t):
            return t * 0.0 + ops.size(t)

    model = pytrainc.Sequential([pytrainc.Input((3,)), Count()])
    np.testing.assert_array_equal(model.predict(np.zeros((5, 3)), batch_size=5, verbose=0), np.full((5, 3), 15.0))
    np.testing.assert_array_equal(model.predict(np.zeros((5, 3)), batch_size=2, verbose=0)[-1], np.full(3, 3.0))
