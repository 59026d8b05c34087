"""Keras 3's `.keras` format within pytrainc: exact round trips that continue training bit for bit, the
suffix rules of `model.save`, ModelCheckpoint, and the loader's refusals (zip bombs, names leaving the
archive, huge configurations, unknown or custom classes, lambdas), each a ValueError naming the file and
its member. Loading by Keras itself, and of Keras's own files, is in tests/interop/test_keras_file_interop.py."""

import io
import json
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from pytrainc import layers as L  # noqa: E402
from pytrainc import optimizers  # noqa: E402
from pytrainc.callbacks import ModelCheckpoint  # noqa: E402
from pytrainc.models import Model, Sequential, load_model  # noqa: E402
from pytrainc.optimizers import schedules  # noqa: E402
from pytrainc.testing import class_data, randomize, same_arrays, seed  # noqa: E402


def regression(n=48, features=8, s=0):
    r = np.random.default_rng(s)
    x = r.normal(size=(n, features)).astype(np.float32)
    return x, (x[:, :2].sum(1, keepdims=True) + 0.1 * r.normal(size=(n, 1))).astype(np.float32)


def compiled(kind, s=3):
    """A compiled model of each kind, and its data; Dropout and BatchNormalization make training state-full."""
    seed(s)
    if kind == "sequential_nadam_dropout":
        model = Sequential(
            [
                L.Input((8,)),
                L.Dense(12, activation="relu", kernel_regularizer="l2"),
                L.Dropout(0.3),
                L.BatchNormalization(),
                L.Dense(1),
            ]
        )
        model.compile(optimizer=optimizers.Nadam(learning_rate=0.01), loss="mse", metrics=["mae"])
        return model, regression(s=s)
    if kind == "functional_adam_schedule":
        x = L.Input((8,))
        h = L.Dense(8, activation="tanh")(x)
        y = L.Dense(3, activation="softmax")(L.Concatenate()([L.Add()([x, h]), L.Dropout(0.2, seed=5)(h)]))
        model = Model(inputs=x, outputs=y)
        lr = schedules.ExponentialDecay(0.02, decay_steps=3, decay_rate=0.7)
        model.compile(
            optimizer=optimizers.Adam(learning_rate=lr, amsgrad=True),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model, class_data(n=48, s=s)
    if kind == "rmsprop_frozen":
        model = Sequential([L.Input((8,)), L.Dense(6, activation="elu", trainable=False), L.Dense(1)])
        model.compile(optimizer=optimizers.RMSprop(momentum=0.5, centered=True), loss="mae")
        return model, regression(s=s)
    if kind == "sgd_cnn":
        model = Sequential(
            [
                L.Input((6, 6, 2)),
                L.Conv2D(3, 3, padding="same", activation="relu"),
                L.MaxPooling2D(),
                L.Flatten(),
                L.Dense(1),
            ]
        )
        model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9, nesterov=True), loss="mse")
        x = np.random.default_rng(s).normal(size=(32, 6, 6, 2)).astype(np.float32)
        return model, (x, x.mean(axis=(1, 2, 3))[:, None])
    raise AssertionError(kind)


KINDS = ["sequential_nadam_dropout", "functional_adam_schedule", "rmsprop_frozen", "sgd_cnn"]


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_predicts_and_continues_training_bitwise(tmp_path, kind):
    model, (x, y) = compiled(kind)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    assert zipfile.is_zipfile(path)
    restored = load_model(path)
    assert type(restored) is type(model)
    assert [type(layer) for layer in restored.layers] == [type(layer) for layer in model.layers]
    assert same_arrays(restored.get_weights(), model.get_weights())
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert restored.loss.get_config() == model.loss.get_config()
    ours, theirs = model.optimizer.variables(), restored.optimizer.variables()
    assert list(theirs) == list(ours) and same_arrays(list(theirs.values()), list(ours.values()))

    seed(9)
    h1 = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    seed(9)
    h2 = restored.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert h2.history == h1.history
    assert same_arrays(restored.get_weights(), model.get_weights())


def test_members_are_keras_layout(tmp_path):
    model, _ = compiled("functional_adam_schedule")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        config = json.loads(z.read("config.json"))
        metadata = json.loads(z.read("metadata.json"))
        f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    assert metadata["keras_version"] == "3.15.1"
    assert (config["module"], config["class_name"], config["registered_name"]) == (
        "keras.src.models.functional",
        "Functional",
        "Functional",
    )
    kinds = [(e["class_name"], e["module"]) for e in config["config"]["layers"]]
    assert kinds[0] == ("InputLayer", "keras.layers") and all(m == "keras.layers" for _, m in kinds)
    dense = next(e for e in config["config"]["layers"] if e["class_name"] == "Dense")
    assert dense["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert dense["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert config["compile_config"]["optimizer"]["config"]["learning_rate"]["module"] == "keras.optimizers.schedules"
    groups = sorted(f["layers"])
    assert groups == ["add", "concatenate", "dense", "dense_1", "dropout", "input_layer"]
    assert f["layers/dense/vars/0"].shape == (8, 8) and f["layers/dense_1/vars/0"].shape == (16, 3)
    # Adam with amsgrad and a schedule: iterations, then m, v per weight, then every v_hat (no learning_rate).
    assert len(f["optimizer/vars"]) == 1 + 3 * 4
    assert f["pytrainc/rng/dropout"].dtype == np.uint64


def test_uncompiled_and_compile_false(tmp_path):
    model, (x, y) = compiled("sgd_cnn")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "c.keras")
    assert not load_model(tmp_path / "c.keras", compile=False).compiled
    seed(1)
    plain = randomize(Sequential([L.Input((4,)), L.Dense(2)]))
    plain.save(tmp_path / "u.keras")
    restored = load_model(tmp_path / "u.keras")
    assert not restored.compiled
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), plain.predict(x, verbose=0))


def test_compiled_but_never_trained_model(tmp_path):
    model, (x, y) = compiled("rmsprop_frozen")
    model.save(tmp_path / "m.keras")
    restored = load_model(tmp_path / "m.keras")
    assert restored.optimizer.iterations == 0
    seed(4)
    model.fit(x, y, epochs=2, verbose=0)
    seed(4)
    restored.fit(x, y, epochs=2, verbose=0)
    assert same_arrays(restored.get_weights(), model.get_weights())


# ---------------------------------------------------------------------------
# Suffixes


def test_save_suffixes(tmp_path):
    model, (x, _) = compiled("sgd_cnn")
    model.save(tmp_path / "own.ptc")
    assert not zipfile.is_zipfile(tmp_path / "own.ptc")
    for name in ("m.safetensors", "m.bin", "m"):
        with pytest.raises(ValueError, match=r"Invalid filepath extension.*'.keras'.*'.ptc'"):
            model.save(tmp_path / name)
    with pytest.raises(ValueError, match="holds a whole model"):
        model.save_weights(tmp_path / "w.keras")
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match="holds a whole model"):
        model.load_weights(tmp_path / "m.keras")
    # A .keras zip under another name still loads as one.
    (tmp_path / "renamed.bin").write_bytes((tmp_path / "m.keras").read_bytes())
    np.testing.assert_array_equal(
        load_model(tmp_path / "renamed.bin").predict(x, verbose=0), model.predict(x, verbose=0)
    )
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        load_model(tmp_path / "m.keras", custom_objects=["MyLayer"])


def test_model_checkpoint_writes_keras_files(tmp_path):
    model, (x, y) = compiled("sequential_nadam_dropout")
    pattern = str(tmp_path / "ckpt-{epoch:02d}.keras")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ModelCheckpoint(pattern)])
    last = load_model(tmp_path / "ckpt-02.keras")
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))
    assert last.optimizer.iterations == model.optimizer.iterations == 6


# ---------------------------------------------------------------------------
# Refused files: a ValueError naming the file and the member


@pytest.fixture(scope="module")
def keras_bytes(tmp_path_factory):
    model, (x, y) = compiled("functional_adam_schedule")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("keras") / "m.keras"
    model.save(path)
    return path.read_bytes()


def members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def rezip(path, items, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in items:
            z.writestr(name, data)
    return path


def with_config(tmp_path, keras_bytes, edit, name="edited.keras"):
    items = members(keras_bytes)
    config = json.loads(dict(items)["config.json"])
    edit(config)
    return rezip(tmp_path / name, [(n, json.dumps(config) if n == "config.json" else d) for n, d in items])


def first_layer(config, cls):
    return next(e for e in config["config"]["layers"] if e["class_name"] == cls)


@pytest.mark.parametrize("entry", ["../evil.txt", "/etc/evil", "a/../../evil", "C:evil"])
def test_names_leaving_the_archive(tmp_path, keras_bytes, entry):
    path = rezip(tmp_path / "t.keras", members(keras_bytes) + [(entry, b"x")])
    with pytest.raises(ValueError, match=r"t\.keras' entry '.*evil.*leaves the archive"):
        load_model(path)


def test_zip_bomb_is_refused_before_reading(tmp_path, keras_bytes):
    path = rezip(
        tmp_path / "bomb.keras",
        [(n, d) for n, d in members(keras_bytes) if n != "model.weights.h5"] + [("model.weights.h5", bytes(8 << 20))],
        compress=zipfile.ZIP_DEFLATED,
    )
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"bomb.keras' entry 'model.weights.h5'.*decompression bomb"):
        load_model(path)


def test_huge_config_is_refused(tmp_path, keras_bytes):
    items = [(n, d) for n, d in members(keras_bytes) if n != "config.json"] + [("config.json", b" " * (17 << 20))]
    path = rezip(tmp_path / "huge.keras", items, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match=r"huge.keras' entry 'config.json'.*more than the 16777216 bytes"):
        load_model(path)


def test_huge_layer_is_refused_before_building(tmp_path, keras_bytes):
    path = with_config(tmp_path, keras_bytes, lambda c: first_layer(c, "Dense")["config"].update(units=2**28))
    with pytest.raises(ValueError, match=r"entry 'config.json'.*creates a weight 'kernel'.*the file's tensors hold"):
        load_model(path)


@pytest.mark.parametrize(
    "edit,problem",
    [
        (lambda c: first_layer(c, "Dense").update(class_name="ConvLSTM2D"), r"unknown layer class 'ConvLSTM2D'"),
        (lambda c: first_layer(c, "Dense").update(module="my_package.layers"), r"custom class 'Dense'.*my_package"),
        (lambda c: first_layer(c, "Dense").update(registered_name="MyPackage>Dense"), r"custom class"),
        (
            lambda c: first_layer(c, "Dense")["config"].update(
                quantization_config={"module": "keras.quantizers", "class_name": "Int8QuantizationConfig", "config": {}}
            ),
            r"quantization_config=.*implements only quantization_config=None",
        ),
        (
            lambda c: first_layer(c, "Dense")["config"].update(
                activation={
                    "module": "builtins",
                    "class_name": "function",
                    "config": "my_activation",
                    "registered_name": "function",
                }
            ),
            r"custom function 'my_activation'.*neither registered nor in custom_objects",
        ),
        (lambda c: first_layer(c, "Dense")["config"].update(dtype="mixed_float16"), r"float32 only"),
        (lambda c: c.update(class_name="MyModel"), r"pytrainc reads Sequential and Functional"),
        (lambda c: c["config"].update(output_layers=["nowhere", 0, 0]), r"no layer call of the model"),
        (lambda c: c.update(config=[]), r"expected an object"),
        (lambda c: first_layer(c, "Dense")["config"].update(name=["a"]), r"layer names are not unique"),
        (lambda c: first_layer(c, "Dense")["config"].update(name=""), r"layer names are not unique, non-empty"),
        (lambda c: first_layer(c, "Dense").update(name="other"), r"listed under the name 'other'"),
    ],
)
def test_configurations_pytrainc_does_not_build(tmp_path, keras_bytes, edit, problem):
    with pytest.raises(ValueError, match=r"edited.keras' entry 'config.json'.*" + problem):
        load_model(with_config(tmp_path, keras_bytes, edit))


LAMBDA = {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAA=", "defaults": None, "closure": None}}


def test_lambdas_are_never_run(tmp_path, keras_bytes):
    path = with_config(tmp_path, keras_bytes, lambda c: first_layer(c, "Dense")["config"].update(activation=LAMBDA))
    with pytest.raises(ValueError, match=r"entry 'config.json'.*lambda.*safe_mode=True"):
        load_model(path)
    with pytest.raises(ValueError, match=r"entry 'config.json'.*lambda, which pytrainc never runs"):
        load_model(path, safe_mode=False)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_damaged_and_foreign_files(tmp_path, keras_bytes):
    raw = bytearray(keras_bytes)
    raw[raw.index(b"\x89HDF") + 600] ^= 0xFF  # inside the stored HDF5 member: its CRC no longer matches
    (tmp_path / "flip.keras").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"flip.keras' entry 'model.weights.h5'"):
        load_model(tmp_path / "flip.keras")
    (tmp_path / "cut.keras").write_bytes(keras_bytes[: len(keras_bytes) // 2])
    with pytest.raises(ValueError, match=r"cut.keras.*(not a zip|damaged)"):
        load_model(tmp_path / "cut.keras")
    model, _ = compiled("sgd_cnn")
    model.save(tmp_path / "own.ptc")
    (tmp_path / "own.keras").write_bytes((tmp_path / "own.ptc").read_bytes())
    with pytest.raises(ValueError, match=r"own.keras.*not a zip archive.*\.ptc path"):
        load_model(tmp_path / "own.keras")
    items = members(keras_bytes)
    rezip(tmp_path / "nohdf.keras", [(n, d) for n, d in items if n != "model.weights.h5"])
    with pytest.raises(ValueError, match=r"nohdf.keras.*no member 'model.weights.h5'"):
        load_model(tmp_path / "nohdf.keras")
    rezip(tmp_path / "notjson.keras", [(n, b"{" if n == "config.json" else d) for n, d in items])
    with pytest.raises(ValueError, match=r"notjson.keras' entry 'config.json'.*not valid JSON"):
        load_model(tmp_path / "notjson.keras")
    rezip(tmp_path / "twice.keras", items + [("config.json", b"{}")])
    with pytest.raises(ValueError, match=r"twice.keras' entry 'config.json'.*two members"):
        load_model(tmp_path / "twice.keras")


def rewrite_weights(tmp_path, keras_bytes, edit, name):
    items = members(keras_bytes)
    buffer = io.BytesIO(dict(items)["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return rezip(tmp_path / name, [(n, buffer.getvalue() if n == "model.weights.h5" else d) for n, d in items])


def test_weights_that_do_not_fit(tmp_path, keras_bytes):
    def reshape(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.zeros(9, np.float32)  # more values than (8,): past the size check

    with pytest.raises(ValueError, match=r"entry 'model.weights.h5'.*shape mismatch for layer 'dense.*vars/1"):
        load_model(rewrite_weights(tmp_path, keras_bytes, reshape, "shape.keras"))
    with pytest.raises(ValueError, match=r"entry 'model.weights.h5'.*no layer of the model has"):
        load_model(
            rewrite_weights(
                tmp_path,
                keras_bytes,
                lambda f: f.create_dataset("layers/lstm/vars/0", data=np.zeros(2, np.float32)),
                "extra.keras",
            )
        )
    with pytest.raises(ValueError, match=r"entry 'model.weights.h5'.*optimizer"):
        load_model(rewrite_weights(tmp_path, keras_bytes, lambda f: f.__delitem__("optimizer/vars/3"), "opt.keras"))


def test_links_in_the_weights_are_refused(tmp_path, keras_bytes):
    def link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/passwd", "/x")

    with pytest.raises(ValueError, match=r"entry 'model.weights.h5'.*'layers/dense/vars/0' is a link"):
        load_model(rewrite_weights(tmp_path, keras_bytes, link, "link.keras"))


def test_deflated_members_load(tmp_path, keras_bytes):
    # Keras stores its members; a file recompressed by a zip tool still loads.
    path = rezip(tmp_path / "deflated.keras", members(keras_bytes), compress=zipfile.ZIP_DEFLATED)
    assert load_model(path).compiled
