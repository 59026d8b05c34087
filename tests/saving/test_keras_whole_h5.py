"""Keras's whole-model legacy .h5 both ways (issue #10), against Keras 3.15 on torch: pytrainc's
`model.save("m.h5")` writes the root `model_config` JSON and the `model_weights` group Keras 3's
`legacy_h5_format.load_model_from_hdf5` reads, and `pytrainc.models.load_model` rebuilds a file
`keras_model.save("k.h5")` wrote. Predictions agree within 1e-5: the same float32 weights and
the same float32 ops, differing only in the order of the sums (measured at most 2.4e-7)."""

import h5py
import numpy as np
import pytest

import pytrainc
from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()
X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)


def as_list(out):
    return out if isinstance(out, list) else [out]


def assert_same_predictions(a, b):
    for p, q in zip(as_list(a.predict(X, verbose=0)), as_list(b.predict(X, verbose=0)), strict=True):
        np.testing.assert_allclose(p, q, atol=1e-5)


def pytrainc_models():
    seq = Sequential([L.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    i = L.Input((4,), name="a")
    h = L.Dense(3, activation="tanh")(i)
    multi = Model(i, [L.Dense(1, name="o1")(h), L.Dense(2, activation="softmax", name="o2")(h)])
    multi.compile("adam", ["mse", "categorical_crossentropy"])
    return {"sequential": seq, "multi_output": multi}


def keras_models():
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    i = keras.Input((4,), name="a")
    h = keras.layers.Dense(3, activation="tanh")(i)
    multi = keras.Model(i, [keras.layers.Dense(1, name="o1")(h), keras.layers.Dense(2, name="o2")(h)])
    return {"sequential": seq, "multi_output": multi}


@pytest.mark.parametrize("kind", ["sequential", "multi_output"])
def test_keras_loads_a_whole_model_h5_pytrainc_saved(kind, tmp_path):
    model = pytrainc_models()[kind]
    model.save(tmp_path / "m.h5")
    k_model = keras.models.load_model(tmp_path / "m.h5", compile=False)
    assert [type(k).__name__ for k in k_model.layers] == [type(p).__name__ for p in model.layers]
    assert_same_predictions(model, k_model)
    back = pytrainc.models.load_model(tmp_path / "m.h5")  # pytrainc's own reading keeps working
    assert_same_predictions(model, back)


@pytest.mark.parametrize("kind", ["sequential", "multi_output"])
def test_pytrainc_loads_a_whole_model_h5_keras_saved(kind, tmp_path):
    k_model = keras_models()[kind]
    k_model.save(tmp_path / "k.h5")
    model = pytrainc.models.load_model(tmp_path / "k.h5")
    assert isinstance(model, Sequential if kind == "sequential" else Model)
    assert [layer.name for layer in model.layers] == [layer.name for layer in k_model.layers]
    assert_same_predictions(model, k_model)


def keras_file(tmp_path, model_config=None, weights=True):
    keras_models()["sequential"].save(tmp_path / "k.h5")
    with h5py.File(tmp_path / "k.h5", "a") as f:
        if model_config is not None:
            f.attrs["model_config"] = model_config
        if not weights:
            del f["model_weights"]
    return tmp_path / "k.h5"


def test_hostile_keras_h5_files_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match=r"attribute 'model_config'.*not valid JSON"):
        pytrainc.models.load_model(keras_file(tmp_path, "{not json"))
    with pytest.raises(ValueError, match=r"attribute 'model_config'.*'Evil'"):
        pytrainc.models.load_model(keras_file(tmp_path, '{"class_name": "Evil", "config": {}}'))
    with pytest.raises(ValueError, match=r"model_config but no model_weights group"):
        pytrainc.models.load_model(keras_file(tmp_path, weights=False))
    path = keras_file(tmp_path)
    with h5py.File(path, "a") as f:  # a kernel of the wrong shape
        first = f["model_weights"].attrs["layer_names"][0]
        group = f["model_weights"][first.decode() if isinstance(first, bytes) else first]
        name = next(
            n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"] if "kernel" in str(n)
        )
        del group[name]
        group[name] = np.zeros((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"k\.h5.*\(5, 3\)"):
        pytrainc.models.load_model(path)
