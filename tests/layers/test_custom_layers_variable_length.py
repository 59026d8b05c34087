"""Custom traced layers on variable-length axes (`Input(shape=(None, ...))`): the symbolic call gives
Keras's shape with None where the output follows the length (from two probe traces), and the plan of
each concrete length runs its own trace. The same layer class is written against pytrainc and against
Keras 3 (KERAS_BACKEND=torch); with the same initial weights both train on batches of two lengths to
the same losses (1e-4: float32 over a few Adam steps, summed in different orders)."""

import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402

close = functools.partial(testing.assert_close_abs, atol=1e-4)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def gated_class(lib):
    """x * sigmoid(w) + mean over the steps: the reduction runs over the variable-length axis."""

    class Gated(lib.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

        def call(self, inputs):
            ops = lib.ops
            return ops.tanh(inputs) * ops.sigmoid(self.w) + ops.mean(inputs, axis=1, keepdims=True)

    return Gated


def relu_class(lib):
    """Keras's masking guide's pass-through: `supports_masking = True` set in __init__."""

    class MaskedRelu(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return lib.ops.relu(inputs)

    return MaskedRelu


def model(lib, custom, mask_zero=False):
    x = lib.Input((None,), dtype="int32")
    h = lib.layers.Embedding(30, 6, mask_zero=mask_zero)(x)
    h = custom(lib)()(h)
    h = lib.layers.LSTM(5)(h)
    return lib.Model(x, lib.layers.Dense(3)(h))


def pair(custom, mask_zero=False):
    pt, km = model(pytrainc, custom, mask_zero), model(keras, custom, mask_zero)
    km.set_weights(pt.get_weights())
    pt.compile(pytrainc.optimizers.Adam(0.02), pytrainc.losses.SparseCategoricalCrossentropy(from_logits=True))
    km.compile(keras.optimizers.Adam(0.02), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return pt, km


def batches(lengths, n=4, seed=0, pad=0):
    rng = np.random.default_rng(seed)
    return [(np.pad(rng.integers(1, 30, (n, t)), ((0, 0), (0, pad))), rng.integers(0, 3, n)) for t in lengths]


def test_symbolic_shape_has_none_where_the_length_goes():
    for lib in (pytrainc, keras):
        x = lib.Input((None, 4))
        assert tuple(gated_class(lib)()(x).shape) == (None, None, 4)
    layer = gated_class(pytrainc)()
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 4)


def test_a_rank_that_follows_the_length_is_refused():
    class Odd(pytrainc.layers.Layer):
        def call(self, inputs):
            return pytrainc.ops.sum(inputs, axis=1) if inputs.shape[1] == 29 else inputs

    with pytest.raises(ValueError, match="outputs of different ranks"):
        Odd()(pytrainc.Input((None, 2)))


@pytest.mark.parametrize("custom", [gated_class, relu_class])
def test_trains_on_two_lengths_as_keras(custom):
    pt, km = pair(custom)
    data = batches([7, 12] * 3)
    close([float(pt.train_on_batch(x, y)) for x, y in data], [float(km.train_on_batch(x, y)) for x, y in data])
    close(pt.predict(data[1][0], verbose=0), km.predict(data[1][0], verbose=0))


def test_mask_passes_through_a_layer_that_supports_masking():
    # the LSTM after the custom layer skips the padded steps, as in Keras: padding more changes nothing
    pt, km = pair(relu_class, mask_zero=True)
    data = batches([5, 8, 5], pad=3)
    close([float(pt.train_on_batch(x, y)) for x, y in data], [float(km.train_on_batch(x, y)) for x, y in data])
    x = data[0][0]
    close(pt.predict(x, verbose=0), pt.predict(np.pad(x, ((0, 0), (0, 4))), verbose=0), atol=1e-6)
    close(pt.predict(x, verbose=0), km.predict(x, verbose=0))
