"""`Layer.add_loss` inside a traced call (issue #9): the regularization-loss patterns of Keras's
guides ("making new layers and models via subclassing": `self.rate * ops.mean(inputs)`,
"training & evaluation with the built-in methods": `ops.sum(inputs) * 0.1`) and a per-sample
loss, traced into the plan, against Keras 3 on the torch backend with the same weights: fit
history and evaluate. Bad uses of a batch reduction get a clear error.
"""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops
from pytrainc.testing import keras_torch


def _model(K, form):
    class Regularize(K.layers.Layer):
        def __init__(self, rate=0.1, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate

        def call(self, inputs):
            if form == "sum":
                self.add_loss(K.ops.sum(inputs) * self.rate)
            elif form == "mean":
                self.add_loss(self.rate * K.ops.mean(inputs))
            else:  # per-sample values, summed over the batch by Keras's compute_loss
                self.add_loss(K.ops.mean(K.ops.square(inputs), axis=-1) / 2.0)
            return inputs

    inputs = K.Input((5,))
    h = K.layers.Dense(4, activation="relu")(inputs)
    h = Regularize()(h)
    return K.Model(inputs, K.layers.Dense(3)(h))


@pytest.mark.parametrize("form", ["sum", "mean", "per_sample"])
def test_add_loss_trains_as_keras(form):
    K = keras_torch()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)).astype("float32"), rng.integers(0, 3, 40)
    kmodel, pmodel = _model(K, form), _model(keras, form)
    pmodel.set_weights(kmodel.get_weights())
    for model, M in ((kmodel, K), (pmodel, keras)):
        model.compile(optimizer=M.optimizers.SGD(0.05), loss=M.losses.SparseCategoricalCrossentropy(from_logits=True))
    want = kmodel.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    got = pmodel.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(pmodel.evaluate(x, y, verbose=0), kmodel.evaluate(x, y, verbose=0), rtol=1e-5)
    for a, b in zip(pmodel.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_added_loss_is_in_the_loss_and_its_gradient():
    class Pull(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(0.5 * ops.sum(inputs))
            return inputs

    inputs = keras.Input((2,))
    dense = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
    model = keras.Model(inputs, Pull()(dense(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    x, y = np.ones((4, 2), "float32"), np.full((4, 1), 2.0, "float32")
    # outputs are 2 = the targets: the loss is the added 0.5 * sum over the batch (4 * 2) only
    assert model.evaluate(x, y, verbose=0) == pytest.approx(4.0)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    # d(0.5 * sum_n (x_n . w + b))/dw = 0.5 * 4 = 2 per weight; d/db = 2
    np.testing.assert_allclose(dense.get_weights()[0], np.full((2, 1), -1.0))
    np.testing.assert_allclose(dense.get_weights()[1], [-2.0])


def test_eager_add_loss_is_in_layer_losses():
    class Pull(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs))
            return inputs

    layer = Pull()
    layer(np.ones((2, 3), "float32"))
    assert [float(v) for v in layer.losses] == [6.0]
    layer(np.ones((1, 3), "float32"))  # a new call clears them, as in Keras
    assert [float(v) for v in layer.losses] == [3.0]


def test_batch_reductions_are_per_batch_values():
    class Bad(keras.layers.Layer):
        def call(self, inputs):
            return 2.0 * ops.mean(inputs)

    with pytest.raises(
        ValueError, match="layer 'bad' returned a per-batch tensor of shape \\(\\).*keeps the batch axis"
    ):
        Bad(name="bad")(keras.Input((3,)))

    class Squared(keras.layers.Layer):  # a per-batch value into add_loss: added once, as Keras's
        def call(self, inputs):
            self.add_loss(ops.square(ops.sum(inputs)))
            return inputs

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Squared(name="squared")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), "float32")
    assert model.evaluate(x, x, batch_size=4, verbose=0) == pytest.approx(144.0)

    class Outside(keras.layers.Layer):
        def call(self, inputs):
            return inputs

    tensor = keras.Input((3,))
    with pytest.raises(ValueError, match="outside its call"):
        Outside(name="outside").add_loss(ops.sum(tensor, axis=-1))
