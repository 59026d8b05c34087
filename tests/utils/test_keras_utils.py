"""The keras.utils names of pytrainc.utils beyond the core ones (pytrainc/progbar.py,
io_utils.py, dataset_utils.py, file_utils.py, image_utils.py and the small helpers
of utils.py), each against Keras 3 (torch backend) where Keras runs without TensorFlow."""

import hashlib
import logging
import os
import random
import tarfile
import zipfile

import numpy as np
import pytest

from pytrainc import testing, utils
from pytrainc.layers import Concatenate, Dense, Flatten, Input
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()


def test_every_keras_utils_name_but_the_serialization_ones_exists():
    left_out = {  # saving/custom objects (another issue), TensorFlow-only or backend internals
        "Config", "CustomObjectScope", "FeatureSpace", "audio_dataset_from_directory", "bounding_boxes",
        "custom_object_scope", "deserialize_keras_object", "get_custom_objects", "get_registered_name",
        "get_registered_object", "is_keras_tensor", "legacy", "register_keras_serializable",
        "serialize_keras_object", "standardize_dtype",
    }  # fmt: skip
    missing = [n for n in dir(keras.utils) if not n.startswith("_") and n not in left_out and not hasattr(utils, n)]
    assert missing == []


# -- Progbar and interactive logging


def test_progbar_averages_values_as_keras(capsys):
    """Keras's averaging: a stateless value weighs the steps its update covers; a stateful
    one (and every value at the final update) is shown as given."""
    steps = [(1, [("loss", 4.0), ("acc", 0.5)]), (3, [("loss", 1.0), ("acc", 0.75)]), (4, [("loss", 2.0)])]
    for bar_class in (keras.utils.Progbar, utils.Progbar):
        bar = bar_class(5, verbose=2, stateful_metrics=["acc"])
        for current, values in steps:
            bar.update(current, values)
        assert {k: float(np.mean(v[0])) / max(1, v[1]) for k, v in bar._values.items()} == {"loss": 2.0, "acc": 0.75}
    capsys.readouterr()
    bar = utils.Progbar(5, verbose=2, stateful_metrics=["acc"])
    for current, values in steps + [(5, [("loss", 3.0)])]:
        bar.update(current, values)
    out = capsys.readouterr().out
    assert out.startswith("5/5 - 0s - ") and out.endswith("s/step - loss: 3.0000 - acc: 0.7500\n")


def test_progbar_lines_without_a_terminal(capsys):
    bar = utils.Progbar(3, interval=0)
    bar.update(1, [("loss", 1.0)])
    bar.add(2, [("loss", 0.5)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1/3 ━━━━━━──") and lines[0].endswith("loss: 1.0000")
    assert lines[1].startswith("3/3 ━━━━━━━━━━━━━━━━━━━━ ") and lines[1].endswith("loss: 0.5000")
    with pytest.raises(ValueError, match="one of `stateful_metrics` or `stateless_metrics`"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_disabled_interactive_logging_sends_fit_lines_to_the_logger(capsys, caplog):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    utils.disable_interactive_logging()
    try:
        assert not utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="pytrainc"):
            model.fit(np.zeros((8, 2)), np.zeros(8), epochs=2, verbose=1)
            utils.Progbar(1).update(1)
    finally:
        utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Epoch 1/2" and messages[1].startswith("1/1 ") and "loss: 0.0000" in messages[1]
    assert utils.is_interactive_logging_enabled()


# -- datasets


def test_timeseries_windows_and_targets_match_keras_indexing():
    data, targets = np.arange(100).reshape(50, 2), np.arange(50) * 10
    ds = utils.timeseries_dataset_from_array(
        data, targets, sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=5, start_index=2, end_index=40
    )
    batches = list(ds)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    starts = np.arange(0, 40 - 2 - 3 * 2, 3)
    assert [len(b[0]) for b in batches] == [5] * (len(starts) // 5) + ([len(starts) % 5] if len(starts) % 5 else [])
    assert np.array_equal(x, data[2 + starts[:, None] + np.arange(4) * 2])
    assert np.array_equal(y, targets[2 + starts])
    shuffled = utils.timeseries_dataset_from_array(data, None, sequence_length=4, batch_size=None, shuffle=True, seed=9)
    order = np.arange(47)
    np.random.RandomState(9).shuffle(order)  # Keras's order for that seed
    assert np.array_equal(np.stack(list(shuffled))[:, 0], data[order])
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer"):
        utils.timeseries_dataset_from_array(data, None, sequence_length=0)


def test_timeseries_dataset_trains_a_model():
    r = np.random.default_rng(0)
    series = r.random((120, 3)).astype(np.float32)
    ds = utils.timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=5, batch_size=16)
    model = Sequential([Input((5, 3)), Flatten(), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    assert len(model.fit(ds, epochs=2, verbose=0).history["loss"]) == 2


def test_split_dataset_sizes_and_seeded_order_as_keras():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    left, right = utils.split_dataset((x, y), left_size=0.7, shuffle=True, seed=3)
    order = list(range(10))
    random.seed(3)  # Keras's shuffle on its default (tf.data) path
    random.shuffle(order)
    assert [int(e[1]) for e in left] == order[:7] and [int(e[1]) for e in right] == order[7:]
    assert all(np.array_equal(e[0], x[i]) for e, i in zip(left, order))
    left, right = utils.split_dataset(np.arange(10), right_size=3)
    assert [int(v) for v in left] == list(range(7)) and [int(v) for v in right] == [7, 8, 9]
    for sizes, message in [({}, "needs `left_size` or `right_size`"), ({"left_size": 1.5}, "float in \\(0, 1\\)")]:
        with pytest.raises(ValueError, match=message):
            utils.split_dataset(np.arange(10), **sizes)
    with pytest.raises(ValueError, match="give 6 and 6 samples"):
        utils.split_dataset(np.arange(10), left_size=6, right_size=6)


def write_tree(root, files):
    for path, content in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content)


def test_text_dataset_from_directory_labels_and_splits(tmp_path, capsys):
    write_tree(tmp_path, {f"{c}/{i}.txt": f"{c} text {i}".encode() for c in ("neg", "pos") for i in range(5)})
    write_tree(tmp_path, {"pos/notes.md": b"ignored"})
    train, val = utils.text_dataset_from_directory(
        tmp_path, batch_size=4, validation_split=0.2, subset="both", seed=1, label_mode="categorical"
    )
    assert capsys.readouterr().out.splitlines() == [
        "Found 10 files belonging to 2 classes.",
        "Using 8 files for training.",
        "Using 2 files for validation.",
    ]
    assert train.class_names == ["neg", "pos"]
    batches = list(train) + list(val)  # one pass: each pass is shuffled anew
    texts = [str(t) for batch in batches for t in batch[0]]
    labels = np.concatenate([batch[1] for batch in batches])
    assert sorted(texts) == sorted(f"{c} text {i}" for c in ("neg", "pos") for i in range(5))
    assert all(labels[i].tolist() == ([1.0, 0.0] if t.startswith("neg") else [0.0, 1.0]) for i, t in enumerate(texts))
    plain = utils.text_dataset_from_directory(tmp_path, shuffle=False, max_length=3, verbose=False, batch_size=None)
    assert [(str(t), int(label)) for t, label in plain][:2] == [("neg", 0), ("neg", 0)]
    with pytest.raises(ValueError, match="`validation_split` and `subset`"):
        utils.text_dataset_from_directory(tmp_path, subset="training")


def test_image_dataset_from_directory_and_image_helpers(tmp_path):
    pytest.importorskip("PIL")
    r = np.random.default_rng(0)
    images = {c: [r.integers(0, 255, (6, 8, 3)).astype(np.uint8) for _ in range(3)] for c in ("cat", "dog")}
    for c, arrays in images.items():
        os.makedirs(tmp_path / c)
        for i, a in enumerate(arrays):
            utils.save_img(tmp_path / c / f"{i}.png", a, scale=False)
    loaded = utils.img_to_array(utils.load_img(tmp_path / "dog" / "1.png"))
    assert loaded.dtype == np.float32 and np.array_equal(loaded, images["dog"][1])
    assert np.array_equal(keras.utils.img_to_array(keras.utils.load_img(tmp_path / "dog" / "1.png")), loaded)
    gray = utils.load_img(tmp_path / "cat" / "0.png", color_mode="grayscale", target_size=(3, 4))
    assert utils.img_to_array(gray).shape == (3, 4, 1)
    assert utils.img_to_array(gray, data_format="channels_first").shape == (1, 3, 4)
    ds = utils.image_dataset_from_directory(tmp_path, image_size=(6, 8), batch_size=4, shuffle=False, verbose=False)
    x, y = np.concatenate([b[0] for b in ds]), np.concatenate([b[1] for b in ds])
    assert x.shape == (6, 6, 8, 3) and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(x, np.stack(images["cat"] + images["dog"]).astype(np.float32))
    model = Sequential([Input((6, 8, 3)), Flatten(), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(ds, epochs=1, verbose=0)
    scaled = utils.array_to_img(np.array([[[0.0], [0.5]], [[1.0], [0.25]]]))
    assert np.asarray(scaled).tolist() == [[0, 127], [255, 63]]


# -- get_file, without network (file:// URLs)


@pytest.fixture
def served(tmp_path):
    source = tmp_path / "served"
    write_tree(source, {"data.csv": b"a,b\n1,2\n", "pack/inner/x.txt": b"x"})
    with tarfile.open(source / "pack.tar.gz", "w:gz") as tar:
        tar.add(source / "pack" / "inner", arcname="inner")
    with zipfile.ZipFile(source / "evil.zip", "w") as z:
        z.writestr("../escaped.txt", "no")
    return source


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_get_file_downloads_verifies_caches_and_extracts(served, tmp_path):
    cache = tmp_path / "cache"
    url = (served / "data.csv").as_uri()
    path = utils.get_file(origin=url, file_hash=sha256(served / "data.csv"), cache_dir=cache)
    assert path == str(cache / "datasets" / "data.csv") and open(path).read() == "a,b\n1,2\n"
    (served / "data.csv").write_bytes(b"changed")  # cached: not read again
    assert utils.get_file("data.csv", url, file_hash=hashlib.sha256(b"a,b\n1,2\n").hexdigest(), cache_dir=cache) == path
    with pytest.raises(ValueError, match="wrong checksum"):
        utils.get_file("other.csv", url, file_hash="0" * 64, cache_dir=cache)
    assert not (cache / "datasets" / "other.csv").exists()
    tar_url = (served / "pack.tar.gz").as_uri()
    out = utils.get_file(
        "pack.tar.gz", tar_url, file_hash=sha256(served / "pack.tar.gz"), extract=True, cache_dir=cache
    )
    assert out == str(cache / "datasets" / "pack_extracted")
    assert open(os.path.join(out, "inner", "x.txt")).read() == "x"
    with pytest.raises(ValueError, match="leaves its directory"):
        utils.get_file(
            "evil.zip",
            (served / "evil.zip").as_uri(),
            file_hash=sha256(served / "evil.zip"),
            extract=True,
            cache_dir=cache,
        )
    assert not (cache / "datasets" / "escaped.txt").exists()
    with pytest.warns(UserWarning, match="not verified"):
        utils.get_file("unpinned.csv", url, cache_subdir="mine", cache_dir=cache)
    with pytest.raises(ValueError, match="give its directory as `cache_dir`"):
        utils.get_file("a/b.csv", url, cache_dir=cache)
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        utils.get_file("gone.csv", (served / "gone.csv").as_uri(), file_hash="0" * 64, cache_dir=cache)


# -- small helpers


def test_normalize_pack_unpack_as_keras():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    for axis, order in [(-1, 2), (1, 1), (1, np.inf)]:
        np.testing.assert_array_equal(utils.normalize(x, axis, order), keras.utils.normalize(x, axis, order))
    # axis=0, where Keras's NumPy path divides along the last axis instead (`axis or -1`):
    np.testing.assert_array_equal(utils.normalize(x, 0, 1), x / np.abs(x).sum(0, keepdims=True))
    assert utils.normalize(np.array([3.0, 4.0])).tolist() == [0.6, 0.8]
    for args in [(1,), ((1, 2),), (1, 2), (1, 2, 3), ([1],)]:
        assert utils.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    for data in [1, (1,), (1, 2), [1, 2, 3]]:
        assert utils.unpack_x_y_sample_weight(data) == keras.utils.unpack_x_y_sample_weight(data)
    with pytest.raises(ValueError, match="a tuple of 4"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_get_source_inputs_and_clear_session():
    a, b = Input((2,), name="a"), Input((3,), name="b")
    out = Dense(1)(Concatenate()([Dense(2)(a), b]))
    assert utils.get_source_inputs(out) == [a, b]
    Model([a, b], out)
    utils.clear_session()
    assert Dense(1).name == "dense" and Sequential([Input((1,)), Dense(1)]).name == "sequential"
