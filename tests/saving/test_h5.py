"""HDF5 files (pytrainc.h5, through h5py): Keras's two weight layouts and whole
models. Round trips are exact (weights bitwise, predictions identical); damaged,
truncated, foreign, newer and wrong-architecture files raise errors that name
the problem and change nothing. Files made by Keras itself are checked in
tests/interop/test_keras_interop.py; here the Keras layouts are also built by hand."""

import os
import sys

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import pytrainc  # noqa: E402
from pytrainc import h5, optimizers  # noqa: E402
from pytrainc.layers import (
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,  # noqa: E402
    MaxPooling2D,
)
from pytrainc.models import Model, Sequential, load_model, save_model  # noqa: E402
from pytrainc.testing import class_data, data, same_arrays, seed  # noqa: E402


def mlp(s=0, units=10):
    seed(s)
    return Sequential(
        [
            Input((8,)),
            Dense(units, activation="relu"),
            Dropout(0.2),
            Dense(4, use_bias=False),
            Dense(3, activation="softmax"),
        ]
    )


def functional(s=0):
    seed(s)
    x = Input((8,))
    h = Dense(8, activation="tanh")(x)
    return Model(inputs=x, outputs=Dense(2)(Add()([x, h])))


def convnet(s=0):
    seed(s)
    return Sequential(
        [Input((8, 8, 3)), Conv2D(4, 3, activation="relu"), BatchNormalization(), MaxPooling2D(), Flatten(), Dense(5)]
    )


def randomize(model, s=1):
    """Give every weight (BatchNorm statistics too) a distinct random value."""
    rng = np.random.default_rng(s)
    model.set_weights(
        [
            rng.normal(size=w.shape).astype(np.float32) + (2.0 if "variance" in v.name else 0.0)
            for w, v in zip(model.get_weights(), model.weights)
        ]
    )
    return model


LAYOUTS = [("w.h5", "legacy"), ("w.hdf5", "legacy"), ("w.weights.h5", "keras3")]
BUILDERS = {"mlp": mlp, "functional": functional, "convnet": convnet}


def assert_layout(path, layout):
    with h5py.File(path, "r") as f:
        # Strings are fixed-length bytes: they live in checksummed object headers.
        assert f.attrs["pytrainc.format"] == b"pytrainc.weights"
        assert f.attrs["pytrainc.format_version"] == 1
        assert len(f.attrs["pytrainc.sha256"]) == 64
        if layout == "legacy":
            assert "layers" not in f and "layer_names" in f.attrs
        else:
            assert "layer_names" not in f.attrs and "layers" in f


# ---------------------------------------------------------------------------
# Weights: exact round trips in both layouts


@pytest.mark.parametrize("name,layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["mlp", "functional", "convnet"])
def test_weights_round_trip_is_bitwise(tmp_path, name, layout, kind):
    model = randomize(BUILDERS[kind](s=0))
    path = tmp_path / name
    h5.save_weights(model, path)
    assert_layout(path, layout)
    other = BUILDERS[kind](s=5)
    assert not same_arrays(other.get_weights(), model.get_weights())
    h5.load_weights(other, str(path))
    assert same_arrays(other.get_weights(), model.get_weights())


@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_weights_round_trip_predicts_identically(tmp_path, name, layout):
    model = randomize(mlp())
    h5.save_weights(model, tmp_path / name)
    other = mlp(s=3)
    h5.load_weights(other, tmp_path / name)
    x = data(32)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_conv_weights_round_trip_predicts_identically(tmp_path, name, layout):
    model = randomize(convnet())
    h5.save_weights(model, tmp_path / name)
    other = convnet(s=3)
    h5.load_weights(other, tmp_path / name)
    x = data(16, (8, 8, 3))
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_explicit_layout_overrides_the_extension(tmp_path):
    model = randomize(mlp())
    h5.save_weights(model, tmp_path / "a.h5", layout="keras3")
    h5.save_weights(model, tmp_path / "b.weights.h5", layout="legacy")
    assert_layout(tmp_path / "a.h5", "keras3")
    assert_layout(tmp_path / "b.weights.h5", "legacy")
    with pytest.raises(ValueError, match=r"layout must be one of.*'tf'"):
        h5.save_weights(model, tmp_path / "c.h5", layout="tf")


def test_legacy_layout_is_keras_2s(tmp_path):
    model = randomize(mlp())
    h5.save_weights(model, tmp_path / "w.h5")
    names = [layer.name for layer in model.layers]
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == names
        for layer in model.layers:
            weight_names = [n.decode() for n in f[layer.name].attrs["weight_names"]]
            assert weight_names == [f"{layer.name}/{v.name.split('/')[-1]}:0" for v in layer.weights]
            for v, wn in zip(layer.weights, weight_names):
                np.testing.assert_array_equal(f[layer.name][wn][()], v.numpy())


def test_keras3_layout_names_layers_by_class_and_order(tmp_path):
    model = randomize(convnet())
    h5.save_weights(model, tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert sorted(f["layers"]) == ["batch_normalization", "conv2d", "dense", "flatten", "max_pooling2d"]
        bn = model.layers[1]
        for i, name in enumerate(["gamma", "beta", "moving_mean", "moving_variance"]):
            np.testing.assert_array_equal(f["layers/batch_normalization/vars"][str(i)][()], getattr(bn, name).numpy())
        np.testing.assert_array_equal(f["layers/conv2d/vars/0"][()], model.layers[0].kernel.numpy())


def test_frozen_weights_keep_keras_legacy_order(tmp_path):
    # Keras's legacy order is trainable weights, then the others; a frozen layer
    # lists all of its weights as non-trainable, in their own order.
    seed(0)
    model = randomize(Sequential([Input((4,)), Dense(3, trainable=False), BatchNormalization(), Dense(2)]))
    h5.save_weights(model, tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        bn_names = [n.decode().split("/")[-1] for n in f[model.layers[1].name].attrs["weight_names"]]
    assert bn_names == ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]
    seed(4)
    other = Sequential([Input((4,)), Dense(3), BatchNormalization(), Dense(2)])
    h5.load_weights(other, tmp_path / "w.h5")
    assert same_arrays(other.get_weights(), model.get_weights())


def test_layers_are_matched_by_order_not_name(tmp_path):
    model = randomize(mlp())
    h5.save_weights(model, tmp_path / "w.h5")
    seed(7)
    other = Sequential(
        [
            Input((8,)),
            Dense(10, activation="relu", name="first"),
            Dense(4, use_bias=False, name="x"),
            Dense(3, name="out"),
        ]
    )  # no Dropout, other names
    h5.load_weights(other, tmp_path / "w.h5")
    assert same_arrays(other.get_weights(), model.get_weights())


def test_hand_built_tf_keras_2_file_loads(tmp_path):
    # The layout of tf.keras 2 `model.save_weights('w.h5')` for a functional model:
    # an InputLayer without weights, names 'dense/kernel:0', backend attributes,
    # and layer_names split into chunks as Keras does past 64 KiB.
    model = randomize(functional())
    dense_a, dense_b = model.layers[1], model.layers[3]  # after the InputLayer, as Keras lists them
    path = tmp_path / "tf2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["layer_names0"] = np.array([b"input_1", b"dense"])
        f.attrs["layer_names1"] = np.array([b"add", b"dense_1"])
        f.create_group("input_1").attrs["weight_names"] = np.array([])
        f.create_group("add").attrs["weight_names"] = np.array([])
        for name, layer in (("dense", dense_a), ("dense_1", dense_b)):
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()])
            g.create_dataset(f"{name}/kernel:0", data=layer.kernel.numpy().astype(np.float64))
            g.create_dataset(f"{name}/bias:0", data=layer.bias.numpy())
    other = functional(s=8)
    h5.load_weights(other, path)
    assert same_arrays(other.get_weights(), model.get_weights())


def test_weights_inside_a_keras_whole_model_file_load(tmp_path):
    model = randomize(mlp())
    path = tmp_path / "keras_model.h5"
    h5.save_weights(model, tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as src, h5py.File(path, "w") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential"}'
        src.copy(src["/"], f, "model_weights")
        for key, value in src.attrs.items():
            if not key.startswith("pytrainc."):
                f["model_weights"].attrs[key] = value
    other = mlp(s=2)
    h5.load_weights(other, path)
    assert same_arrays(other.get_weights(), model.get_weights())
    # read_model hands the Keras architecture to load_model (tests/saving/test_keras_whole_h5.py),
    # which refuses this one, a model_config without its config, by name
    assert h5.read_model(path) == ({}, {"keras.model_config": '{"class_name": "Sequential"}'})
    with pytest.raises(ValueError, match=r"keras_model\.h5' attribute 'model_config"):
        pytrainc.models.load_model(path)


# ---------------------------------------------------------------------------
# Wrong architectures: clear errors, nothing changed


def test_wrong_shape_names_the_layer_and_shapes(tmp_path):
    h5.save_weights(randomize(mlp(units=10)), tmp_path / "w.h5")
    h5.save_weights(randomize(mlp(units=10)), tmp_path / "w.weights.h5")
    other = mlp(units=12)
    before = other.get_weights()
    first = other.layers[0].name
    with pytest.raises(ValueError, match=rf"layer '{first}' \(Dense\).*expects shape \(8, 12\).*has shape \(8, 10\)"):
        h5.load_weights(other, tmp_path / "w.h5")
    with pytest.raises(
        ValueError,
        match=rf"layer '{first}' \(Dense\).*expects shape \(8, 12\).*"
        r"layers/dense/vars/0' has shape \(8, 10\)",
    ):
        h5.load_weights(other, tmp_path / "w.weights.h5")
    assert same_arrays(other.get_weights(), before)


def test_wrong_layer_count_and_weight_count(tmp_path):
    h5.save_weights(randomize(mlp()), tmp_path / "w.h5")
    h5.save_weights(randomize(mlp()), tmp_path / "w.weights.h5")
    seed(1)
    fewer = Sequential([Input((8,)), Dense(10), Dense(4, use_bias=False)])
    with pytest.raises(ValueError, match=r"file has weights for 3 layer\(s\).*model has 2 layer\(s\)"):
        h5.load_weights(fewer, tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"weights for layer\(s\) \['dense_2'\] that the model does not have"):
        h5.load_weights(fewer, tmp_path / "w.weights.h5")
    seed(1)
    with_bias = Sequential([Input((8,)), Dense(10), Dense(4), Dense(3)])
    with pytest.raises(ValueError, match=r"has 2 weight\(s\) \[\(10, 4\), \(4,\)\] in the model and 1 in the file"):
        h5.load_weights(with_bias, tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"has 2 weight\(s\).*'layers/dense_1/vars' holds 1"):
        h5.load_weights(with_bias, tmp_path / "w.weights.h5")
    seed(1)
    other_class = Sequential([Input((8, 1, 1)), Conv2D(2, (1, 1)), Flatten(), Dense(3)])
    with pytest.raises(ValueError, match=r"'layers/conv2d', which the file does not have"):
        h5.load_weights(other_class, tmp_path / "w.weights.h5")


def test_file_without_weights_layout(tmp_path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_group("something")
    with pytest.raises(ValueError, match=r"empty.h5.*no weights in a layout pytrainc knows"):
        h5.load_weights(mlp(), path)


def test_unbuilt_and_non_models(tmp_path):
    with pytest.raises(ValueError, match="no input shape"):
        h5.save_weights(Sequential([Dense(3)]), tmp_path / "w.h5")
    with pytest.raises(TypeError, match="pytrainc Model"):
        h5.save_weights(mlp().state_dict(), tmp_path / "w.h5")
    assert not os.path.exists(tmp_path / "w.h5")


def test_duplicate_and_slash_layer_names_are_refused(tmp_path):
    x = Input((3,))
    model = Model(x, Dense(2, name="same")(Dense(3, name="same")(x)))
    with pytest.raises(ValueError, match=r"Two layers of the model are named 'same'"):
        h5.save_weights(model, tmp_path / "w.h5")
    model = Sequential([Input((3,)), Dense(2, name="a/b")])
    with pytest.raises(ValueError, match=r"'a/b' cannot name an HDF5 group"):
        h5.save_weights(model, tmp_path / "w.h5")
    assert not os.path.exists(tmp_path / "w.h5")


# ---------------------------------------------------------------------------
# Damaged, foreign and newer files


def saved_bytes(tmp_path, name="w.h5"):
    model = randomize(mlp())
    h5.save_weights(model, tmp_path / name)
    return model, (tmp_path / name).read_bytes()


@pytest.mark.parametrize("keep", [1, 8, 100, "half", "minus1"])
def test_truncated_file(tmp_path, keep):
    _, raw = saved_bytes(tmp_path)
    n = {"half": len(raw) // 2, "minus1": len(raw) - 1}.get(keep, keep)
    (tmp_path / "cut.h5").write_bytes(raw[:n])
    model = mlp(s=4)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"Cannot load '.*cut.h5'.*(truncated|damaged|not an HDF5)"):
        h5.load_weights(model, tmp_path / "cut.h5")
    assert same_arrays(model.get_weights(), before)


def test_flipped_weight_bit_fails_the_checksum(tmp_path):
    model, raw = saved_bytes(tmp_path)
    target = model.layers[0].kernel.numpy().tobytes()[:16]
    at = raw.index(target)
    bad = bytearray(raw)
    bad[at + 3] ^= 0x01
    (tmp_path / "bad.h5").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"bad.h5.*checksum mismatch"):
        h5.load_weights(mlp(s=4), tmp_path / "bad.h5")


_FLIP_SWEEP = r"""
import json, sys
import numpy as np
import pytrainc
from pytrainc import h5
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

directory, name = sys.argv[1], sys.argv[2]
def model(s):
    pytrainc.utils.set_random_seed(s)
    return Sequential([Input((3,)), Dense(2), Dense(1, use_bias=False)])
saved = model(0)
h5.save_weights(saved, f"{directory}/{name}")
raw = open(f"{directory}/{name}", "rb").read()
counts = {"caught": 0, "harmless": 0, "changed": [], "other": []}
for i in range(len(raw)):
    bad = bytearray(raw)
    bad[i] ^= 0xFF
    path = f"{directory}/flip-{name}"
    open(path, "wb").write(bytes(bad))
    other = model(3)
    try:
        h5.load_weights(other, path)
    except ValueError as err:
        counts["caught"] += 1 if "flip-" in str(err) else 0
        if "flip-" not in str(err):
            counts["other"].append([i, str(err)[:200]])
    except Exception as err:
        counts["other"].append([i, f"{type(err).__name__}: {str(err)[:200]}"])
    else:
        same = all(np.array_equal(a, b) for a, b in zip(other.get_weights(), saved.get_weights()))
        if same:
            counts["harmless"] += 1
        else:
            counts["changed"].append(i)
print(json.dumps(counts))
"""


@pytest.mark.parametrize("name", ["w.h5", "w.weights.h5"])
def test_every_single_byte_flip_is_caught_or_harmless(tmp_path, name):
    # Flip each byte of a small file in turn: loading must raise a ValueError
    # naming the file, or load exactly the saved weights (a byte nobody reads).
    # In a subprocess with a timeout: a damaged variable-length string heap
    # once made HDF5 loop forever (the files now keep strings in checksummed
    # object headers), and a hang must fail the test, not the run.
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _FLIP_SWEEP, str(tmp_path), name],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )  # not the repo root, which shadows the package
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["changed"] == [], "byte flips that changed the weights silently"
    assert counts["other"] == [], "byte flips that raised something else than a ValueError naming the file"
    total = counts["caught"] + counts["harmless"]
    assert total == len((tmp_path / name).read_bytes())
    assert counts["caught"] >= 0.9 * total  # superblock, object headers, names and data are all checked


@pytest.mark.parametrize(
    "content,problem",
    [
        (b"", "empty"),
        (b"hello, world" * 10, "not an HDF5 file"),
        (b"PK\x03\x04" + bytes(60), "zip archive"),
        ((16).to_bytes(8, "little") + b'{"__metadata__":{}}' + bytes(8), "safetensors"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), "truncated or damaged"),
    ],
)
def test_foreign_files(tmp_path, content, problem):
    path = tmp_path / "x.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=problem):
        h5.load_weights(mlp(), path)
    with pytest.raises(ValueError, match=problem):
        h5.read_model(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        h5.load_weights(mlp(), tmp_path / "nope.h5")
    with pytest.raises(IsADirectoryError):
        h5.load_weights(mlp(), tmp_path)


def test_newer_format_version_is_refused(tmp_path):
    saved_bytes(tmp_path)
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        f.attrs["pytrainc.format_version"] = 2
    with pytest.raises(
        ValueError,
        match=r"newer version of pytrainc \(file format_version 2; this pytrainc reads "
        r"format_version 1\)",
    ):
        h5.load_weights(mlp(), tmp_path / "w.h5")


@pytest.mark.parametrize(
    "attr,value,problem",
    [
        ("pytrainc.format", "pytrainc.tokenizer", "unknown pytrainc.format"),
        ("pytrainc.format_version", "one", "format_version is 'one'"),
        ("pytrainc.sha256", "0" * 64, "checksum mismatch"),
    ],
)
def test_damaged_pytrainc_attributes(tmp_path, attr, value, problem):
    saved_bytes(tmp_path)
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        f.attrs[attr] = value
    with pytest.raises(ValueError, match=problem):
        h5.load_weights(mlp(), tmp_path / "w.h5")


def test_edited_weight_fails_the_checksum(tmp_path):
    model, _ = saved_bytes(tmp_path)
    name = model.layers[0].name
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        f[name][f"{name}/bias:0"][0] += 1.0
    with pytest.raises(ValueError, match="checksum mismatch"):
        h5.load_weights(mlp(), tmp_path / "w.h5")


def test_non_numeric_dataset(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"d"])
        g = f.create_group("d")
        g.attrs["weight_names"] = np.array([b"k", b"b"])
        g.create_dataset("k", data=np.array([b"x"] * 3))
        g.create_dataset("b", data=np.zeros(2))
    model = Sequential([Input((3,)), Dense(2)])
    with pytest.raises(ValueError, match=r"dataset 'd/k' holds .* values; expected numbers"):
        h5.load_weights(model, path)


# ---------------------------------------------------------------------------
# Atomic writes


def test_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    old_model, old = saved_bytes(tmp_path)

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        h5.save_weights(randomize(mlp(), s=9), tmp_path / "w.h5")
    assert (tmp_path / "w.h5").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]


def test_overwrite_keeps_permissions(tmp_path):
    saved_bytes(tmp_path)
    os.chmod(tmp_path / "w.h5", 0o640)
    h5.save_weights(randomize(mlp(), s=9), tmp_path / "w.h5")
    assert (os.stat(tmp_path / "w.h5").st_mode & 0o777) == 0o640


def test_missing_h5py_gives_a_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install h5py"):
        h5.save_weights(mlp(), tmp_path / "w.h5")
    with pytest.raises(ImportError, match=r"pip install h5py"):
        h5.read_model(tmp_path / "w.h5")


# ---------------------------------------------------------------------------
# Whole models through the public API (Model.save / save_model / load_model,
# Model.save_weights / load_weights dispatch .h5 paths here)


def compiled(kind):
    if kind == "sequential_adam":
        # No Dropout here: save_model keeps no Dropout generator state, so such a
        # model would not continue bit for bit after loading (in any format).
        seed(10)
        model = Sequential(
            [Input((8,)), Dense(10, activation="relu"), Dense(4, use_bias=False), Dense(3, activation="softmax")]
        )
        model.compile(
            optimizer=optimizers.Adam(learning_rate=0.01, beta_1=0.8),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    else:
        seed(10)
        x = Input((8,))
        h = Dense(8, activation="tanh")(x)
        model = Model(inputs=x, outputs=Dense(3, activation="softmax")(Add()([x, h])))
        model.compile(
            optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
            loss="sparse_categorical_crossentropy",
        )
    return model, class_data(s=10)


@pytest.mark.parametrize("kind", ["sequential_adam", "functional_sgd"])
@pytest.mark.parametrize("how", ["method", "function"])
def test_model_save_load_h5_round_trip_and_continued_training(tmp_path, kind, how):
    model, (x, y) = compiled(kind)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.h5"
    if how == "method":
        model.save(path)
    else:
        save_model(model, str(path))
    with h5py.File(path, "r") as f:
        assert f.attrs["pytrainc.format"] == b"pytrainc.model"
        assert b'"layers"' in f["pytrainc_model"].attrs["model_config"]  # the architecture, as JSON
        assert "layer_names" in f["model_weights"].attrs  # Keras's layout, for keras_model.load_weights
    restored = load_model(path)
    assert type(restored) is type(model)
    assert list(restored.state_dict()) == list(model.state_dict())
    assert same_arrays(restored.get_weights(), model.get_weights())
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    ours, theirs = model.optimizer.variables(), restored.optimizer.variables()
    assert list(theirs) == list(ours)
    assert same_arrays(list(theirs.values()), list(ours.values()))
    seed(99)
    h1 = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    seed(99)
    h2 = restored.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert h2.history == h1.history
    assert same_arrays(restored.get_weights(), model.get_weights())


def test_uncompiled_model_h5_round_trip(tmp_path):
    model = randomize(mlp())
    save_model(model, tmp_path / "m.h5")
    restored = load_model(tmp_path / "m.h5")
    assert not restored.compiled
    np.testing.assert_array_equal(restored.predict(data(32), verbose=0), model.predict(data(32), verbose=0))


def test_model_file_weights_load_with_load_weights(tmp_path):
    model = randomize(mlp())
    model.save(tmp_path / "m.h5")
    other = mlp(s=6)
    other.load_weights(tmp_path / "m.h5")
    assert same_arrays(other.get_weights(), model.get_weights())


@pytest.mark.parametrize("name,layout", LAYOUTS)
def test_model_save_weights_dispatches_h5_paths(tmp_path, name, layout):
    model = randomize(mlp())
    model.save_weights(tmp_path / name)
    assert_layout(tmp_path / name, layout)
    other = mlp(s=6)
    other.load_weights(tmp_path / name)
    assert same_arrays(other.get_weights(), model.get_weights())


def test_load_model_refuses_weights_files_and_damage(tmp_path):
    model = randomize(mlp())
    model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"holds weights only.*load_weights"):
        load_model(tmp_path / "w.h5")
    model.save(tmp_path / "m.h5")
    raw = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut.h5.*(truncated|damaged)"):
        load_model(tmp_path / "cut.h5")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.h5")


def test_write_model_checks_its_tensors(tmp_path):
    model = mlp()
    tensors = {"model/" + k: v for k, v in model.state_dict().items()}
    del tensors["model/0.bias"]
    with pytest.raises(ValueError, match=r"are not the model's weights"):
        h5.write_model(tmp_path / "m.h5", tensors, {"pytrainc.kind": "pytrainc.model"}, model)
    tensors["model/0.bias"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"'model/0.bias' has shape \(3,\), the model's weight \(10,\)"):
        h5.write_model(tmp_path / "m.h5", tensors, {"pytrainc.kind": "pytrainc.model"}, model)
    assert not os.path.exists(tmp_path / "m.h5")
