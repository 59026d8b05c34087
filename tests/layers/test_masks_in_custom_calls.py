"""Masks inside a custom layer's call, as Keras 3 moves them between tensors: a layer called in the
call hands its input's mask on, an op drops it, the call's output keeps the mask of the layer that
produced it, and a built-in layer takes an explicit `mask=` (Keras's masking guide, "passing mask
tensors directly to layers"). Checked against Keras 3.15.1 on the torch backend."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()

IDS = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 0, 0], [6, 0, 0, 0, 0], [7, 8, 9, 10, 11]], "int32")
Y = np.array([[0.5], [-0.2], [0.1], [0.9]], "float32")


def _classes(lib, how):
    layers = lib.layers

    class Encoder(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=20, output_dim=3, mask_zero=True)
            self.lstm = layers.LSTM(4)

        def call(self, inputs):
            x = self.embedding(inputs)
            if how == "explicit":  # the masking guide's MyLayer
                return self.lstm(x, mask=self.embedding.compute_mask(inputs))
            if how == "not_equal":
                return self.lstm(x, mask=lib.ops.not_equal(inputs, 0))
            if how == "dropped":  # an op's output carries no mask: the LSTM counts every step
                return self.lstm(x * 1.0)
            return self.lstm(x)  # "carried": the Embedding's mask reaches the LSTM

    return Encoder


def _pair(how):
    def build(lib):
        inp = lib.Input((5,), dtype="int32")
        out = lib.layers.Dense(1)(_classes(lib, how)(name="encoder")(inp))
        return lib.Model(inp, out)

    ours, ref = build(pytrainc), build(keras)
    ref.set_weights(ours.get_weights())
    return ours, ref


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.mark.parametrize("how", ["carried", "explicit", "not_equal", "dropped"])
def test_masks_inside_a_call_predict_and_train_as_keras(how):
    ours, ref = _pair(how)
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), _np(ref.predict(IDS, verbose=0)), rtol=1e-5, atol=1e-6)
    for model in (ours, ref):
        model.compile(optimizer="sgd", loss="mse")
    got = ours.fit(IDS, Y, batch_size=4, epochs=10, shuffle=False, verbose=0).history["loss"]
    want = ref.fit(IDS, Y, batch_size=4, epochs=10, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_the_mask_changes_the_result():
    """The cases differ from each other, so the comparisons above can fail."""
    carried, _ = _pair("carried")
    dropped, _ = _pair("dropped")
    dropped.set_weights(carried.get_weights())
    assert not np.allclose(carried.predict(IDS, verbose=0), dropped.predict(IDS, verbose=0), atol=1e-4)


@pytest.mark.parametrize("returns", ["embedding", "product"])
def test_a_calls_output_keeps_the_mask_of_the_layer_that_made_it(returns):
    def build(lib):
        layers = lib.layers

        class Embed(layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.embedding = layers.Embedding(20, 3, mask_zero=True)

            def call(self, inputs):
                x = self.embedding(inputs)
                return x if returns == "embedding" else x * 1.0

        inp = lib.Input((5,), dtype="int32")
        return lib.Model(inp, layers.LSTM(2)(Embed()(inp)))

    ours, ref = build(pytrainc), build(keras)
    ref.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), _np(ref.predict(IDS, verbose=0)), rtol=1e-5, atol=1e-6)


def test_the_guides_layer_called_on_arrays_equals_keras():
    ours, ref = _classes(pytrainc, "explicit")(), _classes(keras, "explicit")()
    got = ours(IDS)
    ref(IDS)  # builds
    ref.set_weights(ours.get_weights())
    np.testing.assert_allclose(got, _np(ref(IDS)), rtol=1e-5, atol=1e-6)
    lstm = pytrainc.layers.LSTM(2)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    other = x.copy()
    other[0, 2:] = 5.0  # masked steps: what they hold does not count
    np.testing.assert_array_equal(lstm(x, mask=mask), lstm(other, mask=mask))
    assert not np.allclose(lstm(x)[0], lstm(x, mask=mask)[0])


def test_bad_explicit_masks_are_refused_with_what_was_expected():
    inp = pytrainc.Input((5, 3))
    with pytest.raises(TypeError, match=r"takes mask= as a KerasTensor of the model.*Received: ndarray"):
        pytrainc.layers.LSTM(2)(inp, mask=np.ones((2, 5)))  # a functional model's mask is one of its tensors

    class WrongShape(pytrainc.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lstm = pytrainc.layers.LSTM(2)

        def call(self, x):
            return self.lstm(x, mask=pytrainc.ops.sum(x, axis=-1)[:, :3])

    with pytest.raises(ValueError, match=r"takes a mask of shape \(None, 5\).*Received: mask of shape \(None, 3\)"):
        WrongShape()(inp)
    lstm = pytrainc.layers.LSTM(2)
    with pytest.raises(ValueError, match=r"Received: mask of shape \(2, 3\)"):
        lstm(np.zeros((2, 4, 3), "float32"), mask=np.ones((2, 3)))


def test_eager_outputs_carry_keras_mask_and_the_next_eager_call_reads_it():
    """The masking guide's eager blocks: `_keras_mask` of Embedding and Masking outputs, and an
    LSTM called on a masked output skipping the masked steps; arithmetic drops the mask."""
    padded = pytrainc.utils.pad_sequences([[711, 632, 71], [73, 8, 3215, 55, 927]], padding="post")
    want_mask = padded != 0
    emb = pytrainc.layers.Embedding(input_dim=5000, output_dim=4, mask_zero=True)
    np.testing.assert_array_equal(emb(padded)._keras_mask, want_mask)
    tiled = pytrainc.ops.cast(pytrainc.ops.tile(pytrainc.ops.expand_dims(padded, axis=-1), [1, 1, 3]), "float32")
    masked = pytrainc.layers.Masking()(tiled)
    np.testing.assert_array_equal(masked._keras_mask, want_mask)
    assert (masked * 0.01)._keras_mask is None
    ours = pytrainc.layers.LSTM(2)
    ref = keras.layers.LSTM(2)
    got_masked = ours(pytrainc.layers.Masking()(tiled * 0.001))
    got_plain = ours(tiled * 0.001)
    ref(keras.ops.convert_to_tensor(tiled))
    ref.set_weights(ours.get_weights())
    k_masked = keras.layers.Masking()(keras.ops.convert_to_tensor(tiled * 0.001))
    np.testing.assert_allclose(got_masked, _np(ref(k_masked)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_plain, _np(ref(keras.ops.convert_to_tensor(tiled * 0.001))), rtol=1e-5, atol=1e-6)
    assert not np.allclose(got_masked, got_plain)


def test_tile_eagerly_as_numpy_and_traced_trains_as_keras():
    x = np.random.default_rng(1).normal(size=(4, 2, 3)).astype("float32")
    for reps in ([2], [1, 3, 2], 3, [2, 1, 1, 2]):
        np.testing.assert_array_equal(pytrainc.ops.tile(x, reps), np.tile(x, reps))
    y = np.random.default_rng(2).normal(size=(4, 1)).astype("float32")

    def build(lib):
        inp = lib.Input((2, 3))
        t = lib.layers.Lambda(lambda v: lib.ops.tile(v, [1, 3, 2]))(inp)  # (None, 6, 6)
        return lib.Model(inp, lib.layers.Dense(1)(lib.layers.Flatten()(t)))

    ours, ref = build(pytrainc), build(keras)
    ref.set_weights(ours.get_weights())
    for m in (ours, ref):
        m.compile(optimizer="sgd", loss="mse")
    got = ours.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0).history["loss"]
    want = ref.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    with pytest.raises(ValueError, match=r"not the batch axis\. Received: repeats=\[2, 1, 1\]"):
        pytrainc.ops.tile(pytrainc.Input((2, 3)), [2, 1, 1])
