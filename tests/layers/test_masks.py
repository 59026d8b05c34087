"""Keras's masks (issue #11): Embedding(mask_zero=True) and Masking give their output a mask,
the recurrent layers skip its padded steps, GlobalAveragePooling1D averages the steps that
count, and the layers that support masking in Keras hand it on. Against Keras 3.15 on torch
(weights copied): predictions, gradients and 50 SGD steps on padded sequences of different
lengths.

Tolerances as tests/layers/test_sequence_layers.py: float32 against Keras's float32, 1e-5 for
one pass, 1e-4 over 50 steps; a step that is not skipped moves outputs by 1e-2 or more.
"""

import warnings

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import optimizers, testing
from pytrainc.models import Model, Sequential, load_model

keras = testing.keras_torch()

T, V, D, U = 7, 13, 3, 4
CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def padded_ids(n=6, seed=0):
    """Ids (n, T) padded with 0 after lengths T, 4, 1, ... and one row with a hole in the middle."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(n, T)).astype(np.float32)
    for row, length in enumerate([T, 4, 1, 5, 2, 6][:n]):
        ids[row, length:] = 0
    ids[n - 1, 2] = 0  # padding inside the sequence is skipped too
    return ids


def build(lib, body, input_shape):
    """The same graph in pytrainc (lib=L) or Keras (lib=keras.layers): body(lib, x) -> output."""
    Input = L.Input if lib is L else keras.Input
    inp = Input(input_shape)
    out = body(lib, inp)
    return (Model if lib is L else keras.Model)(inp, out)


def copy_weights(model, k_model, seed=1):
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    return weights


def rnn_body(cell, return_sequences, go_backwards):
    def body(lib, x):
        h = lib.Embedding(V, D, mask_zero=True)(x)
        h = getattr(lib, CELLS[cell])(U, return_sequences=return_sequences, go_backwards=go_backwards)(h)
        if return_sequences:
            h = lib.GlobalAveragePooling1D()(h)
        return lib.Dense(1)(h)

    return body


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, False), (True, True), (False, True)])
def test_recurrent_layers_skip_padded_steps_as_keras(cell, return_sequences, go_backwards):
    ids = padded_ids()
    y = np.random.default_rng(2).normal(size=(len(ids), 1)).astype(np.float32)
    testing.keras_parity(rnn_body(cell, return_sequences, go_backwards), ids, y, (T,), ids.astype(np.int64))


def test_a_skipped_step_is_as_if_it_were_not_there():
    """[a, b, 0, c, 0...] and [a, b, c, 0...] end in the same state; [a, b, c] unmasked does not."""
    model = build(L, rnn_body("lstm", False, False), (T,))
    copy_weights(model, build(keras.layers, rnn_body("lstm", False, False), (T,)))
    ids = np.zeros((3, T), np.float32)
    ids[0, [0, 1, 3]] = [5, 7, 2]
    ids[1, :3] = [5, 7, 2]
    ids[2, :3] = [5, 7, 2]
    out = model.predict(ids[:2], verbose=0)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6, atol=1e-7)
    unmasked = build(L, lambda lib, x: lib.Dense(1)(lib.LSTM(U)(lib.Embedding(V, D)(x))), (T,))
    unmasked.set_weights(model.get_weights())
    assert not np.allclose(unmasked.predict(ids[2:], verbose=0), out[1], atol=1e-3)


def stacked_body(lib, x):
    """Masking -> LSTM(sequences) -> Dense (hands the mask on) -> GRU -> Dense."""
    h = lib.Masking(mask_value=-1.0)(x)
    h = lib.LSTM(U, return_sequences=True)(h)
    h = lib.Dense(3, activation="tanh")(h)
    h = lib.GRU(U)(h)
    return lib.Dense(1)(h)


def padded_features(n=6, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, 2)).astype(np.float32)
    for row, length in enumerate([T, 3, 5, 1, 6, 2][:n]):
        x[row, length:] = -1.0
    x[1, 0, 0] = -1.0  # one feature at the mask value: the step still counts
    return x


def test_masking_and_mask_propagation_through_dense_match_keras():
    x = padded_features()
    y = np.random.default_rng(4).normal(size=(len(x), 1)).astype(np.float32)
    testing.keras_parity(stacked_body, x, y, (T, 2))


def test_fifty_training_steps_on_padded_sequences_match_keras():
    x = padded_features()
    y = np.random.default_rng(5).normal(size=(len(x), 1)).astype(np.float32)
    model, k_model = build(L, stacked_body, (T, 2)), build(keras.layers, stacked_body, (T, 2))
    copy_weights(model, k_model, seed=6)
    k_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    expected = [float(k_model.train_on_batch(x, y)) for _ in range(50)]
    got = [model.train_on_batch(x, y) for _ in range(50)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert expected[-1] < 0.95 * expected[0]  # a real descent, not a flat line


def test_masking_zeroes_padded_steps_and_keeps_its_config():
    layer = L.Masking(mask_value=-1.0, name="pad")
    model = Sequential([L.Input((T, 2)), layer])
    x = padded_features()
    k_layer = keras.layers.Masking(mask_value=-1.0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), k_layer(torch.tensor(x)).numpy())
    config = layer.get_config()
    assert config["mask_value"] == -1.0 and L.Masking.from_config(config).mask_value == -1.0
    with pytest.raises(ValueError, match="mask_value must be a number. Received: mask_value='x'"):
        L.Masking(mask_value="x")
    with pytest.raises(ValueError, match=r"Masking expects input of shape \(batch, timesteps, features\)"):
        Sequential([L.Input((4,)), L.Masking()])


def test_layers_without_mask_support_drop_it_with_keras_warning():
    """GlobalMaxPooling1D does not support masking in Keras 3: it pools every step and warns."""

    def body(lib, x):
        return lib.Dense(1)(lib.GlobalMaxPooling1D()(lib.Embedding(V, D, mask_zero=True)(x)))

    ids = padded_ids()
    model, k_model = build(L, body, (T,)), build(keras.layers, body, (T,))
    copy_weights(model, k_model)
    with pytest.warns(UserWarning, match="does not support masking and will therefore destroy the mask"):
        got = model.predict(ids, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = k_model.predict(ids.astype(np.int64), verbose=0)
    testing.assert_close(got, expected, 1e-5, "unmasked max")


def test_a_masked_model_saves_and_loads(tmp_path):
    model = build(L, stacked_body, (T, 2))
    x = padded_features()
    path = tmp_path / "masked.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[1].mask_value == -1.0  # after the InputLayer
