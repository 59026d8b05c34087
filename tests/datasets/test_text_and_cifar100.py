"""imdb, reuters (read without unpickling) and cifar100 on small fixture archives in the layout
of the official ones, against Keras's own loaders on the same files. No download."""

import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from pytrainc import testing
from pytrainc.datasets import _cache, cifar100, imdb, reuters

keras = testing.keras_torch()


def sequences(r, n, vocab=60, longest=30):
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(v) for v in r.integers(1, vocab, r.integers(1, longest))]
    return out


def install(monkeypatch, cache, module, fname, arrays):
    path = cache / fname
    np.savez(path, **arrays)  # object arrays: pickled inside, as the official archives
    monkeypatch.setattr(module, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def keras_dataset(monkeypatch, name, path):
    module = __import__(f"keras.src.datasets.{name}", fromlist=["load_data"])
    monkeypatch.setattr(module, "get_file", lambda *a, **k: str(path))
    return module


def same(got, want):
    assert len(got) == len(want)
    assert all(list(a) == list(b) for a, b in zip(got, want))


IMDB_KWARGS = [
    {},
    {"num_words": 20},
    {"num_words": 25, "skip_top": 5, "maxlen": 20},
    {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 30},
    {"seed": 7, "start_char": None, "index_from": 2},
]


@pytest.mark.parametrize("kwargs", IMDB_KWARGS)
def test_imdb_equals_keras(monkeypatch, data_cache, kwargs):
    r = testing.rng(0)
    arrays = {
        "x_train": sequences(r, 40),
        "y_train": r.integers(0, 2, 40),
        "x_test": sequences(r, 30),
        "y_test": r.integers(0, 2, 30),
    }
    path = install(monkeypatch, data_cache, imdb, "imdb.npz", arrays)
    (xt, yt), (xv, yv) = imdb.load_data(**kwargs)
    (kxt, kyt), (kxv, kyv) = keras_dataset(monkeypatch, "imdb", path).load_data(**kwargs)
    same(xt, kxt), same(xv, kxv)
    np.testing.assert_array_equal(yt, kyt), np.testing.assert_array_equal(yv, kyv)
    assert xt.dtype == object and yt.dtype == kyt.dtype


@pytest.mark.parametrize("kwargs", IMDB_KWARGS[:3] + [{"test_split": 0.5, "seed": 3}])
def test_reuters_equals_keras(monkeypatch, data_cache, kwargs):
    r = testing.rng(1)
    path = install(monkeypatch, data_cache, reuters, "reuters.npz", {"x": sequences(r, 50), "y": r.integers(0, 46, 50)})
    (xt, yt), (xv, yv) = reuters.load_data(**kwargs)
    (kxt, kyt), (kxv, kyv) = keras_dataset(monkeypatch, "reuters", path).load_data(**kwargs)
    same(xt, kxt), same(xv, kxv)
    np.testing.assert_array_equal(yt, kyt), np.testing.assert_array_equal(yv, kyv)


def test_imdb_maxlen_keeping_nothing_is_refused(monkeypatch, data_cache):
    r = testing.rng(0)
    install(
        monkeypatch,
        data_cache,
        imdb,
        "imdb.npz",
        {
            "x_train": sequences(r, 5),
            "y_train": np.zeros(5, int),
            "x_test": sequences(r, 5),
            "y_test": np.zeros(5, int),
        },
    )
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(maxlen=1)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


@pytest.mark.parametrize(
    "item",
    [Evil(), [1, "two"], [1.5], {"a": 1}, [True]],
    ids=["code", "str", "float", "dict", "bool"],
)
def test_a_pickle_other_than_lists_of_ints_is_refused_unrun(monkeypatch, data_cache, item):
    x = np.empty(2, dtype=object)
    x[0], x[1] = [1, 2], item
    install(monkeypatch, data_cache, reuters, "reuters.npz", {"x": x, "y": np.zeros(2, int)})
    with pytest.raises(ValueError, match="Cannot load"):
        reuters.load_data()


def test_wrong_checksum_and_missing_members_are_refused(monkeypatch, data_cache):
    r = testing.rng(0)
    path = install(monkeypatch, data_cache, reuters, "reuters.npz", {"x": sequences(r, 4), "y": np.zeros(4, int)})
    monkeypatch.setattr(reuters, "SHA256", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        reuters.load_data()
    np.savez(path, x=sequences(r, 4))
    monkeypatch.setattr(reuters, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(ValueError, match="expected an array 'y'"):
        reuters.load_data()


@pytest.mark.parametrize("module", [imdb, reuters])
def test_get_word_index_checks_the_md5_keras_pins(monkeypatch, data_cache, module):
    index = {"the": 1, "and": 2, "film": 19}
    fname = f"{module.__name__.rsplit('.', 1)[1]}_word_index.json"
    (data_cache / fname).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="md5"):
        module.get_word_index()
    monkeypatch.setattr(module, "WORD_INDEX_MD5", hashlib.md5((data_cache / fname).read_bytes()).hexdigest())
    assert module.get_word_index() == index


@pytest.mark.parametrize("kwargs,match", [({"num_words": -1}, "num_words"), ({"skip_top": 1.5}, "skip_top")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        imdb.load_data(**kwargs)


def cifar100_archive(path, n_train=6, n_test=4):
    r = testing.rng(2)
    with tarfile.open(path, "w:gz") as tar:
        for name, n in (("train", n_train), ("test", n_test), ("meta", 0)):
            batch = {
                b"data": r.integers(0, 256, (n, 3072)).astype(np.uint8),
                b"fine_labels": [int(v) for v in r.integers(0, 100, n)],
                b"coarse_labels": [int(v) for v in r.integers(0, 20, n)],
                b"filenames": [b"x.png"] * n,
            }
            blob = pickle.dumps(batch, protocol=3)  # bytes as BINBYTES, which Keras's unpickler reads too
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_equals_keras(monkeypatch, data_cache, tmp_path, label_mode):
    path = data_cache / cifar100.FILENAME
    cifar100_archive(path)
    monkeypatch.setattr(cifar100, "SHA256", _cache.file_sha256(str(path)))
    (xt, yt), (xv, yv) = cifar100.load_data(label_mode)
    # Keras extracts the archive and reads the batches with pickle; give it the extracted tree.
    extracted = tmp_path / "keras"
    with tarfile.open(path) as tar:
        tar.extractall(extracted, filter="data")
    module = keras_dataset(monkeypatch, "cifar100", extracted)
    (kxt, kyt), (kxv, kyv) = module.load_data(label_mode)
    for got, want in ((xt, kxt), (yt, kyt), (xv, kxv), (yv, kyv)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert xt.shape == (6, 32, 32, 3) and yt.shape == (6, 1)


def test_cifar100_refuses_a_bad_label_mode():
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium")


def test_reuters_label_names_are_keras():
    from pytrainc.testing import keras_torch

    K = keras_torch()
    names = reuters.get_label_names()
    assert isinstance(names, tuple) and names == K.datasets.reuters.get_label_names()
    assert len(names) == 46
