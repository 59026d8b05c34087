"""Deferred builds (issue #9): a Sequential without `Input` built when first called (on arrays or,
inside a layer's traced call, on a symbolic tensor), `model(x)` on arrays as Keras 3 (the
predictions), `build(input_shape)`, Keras's summary of an unbuilt Sequential, and eager
`Variable.assign_add` in a layer's call.
"""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import layers, ops


def test_sequential_without_input_is_built_by_its_first_call():
    model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(4)])
    assert not model.built
    x = np.ones((3, 3), dtype="float32")
    y = model(x)
    assert model.built and y.shape == (3, 4)
    np.testing.assert_array_equal(y, model.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x, training=True), y)  # no layer differs in training


def test_sequential_without_input_inside_a_traced_layer():
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.ffn = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(4)])

        def call(self, inputs):
            return inputs + self.ffn(inputs)

    inputs = keras.Input((4,))
    block = Block()
    model = keras.Model(inputs, block(inputs))
    assert block.ffn.built and model.count_params() == (4 * 8 + 8) + (8 * 4 + 4)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    manual = x + block.ffn.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), manual, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, epochs=1, verbose=0)


def test_build_and_the_unbuilt_summary_follow_keras():
    model = keras.Sequential([layers.Dense(2, name="d")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "d (Dense)" in text and "?" in text and "0 (unbuilt)" in text and "Total params: 0 (0.00 B)" in text
    model.build((None, 3))
    assert model.count_params() == 8


def test_eager_assign_add_in_call():
    class ComputeSum(layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    layer = ComputeSum(2)
    x = np.ones((2, 2), dtype="float32")
    layer(x)
    np.testing.assert_allclose(np.asarray(layer(x)), [4.0, 4.0])
    layer.total.assign_sub([1.0, 2.0])
    np.testing.assert_allclose(layer.total.numpy(), [3.0, 2.0])
    # traced, the assignment is recorded (pytrainc/_weight_updates.py), but the output has no batch axis
    with pytest.raises(ValueError, match="returned its weight '.*' of shape \\(2,\\).*keeps the batch axis"):
        layer(keras.Input((2,)))
