"""Keras masks in custom traced layers (pytrainc/layers/_traced_masks.py), against Keras 3 on its torch
backend: the same layer classes written against each library, the same initial weights and data.

- a call that names `mask` gets the first input's mask (the Keras masking guide's TemporalSoftmax);
- compute_mask's output becomes the output's mask, which a downstream LSTM then uses;
- a call that needs a mask and gets none fails with its own error when the plan is built.

Losses and predictions agree within 1e-5 after a few SGD steps (the weights differ by 1e-8: float32
summed in different orders). SGD rather than Adam: Adam divides each step by sqrt(v), which turns
rounding differences in tiny gradients into steps of up to its learning rate."""

import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402

close = functools.partial(testing.assert_close_abs, atol=1e-5)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def masked_mean_class(lib):
    """Consumes the mask: the mean over the steps it keeps (as GlobalAveragePooling1D with a mask)."""

    class MaskedMean(lib.layers.Layer):
        def call(self, inputs, mask=None):
            ops = lib.ops
            assert mask is not None
            m = ops.expand_dims(ops.cast(mask, "float32"), -1)
            return ops.sum(inputs * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)

    return MaskedMean


def drop_small_class(lib):
    """Changes the mask: also masks the steps whose features are all small, and scales its input."""

    class DropSmall(lib.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

        def compute_mask(self, inputs, mask=None):
            ops = lib.ops
            big = ops.greater(ops.max(ops.abs(inputs), axis=-1), 0.02)
            return big if mask is None else ops.logical_and(mask, big)

    return DropSmall


def models(body):
    out = []
    for lib in (pytrainc, keras):
        x = lib.Input((6,), dtype="int32")
        h = lib.layers.Embedding(20, 4, mask_zero=True)(x)
        out.append(lib.Model(x, lib.layers.Dense(2)(body(lib, h))))
    pt, km = out
    km.set_weights(pt.get_weights())
    for m, lib in ((pt, pytrainc), (km, keras)):
        m.compile(lib.optimizers.SGD(0.5), lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    return pt, km


def data(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 20, (8, 6))
    ids[rng.random((8, 6)) < 0.4] = 0  # masked steps anywhere, not only a padded tail
    return ids, rng.integers(0, 2, 8)


def train_both(pt, km, steps=4):
    x, y = data()
    close(
        [float(pt.train_on_batch(x, y)) for _ in range(steps)], [float(km.train_on_batch(x, y)) for _ in range(steps)]
    )
    close(pt.predict(x, verbose=0), km.predict(x, verbose=0))
    return x


def test_call_gets_the_mask():
    pt, km = models(lambda lib, h: masked_mean_class(lib)()(h))
    x = train_both(pt, km)
    # the masked steps count for nothing: changing their ids changes nothing
    moved = np.where(x == 0, 0, x)
    close(pt.predict(moved, verbose=0), pt.predict(x, verbose=0))


def test_compute_mask_output_reaches_the_next_layer():
    pt, km = models(lambda lib, h: lib.layers.LSTM(3)(drop_small_class(lib)()(h)))
    train_both(pt, km)


def test_a_call_that_needs_a_mask_fails_without_one():
    x = pytrainc.Input((6, 4))
    model = pytrainc.Model(x, masked_mean_class(pytrainc)()(x))  # the symbolic call succeeds (masked form)
    with pytest.raises(AssertionError):
        model.predict(np.ones((2, 6, 4), np.float32), verbose=0)


def test_compute_mask_must_give_one_value_per_step():
    class Bad(pytrainc.layers.Layer):
        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, mask=None):
            return inputs  # (steps, features): one value per feature

    with pytest.raises(ValueError, match=r"compute_mask of layer .* one value per step"):
        Bad()(pytrainc.Input((6, 4)))


def test_embedding_and_masking_compute_mask_as_keras():
    ids = np.array([[3, 0, 5, 0], [0, 0, 1, 2]])
    seqs = np.array([[[0.0, 0.0], [1.0, 0.0], [2.0, 2.0]]], np.float32)
    for make, x in (
        (lambda lib: lib.layers.Embedding(10, 3, mask_zero=True), ids),
        (lambda lib: lib.layers.Masking(), seqs),
        (lambda lib: lib.layers.Masking(mask_value=2.0), seqs),
    ):
        got, want = make(pytrainc).compute_mask(x), keras.ops.convert_to_numpy(make(keras).compute_mask(x))
        assert got.dtype == np.bool_ and np.array_equal(got, want)
    assert pytrainc.layers.Embedding(10, 3).compute_mask(ids) is None
