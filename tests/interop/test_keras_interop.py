"""Weights between pytrainc and a real Keras 3 (PyPI `keras`, KERAS_BACKEND=torch)
through HDF5 files, both ways and in both of Keras's layouts: the legacy `.h5`
layout (`layer_names` / `weight_names`, as tf.keras 2 and Keras 3's
`model.save("m.h5")` write it) and Keras 3's `.weights.h5`. The same
architecture is built on each side; predictions agree within 1e-5."""

import functools

import numpy as np
import pytest

from pytrainc import testing  # noqa: E402

keras = testing.keras_torch()
import h5py  # noqa: E402
import torch  # noqa: E402

import pytrainc  # noqa: E402
from pytrainc import h5, interop, testing  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402
from pytrainc.testing import data, randomize  # noqa: E402

K = keras.layers
TOL = 1e-5
close = functools.partial(testing.assert_close_abs, atol=TOL)
# Keras's own variables trip NumPy 2's copy-keyword deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def seed(s=0):
    testing.seed(s)
    keras.utils.set_random_seed(s)


def keras_predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def weighted_layers_match(pt_model, k_model):
    """Per layer with weights, in order: the same arrays, bitwise."""
    ours = [layer.get_weights() for layer in pt_model.layers if layer.weights]
    theirs = [[np.asarray(w) for w in layer.get_weights()] for layer in k_model.layers if layer.weights]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert u.shape == v.shape
            np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------
# The same architectures on both sides


def pt_mlp(kind, s=0):
    seed(s)
    if kind == "sequential":
        return randomize(
            Sequential(
                [
                    L.Input((8,)),
                    L.Dense(16, activation="relu"),
                    L.Dropout(0.3),
                    L.Dense(6, use_bias=False, activation="tanh"),
                    L.Dense(3, activation="softmax"),
                ]
            ),
            s=s + 1,
        )
    x = L.Input((8,))
    h = L.Dense(8, activation="relu")(x)
    y = L.Dense(3, activation="softmax")(L.Concatenate()([L.Add()([x, h]), L.Dense(4, activation="gelu")(h)]))
    return randomize(Model(inputs=x, outputs=y), s=s + 1)


def k_mlp(kind):
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((8,)),
                K.Dense(16, activation="relu"),
                K.Dropout(0.3),
                K.Dense(6, use_bias=False, activation="tanh"),
                K.Dense(3, activation="softmax"),
            ]
        )
    x = keras.Input((8,))
    h = K.Dense(8, activation="relu")(x)
    y = K.Dense(3, activation="softmax")(K.Concatenate()([K.Add()([x, h]), K.Dense(4, activation="gelu")(h)]))
    return keras.Model(x, y)


def pt_convnet(s=0):
    seed(s)
    return randomize(
        Sequential(
            [
                L.Input((11, 9, 3)),
                L.Conv2D(4, 3, activation="relu"),
                L.BatchNormalization(),
                L.MaxPooling2D(),
                L.Conv2D(6, (3, 2), strides=2, padding="same"),
                L.AveragePooling2D(2, strides=1, padding="same"),
                L.Flatten(),
                L.Dropout(0.2),
                L.Dense(5, activation="relu"),
                L.Dense(2),
            ]
        ),
        s=s + 1,
    )


def k_convnet():
    return keras.Sequential(
        [
            keras.Input((11, 9, 3)),
            K.Conv2D(4, 3, activation="relu"),
            K.BatchNormalization(),
            K.MaxPooling2D(),
            K.Conv2D(6, (3, 2), strides=2, padding="same"),
            K.AveragePooling2D(2, strides=1, padding="same"),
            K.Flatten(),
            K.Dropout(0.2),
            K.Dense(5, activation="relu"),
            K.Dense(2),
        ]
    )


def keras_legacy_weights(k_model, path):
    """Keras 3's own writer of the legacy layout (what `model.save_weights("w.h5")` did in Keras 2)."""
    try:
        from keras.src.legacy.saving import legacy_h5_format
    except ImportError:
        pytest.skip("this Keras has no keras.src.legacy.saving.legacy_h5_format")
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, k_model)


# ---------------------------------------------------------------------------
# pytrainc -> Keras


@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("name", ["w.h5", "w.weights.h5"])
def test_pytrainc_weights_load_into_keras(tmp_path, kind, name):
    model = pt_mlp(kind)
    h5.save_weights(model, tmp_path / name)
    k_model = k_mlp(kind)
    k_model.load_weights(str(tmp_path / name))
    weighted_layers_match(model, k_model)
    x = data(32)
    close(keras_predict(k_model, x), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["w.h5", "w.weights.h5"])
def test_pytrainc_conv_weights_load_into_keras(tmp_path, name):
    model = pt_convnet()
    h5.save_weights(model, tmp_path / name)
    k_model = k_convnet()
    k_model.load_weights(str(tmp_path / name))
    weighted_layers_match(model, k_model)
    # Keras's predictions against pytrainc's layers run in PyTorch (to_torch), which
    # needs no pytrainc kernel; against pytrainc's own predict when the engine runs conv.
    x = data(8, (11, 9, 3))
    with torch.no_grad():
        ours = interop.to_torch(model)(torch.from_numpy(x)).numpy()
    close(keras_predict(k_model, x), ours)


@pytest.mark.parametrize("name", ["w.h5", "w.weights.h5"])
def test_pytrainc_conv_predictions_match_keras(tmp_path, name):
    model = pt_convnet()
    h5.save_weights(model, tmp_path / name)
    k_model = k_convnet()
    k_model.load_weights(str(tmp_path / name))
    x = data(8, (11, 9, 3))
    close(keras_predict(k_model, x), model.predict(x, verbose=0))


def test_pytrainc_model_file_weights_load_into_keras(tmp_path):
    # A whole pytrainc model saved as .h5 keeps its weights in Keras's layout
    # under 'model_weights', as Keras's own model.save("m.h5") does.
    model = pt_mlp("sequential")
    model.save(tmp_path / "m.h5")
    k_model = k_mlp("sequential")
    k_model.load_weights(str(tmp_path / "m.h5"))
    x = data(32)
    close(keras_predict(k_model, x), model.predict(x, verbose=0))


# ---------------------------------------------------------------------------
# Keras -> pytrainc


def keras_trained(kind):
    seed(3)
    k_model = k_mlp(kind)
    k_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = data(64, s=5)
    k_model.fit(x, np.arange(64) % 3, epochs=2, verbose=0)  # weights that are not the initializer's
    return k_model


@pytest.mark.parametrize("kind", ["sequential", "functional"])
@pytest.mark.parametrize("how", ["weights.h5", "legacy_group", "model.save"])
def test_keras_weights_load_into_pytrainc(tmp_path, kind, how):
    k_model = keras_trained(kind)
    if how == "weights.h5":
        path = tmp_path / "k.weights.h5"
        k_model.save_weights(str(path))
    elif how == "legacy_group":
        path = tmp_path / "k.h5"
        keras_legacy_weights(k_model, path)
    else:
        path = tmp_path / "k_model.h5"
        k_model.save(str(path))  # the legacy whole-model file: weights under 'model_weights'
    with h5py.File(path, "r") as f:
        assert "pytrainc.format" not in f.attrs  # really Keras's file
    model = pt_mlp(kind, s=9)
    h5.load_weights(model, path)
    weighted_layers_match(model, k_model)
    x = data(32)
    close(model.predict(x, verbose=0), keras_predict(k_model, x))
    if how == "model.save":  # the whole model loads too (tests/saving/test_keras_whole_h5.py)
        close(pytrainc.models.load_model(path).predict(x, verbose=0), keras_predict(k_model, x))


@pytest.mark.parametrize("how", ["weights.h5", "legacy_group"])
def test_keras_conv_weights_load_into_pytrainc(tmp_path, how):
    seed(4)
    k_model = k_convnet()
    x = data(8, (11, 9, 3))
    k_model.compile(optimizer="adam", loss="mse")
    k_model.fit(x, data(8, (2,)), epochs=2, verbose=0)  # BatchNorm statistics move off 0 and 1
    path = tmp_path / ("k.weights.h5" if how == "weights.h5" else "k.h5")
    if how == "weights.h5":
        k_model.save_weights(str(path))
    else:
        keras_legacy_weights(k_model, path)
    model = pt_convnet(s=9)
    h5.load_weights(model, path)
    weighted_layers_match(model, k_model)
    assert not np.all(model.layers[1].moving_variance.numpy() == 1.0)
    with torch.no_grad():
        ours = interop.to_torch(model)(torch.from_numpy(x)).numpy()
    close(ours, keras_predict(k_model, x))
    close(model.predict(x, verbose=0), keras_predict(k_model, x))


@pytest.mark.parametrize("name", ["k.weights.h5", "k.h5"])
def test_keras_file_of_another_architecture_is_refused(tmp_path, name):
    k_model = keras.Sequential(
        [keras.Input((8,)), K.Dense(12, activation="relu"), K.Dense(6, use_bias=False), K.Dense(3)]
    )
    path = tmp_path / name
    if name.endswith(".weights.h5"):
        k_model.save_weights(str(path))
    else:
        keras_legacy_weights(k_model, path)
    model = pt_mlp("sequential")
    before = model.get_weights()
    first = model.layers[0].name
    with pytest.raises(
        ValueError,
        match=rf"shape mismatch for layer '{first}' \(Dense\).*expects shape \(8, 16\)"
        r".*has shape \(8, 12\)",
    ):
        h5.load_weights(model, path)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_keras_and_pytrainc_agree_on_the_legacy_layout(tmp_path):
    # The files differ in names, not in structure: same layer order, same
    # weight order, same shapes.
    model = pt_mlp("sequential")
    k_model = k_mlp("sequential")
    h5.save_weights(model, tmp_path / "ours.h5")
    keras_legacy_weights(k_model, tmp_path / "theirs.h5")

    def structure(path):
        with h5py.File(path, "r") as f:
            out = []
            for name in f.attrs["layer_names"]:
                g = f[name.decode() if isinstance(name, bytes) else name]
                names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
                out.append([(n.split("/")[-1].split(":")[0], g[n].shape) for n in names])
            return out

    assert structure(tmp_path / "ours.h5") == structure(tmp_path / "theirs.h5")
