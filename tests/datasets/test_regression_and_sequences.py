"""Boston and California housing loaders, and `utils.pad_sequences`, against Keras 3's own code.

The archives are fixtures in the official layout (an npz of float64 `x` and `y`),
installed in a temporary cache with their digest; Keras's loaders read the same
file (its `get_file` replaced by one returning that path), so both shuffle and
split the same data.
"""

import hashlib
import importlib

import numpy as np
import pytest

import pytrainc
from pytrainc import testing
from pytrainc.datasets import boston_housing, california_housing
from pytrainc.utils import pad_sequences

KERAS_DIGESTS = {
    boston_housing: "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    california_housing: "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
}
FEATURES = {boston_housing: 13, california_housing: 8}


@pytest.fixture(autouse=True)
def cache(data_cache):
    return data_cache


def install(monkeypatch, cache, module, n, **overrides):
    r = np.random.default_rng(n)
    arrays = {"x": r.random((n, FEATURES[module])) * 100, "y": r.random(n) * 50, **overrides}
    path = cache / f"{module.__name__.rsplit('.', 1)[1]}.npz"
    np.savez(path, **arrays)
    monkeypatch.setattr(module, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return path


def keras_load(monkeypatch, module, path, **kwargs):
    testing.keras_torch()
    reference = importlib.import_module(f"keras.src.datasets.{module.__name__.rsplit('.', 1)[1]}")
    monkeypatch.setattr(reference, "get_file", lambda *a, **k: str(path))
    return reference.load_data(**kwargs)


def test_namespace_origins_and_keras_pinned_digests():
    for module, digest in KERAS_DIGESTS.items():
        assert getattr(pytrainc.datasets, module.__name__.rsplit(".", 1)[1]) is module
        assert module.SHA256 == digest
        assert module.ORIGIN.startswith("https://storage.googleapis.com/tensorflow/tf-keras-datasets/")


@pytest.mark.parametrize(
    "module, n, kwargs",
    [
        (boston_housing, 506, {}),
        (boston_housing, 506, {"test_split": 0.35, "seed": 7}),
        (boston_housing, 50, {"test_split": 0.0}),
        (california_housing, 2000, {}),
        (california_housing, 2000, {"version": "small", "seed": 3}),
        (california_housing, 300, {"version": "small"}),  # fewer than 600 samples: all of them
    ],
)
def test_equals_keras(monkeypatch, cache, module, n, kwargs):
    path = install(monkeypatch, cache, module, n)
    (xt, yt), (xv, yv) = module.load_data(**kwargs)
    (kxt, kyt), (kxv, kyv) = keras_load(monkeypatch, module, path, **kwargs)
    for ours, theirs in ((xt, kxt), (yt, kyt), (xv, kxv), (yv, kyv)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    assert len(xt) + len(xv) == (min(n, 600) if kwargs.get("version") == "small" else n)


def test_wrong_checksum_is_refused(monkeypatch, cache):
    path = install(monkeypatch, cache, boston_housing, 20)
    monkeypatch.setattr(boston_housing, "SHA256", KERAS_DIGESTS[boston_housing])
    with pytest.raises(ValueError, match=rf"expected sha256 {KERAS_DIGESTS[boston_housing]}"):
        boston_housing.load_data(path=str(path))


@pytest.mark.parametrize(
    "overrides, match",
    [
        (
            {"x": np.zeros((10, 12))},
            r"x of a float dtype and shape \(N, 13\). Received: dtype=float64, shape=\(10, 12\)",
        ),
        ({"x": np.zeros((10, 13), np.int64)}, r"x of a float dtype.*dtype=int64"),
        ({"y": np.zeros(9)}, r"y of a float dtype and shape \(10,\)"),
        ({"x": np.array([None] * 13 * 10, dtype=object).reshape(10, 13)}, r"pickle|object"),
    ],
)
def test_wrong_layout_is_refused(monkeypatch, cache, overrides, match):
    n = 10
    r = np.random.default_rng(0)
    arrays = {"x": r.random((n, 13)), "y": r.random(n), **overrides}
    path = cache / "boston_housing.npz"
    np.savez(path, **arrays)
    monkeypatch.setattr(boston_housing, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(ValueError, match=match):
        boston_housing.load_data()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"test_split": 1.0}, r"test_split must be a number in \[0, 1\). Received: test_split=1.0"),
        ({"test_split": -0.1}, "test_split must be"),
        ({"test_split": "0.2"}, "test_split must be"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*32\). Received: seed=-1"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        boston_housing.load_data(**kwargs)


def test_california_version_must_be_known():
    with pytest.raises(ValueError, match=r"version must be one of 'small', 'large'. Received: version='medium'"):
        california_housing.load_data(version="medium")


def test_missing_archive_names_the_file_and_origin():
    with pytest.raises(FileNotFoundError, match="boston_housing.npz"):
        boston_housing.load_data()


# --------------------------------------------------------------------------
# pad_sequences
# --------------------------------------------------------------------------

SEQUENCES = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9], [10, 11]]


@pytest.mark.parametrize("maxlen", [None, 0, 1, 3, 7])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("dtype, value", [("int32", 0.0), ("float32", -1.5), ("int64", 7)])
def test_pad_sequences_equals_keras(maxlen, padding, truncating, dtype, value):
    keras = testing.keras_torch()
    kwargs = dict(maxlen=maxlen, padding=padding, truncating=truncating, dtype=dtype, value=value)
    ours = pad_sequences(SEQUENCES, **kwargs)
    if maxlen == 0:  # Keras slices seq[-0:] (the whole sequence) and fails to fit it in 0 columns
        assert ours.shape == (len(SEQUENCES), 0) and ours.dtype == np.dtype(dtype)
        return
    theirs = keras.utils.pad_sequences(SEQUENCES, **kwargs)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_pad_sequences_items_with_a_shape_and_strings():
    keras = testing.keras_torch()
    seqs = [np.ones((2, 3)), np.zeros((4, 3)), np.full((1, 3), 2.0)]
    assert np.array_equal(
        pad_sequences(seqs, maxlen=3, dtype="float32"), keras.utils.pad_sequences(seqs, maxlen=3, dtype="float32")
    )
    words = [["a", "b"], ["c"]]
    assert pad_sequences(words, dtype=object, value="<pad>").tolist() == [["a", "b"], ["<pad>", "c"]]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((5,), {}, "sequences must be a list of sequences. Received: int"),
        (([[1], 2],), {}, "Received: int at position 1"),
        (([[1]],), {"padding": "middle"}, "padding must be 'pre' or 'post'. Received: padding='middle'"),
        (([[1]],), {"truncating": "x"}, "truncating must be 'pre' or 'post'"),
        (([[1]],), {"maxlen": -1}, r"maxlen must be None or an int >= 0. Received: maxlen=-1"),
        (([[1]],), {"value": "pad"}, "dtype int32 cannot hold the padding value 'pad'"),
        (([np.ones((2, 3)), np.ones((2, 4))],), {}, r"shape \(3,\).*Received: \(4,\) in the sequence at position 1"),
    ],
)
def test_pad_sequences_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(*args, **kwargs)
