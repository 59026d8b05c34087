"""RepeatVector, Permute, TimeDistributed and Bidirectional (issue #11) against Keras 3.15 on
torch: predictions and gradients (weights copied), .weights.h5 files both ways, configs and
save/load, and clear errors. Tolerances as tests/layers/test_masks.py (1e-5, float32 both)."""

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model, load_model

keras = testing.keras_torch()

T, F = 5, 3


def data(shape, out_shape=(1,), n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n,) + shape).astype(np.float32), rng.normal(size=(n,) + out_shape).astype(np.float32)


def test_repeat_vector_and_permute_match_keras():
    def body(lib, x):
        h = lib.RepeatVector(4)(lib.Dense(F)(x))  # (4, F)
        h = lib.Permute((2, 1))(h)  # (F, 4)
        return lib.Dense(2)(lib.Flatten()(lib.Dense(3)(h)))

    x, y = data((6,), (2,))
    testing.keras_parity(body, x, y, (6,))
    assert L.RepeatVector(4).get_config()["n"] == 4 and L.Permute((2, 1)).get_config()["dims"] == [2, 1]
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match="positive integer"):
        L.RepeatVector(0)


@pytest.mark.parametrize("inner", ["dense", "conv1d", "layer_norm"])
def test_time_distributed_matches_keras(inner):
    def body(lib, x):
        layer = {
            "dense": lambda: lib.Dense(4, activation="tanh"),
            "conv1d": lambda: lib.Conv1D(2, 3, strides=2, padding="same", activation="relu"),
            "layer_norm": lambda: lib.LayerNormalization(),
        }[inner]()
        return lib.Dense(1)(lib.Flatten()(lib.TimeDistributed(layer)(x)))

    shape = (T, 7, 2) if inner == "conv1d" else (T, F)
    x, y = data(shape)
    model, _ = testing.keras_parity(body, x, y, shape)
    wrapped = model.layers[1]  # after the InputLayer
    assert isinstance(wrapped, L.TimeDistributed) and len(wrapped.weights) == 2


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_matches_keras(cell, merge_mode):
    def body(lib, x):
        h = lib.Bidirectional(getattr(lib, cell)(4, return_sequences=True), merge_mode=merge_mode)(x)
        h = lib.Bidirectional(getattr(lib, cell)(3), merge_mode=merge_mode)(h)
        return lib.Dense(1)(h)

    x, y = data((T, F))
    testing.keras_parity(body, x, y, (T, F))


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_bidirectional_with_a_mask_matches_keras(cell):
    """Keras forces zero outputs at masked steps on the sublayers that return sequences."""

    def body(lib, x):
        h = lib.Embedding(9, F, mask_zero=True)(x)
        h = lib.Bidirectional(getattr(lib, cell)(4, return_sequences=True))(h)
        h = lib.Bidirectional(getattr(lib, cell)(3), merge_mode="sum")(h)
        return lib.Dense(1)(h)

    rng = np.random.default_rng(3)
    ids = rng.integers(1, 9, size=(6, T)).astype(np.float32)
    for row, length in enumerate([5, 2, 4, 1, 3, 5]):
        ids[row, length:] = 0
    ids[5, 1] = 0
    y = rng.normal(size=(6, 1)).astype(np.float32)
    testing.keras_parity(body, ids, y, (T,), ids.astype(np.int64))


def wrapped_model(lib):
    x = (L.Input if lib is L else keras.Input)((T, F))
    h = lib.TimeDistributed(lib.Dense(4))(x)
    h = lib.Bidirectional(lib.GRU(3), backward_layer=lib.GRU(3, go_backwards=True))(h)
    return (Model if lib is L else keras.Model)(x, lib.Dense(1)(h))


def test_weights_h5_files_move_both_ways_with_keras(tmp_path):
    model, k_model = wrapped_model(L), wrapped_model(keras.layers)
    x, _ = data((T, F))
    rng = np.random.default_rng(4)
    k_model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in k_model.get_weights()])
    k_model.save_weights(tmp_path / "k.weights.h5")
    model.load_weights(tmp_path / "k.weights.h5")
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "Keras's file")
    model.set_weights([w * 0.9 for w in model.get_weights()])
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    testing.assert_close(k_model.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5, "pytrainc's file")


def test_wrappers_keep_their_config_through_save_and_load(tmp_path):
    model = wrapped_model(L)
    x, _ = data((T, F))
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    bi = loaded.layers[2]  # after the InputLayer
    assert bi.forward_layer.name.startswith("forward_") and bi.backward_layer.go_backwards
    assert bi.get_config()["merge_mode"] == "concat" and "backward_layer" in bi.get_config()
    assert L.Bidirectional.from_config(bi.get_config()).forward_layer.name == bi.forward_layer.name


def test_wrappers_refuse_what_they_do_not_support():
    with pytest.raises(ValueError, match="with a recurrent layer"):
        L.Bidirectional(L.Dense(3))
    with pytest.raises(ValueError, match="Invalid merge mode. Received: None"):
        L.Bidirectional(L.LSTM(3), merge_mode=None)
    with pytest.raises(ValueError, match="same `return_sequences`"):
        L.Bidirectional(L.LSTM(3), backward_layer=L.LSTM(3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="TimeDistributed supports Dense.*Received: Conv2D"):
        L.TimeDistributed(L.Conv2D(2, 3))
