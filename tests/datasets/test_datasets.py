"""Tests of pytrainc.datasets: Keras layouts, the cache, downloads, damaged and malicious archives.

The real archives are never used (there is no network here): each test builds a
tiny archive in the official format, puts it in a temporary cache directory
and patches the pinned SHA-256 to the tiny archive's. An autouse fixture
replaces the opener with one that fails as an offline machine does, so no test
can reach the network.
"""

import copyreg
import hashlib
import io
import os
import pathlib
import pickle
import re
import struct
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

import pytrainc.datasets
from pytrainc.datasets import _cache, _safe_pickle, cifar10, mnist

KERAS_CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
CIFAR_SIZES = {
    "data_batch_1": 3,
    "data_batch_2": 2,
    "data_batch_3": 1,
    "data_batch_4": 2,
    "data_batch_5": 3,
    "test_batch": 4,
}
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


# --------------------------------------------------------------------------
# Fixtures and archive builders
# --------------------------------------------------------------------------


class Offline:
    """An opener that fails like a machine without network, and records its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTRAINC_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTRAINC_HOME", raising=False)
    opener = Offline()
    monkeypatch.setattr(_cache, "urlopen", opener)
    return opener


@pytest.fixture
def cache(tmp_path):
    path = tmp_path / "cache"
    path.mkdir()
    return path


def sha256(blob):
    return hashlib.sha256(blob).hexdigest()


def install(monkeypatch, module, path, blob):
    """Writes `blob` at `path` and makes it the archive `module` expects."""
    path.write_bytes(blob)
    monkeypatch.setattr(module, "SHA256", sha256(blob))
    return path


def listing(directory):
    return sorted(p.name for p in pathlib.Path(directory).iterdir())


# Python 2's cPickle at protocol 2, which wrote the official batches: strings
# are SHORT_BINSTRING/BINSTRING (bytes under encoding="bytes"), and NumPy 1.x
# names `numpy.core.multiarray._reconstruct`. (cPickle also emitted memo
# BINPUTs, which change nothing here.)
def py2_str(b):
    if len(b) < 256:
        return b"U" + bytes([len(b)]) + b
    return b"T" + struct.pack("<i", len(b)) + b


def py2_int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def py2_list(items, emit):
    return b"](" + b"".join(emit(item) for item in items) + b"e"


def py2_uint8_array(a):
    assert a.dtype == np.uint8 and a.ndim == 2
    dtype = (
        b"cnumpy\ndtype\n"
        + py2_str(b"u1")
        + py2_int(0)
        + py2_int(1)
        + b"\x87R"
        + b"("
        + py2_int(3)
        + py2_str(b"|")
        + b"NNN"
        + b"J\xff\xff\xff\xff" * 2
        + py2_int(0)
        + b"tb"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + b"cnumpy\nndarray\n"
        + py2_int(0)
        + b"\x85"
        + py2_str(b"b")
        + b"\x87R"
        + b"("
        + py2_int(1)
        + py2_int(a.shape[0])
        + py2_int(a.shape[1])
        + b"\x86"
        + dtype
        + b"\x89"
        + py2_str(np.ascontiguousarray(a).tobytes())
        + b"tb"
    )


def py2_batch(name, data, labels):
    items = [
        (b"data", py2_uint8_array(data)),
        (b"labels", py2_list(labels, py2_int)),
        (b"batch_label", py2_str(name.encode() + b" of a tiny test archive")),
        (b"filenames", py2_list([b"img_%d.png" % i for i in range(len(labels))], py2_str)),
    ]
    return b"\x80\x02}(" + b"".join(py2_str(k) + v for k, v in items) + b"u."


def py3_batch(name, data, labels):
    """What Python 3 and NumPy 2 write for the same dict at protocol 2."""
    return pickle.dumps(
        {
            b"data": data,
            b"labels": list(labels),
            b"batch_label": name.encode(),
            b"filenames": [b"img_%d.png" % i for i in range(len(labels))],
        },
        protocol=2,
    )


def cifar_source(seed=0):
    """Per batch: (data of shape (n, 3072) uint8, labels as a list of ints)."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, size=n)])
        for name, n in CIFAR_SIZES.items()
    }


def tar_gz(members):
    """A .tar.gz of {name: bytes}; a value of None makes a symlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            if blob is None:
                info.type, info.linkname = tarfile.SYMTYPE, "readme.html"
                tar.addfile(info)
            else:
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def cifar_archive(source, writer=py2_batch, replace=None, drop=()):
    members = {"cifar-10-batches-py/batches.meta": b"(not read)", "cifar-10-batches-py/readme.html": b"<html></html>"}
    for name, (data, labels) in source.items():
        if name not in drop:
            members[f"cifar-10-batches-py/{name}"] = writer(name, data, labels)
    members.update(replace or {})
    return tar_gz(members)


def install_cifar(monkeypatch, cache, blob):
    return install(monkeypatch, cifar10, cache / "cifar-10-python.tar.gz", blob)


def keras_cifar_reference(archive_path):
    """Keras's cifar10.load_data on our archive, with the trusting pickle.load it used."""
    with tarfile.open(archive_path) as tar:

        def load_batch(name):
            d = pickle.load(tar.extractfile(f"cifar-10-batches-py/{name}"), encoding="bytes")
            d = {k.decode("utf8"): v for k, v in d.items()}
            return d["data"].reshape(d["data"].shape[0], 3, 32, 32), d["labels"]

        train = [load_batch(name) for name in TRAIN]
        x_train = np.concatenate([x for x, _ in train])
        y_train = np.concatenate([np.asarray(y, dtype="uint8") for _, y in train])
        x_test, y_test = load_batch("test_batch")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test, dtype="uint8"), (len(y_test), 1))
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)


def mnist_blob(tmp_path, compressed=False, seed=0, **overrides):
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=5, dtype=np.uint8),
        "x_test": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=3, dtype=np.uint8),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = tmp_path / "built.npz"
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path.read_bytes(), arrays


class MarkerPayload:
    """Unpickling it creates a file: proof that the pickle ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class SystemPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


# --------------------------------------------------------------------------
# Namespace and constants
# --------------------------------------------------------------------------


def test_namespace_mirrors_keras_datasets():
    assert pytrainc.datasets.cifar10 is cifar10
    assert pytrainc.datasets.mnist is mnist
    assert callable(cifar10.load_data) and callable(mnist.load_data)


def test_official_addresses_and_keras_pinned_digests():
    assert cifar10.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar10.SHA256 == KERAS_CIFAR10_SHA256
    assert mnist.ORIGIN == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert mnist.SHA256 == KERAS_MNIST_SHA256


# --------------------------------------------------------------------------
# Cache directory
# --------------------------------------------------------------------------


def test_data_dir_from_pytrainc_data(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTRAINC_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("PYTRAINC_HOME", str(tmp_path / "h"))  # PYTRAINC_DATA wins
    assert pytrainc.datasets.data_dir() == str(tmp_path / "d")


def test_data_dir_from_pytrainc_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTRAINC_DATA")
    monkeypatch.setenv("PYTRAINC_HOME", str(tmp_path / "h"))
    assert pytrainc.datasets.data_dir() == str(tmp_path / "h" / "datasets")


def test_data_dir_default_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTRAINC_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pytrainc.datasets.data_dir() == str(tmp_path / ".pytrainc" / "datasets")


def test_load_data_reads_from_pytrainc_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTRAINC_DATA")
    monkeypatch.setenv("PYTRAINC_HOME", str(tmp_path / "h"))
    (tmp_path / "h" / "datasets").mkdir(parents=True)
    blob, arrays = mnist_blob(tmp_path)
    install(monkeypatch, mnist, tmp_path / "h" / "datasets" / "mnist.npz", blob)
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_mnist_shapes_dtypes_values(monkeypatch, cache, tmp_path, offline, compressed):
    blob, arrays = mnist_blob(tmp_path, compressed=compressed)
    install(monkeypatch, mnist, cache / "mnist.npz", blob)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, key, shape in [
        (x_train, "x_train", (5, 28, 28)),
        (y_train, "y_train", (5,)),
        (x_test, "x_test", (3, 28, 28)),
        (y_test, "y_test", (3,)),
    ]:
        assert got.dtype == np.uint8 and got.shape == shape, key
        np.testing.assert_array_equal(got, arrays[key])
    assert offline.calls == []


def test_mnist_path_argument_relative_and_absolute(monkeypatch, cache, tmp_path):
    blob, arrays = mnist_blob(tmp_path, seed=1)
    install(monkeypatch, mnist, cache / "digits.npz", blob)
    (x_train, _), _ = mnist.load_data(path="digits.npz")
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    elsewhere = tmp_path / "elsewhere.npz"
    elsewhere.write_bytes(blob)
    (cache / "digits.npz").unlink()
    (x_train, _), _ = mnist.load_data(path=str(elsewhere))
    np.testing.assert_array_equal(x_train, arrays["x_train"])


def test_mnist_cached_file_with_wrong_checksum(monkeypatch, cache, tmp_path, offline):
    blob, _ = mnist_blob(tmp_path)
    path = cache / "mnist.npz"
    path.write_bytes(blob)  # SHA256 stays Keras's digest, which this file does not have
    with pytest.raises(
        ValueError,
        match=rf"'{re.escape(str(path))}'.*expected sha256 {KERAS_MNIST_SHA256}. "
        rf"Received: sha256 {sha256(blob)}",
    ):
        mnist.load_data()
    assert path.read_bytes() == blob  # the user's file is left alone
    assert offline.calls == []


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_mnist_truncated_archive(monkeypatch, cache, tmp_path, keep):
    blob, _ = mnist_blob(tmp_path)
    install(monkeypatch, mnist, cache / "mnist.npz", blob[: int(len(blob) * keep)])
    with pytest.raises(ValueError, match="Cannot load"):
        mnist.load_data()


def test_mnist_object_array_is_not_unpickled(monkeypatch, cache, tmp_path):
    marker = tmp_path / "ran"
    evil = np.empty(5, dtype=object)
    evil[:] = [MarkerPayload(marker)] * 5
    path = tmp_path / "evil.npz"
    np.savez(
        path,
        x_train=np.zeros((5, 28, 28), np.uint8),
        y_train=evil,
        x_test=np.zeros((3, 28, 28), np.uint8),
        y_test=np.zeros(3, np.uint8),
    )
    install(monkeypatch, mnist, cache / "mnist.npz", path.read_bytes())
    with pytest.raises(ValueError, match="object array"):
        mnist.load_data()
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as npz:  # the payload is live: pickle would run it
        for f in npz["y_train"]:
            f.close()
    assert marker.exists()


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"y_test": None}, r"missing \['y_test'\]"),
        ({"x_train": np.zeros((5, 28, 28), np.float32)}, r"x_train of dtype uint8.*float32"),
        ({"x_test": np.zeros((3, 28, 27), np.uint8)}, r"x_test .*shape \(N, 28, 28\).*\(3, 28, 27\)"),
        ({"y_train": np.zeros(4, np.uint8)}, r"y_train .*shape \(5,\).*\(4,\)"),
    ],
)
def test_mnist_wrong_layout(monkeypatch, cache, tmp_path, overrides, match):
    blob, _ = mnist_blob(tmp_path, **overrides)
    install(monkeypatch, mnist, cache / "mnist.npz", blob)
    with pytest.raises(ValueError, match=match):
        mnist.load_data()


# --------------------------------------------------------------------------
# CIFAR-10: layout
# --------------------------------------------------------------------------


def test_cifar_fixture_is_the_official_pickle_layout():
    # What Keras's load_batch sees with pickle.load(f, encoding="bytes"): the
    # fixture is a genuine pickle, so the tests below exercise the real format.
    data, labels = cifar_source()["data_batch_1"]
    blob = py2_batch("data_batch_1", data, labels)
    assert blob.startswith(b"\x80\x02}(U\x04datacnumpy.core.multiarray\n_reconstruct\n")
    d = pickle.loads(blob, encoding="bytes")
    assert sorted(d) == [b"batch_label", b"data", b"filenames", b"labels"]
    assert type(d[b"data"]) is np.ndarray and d[b"data"].dtype == np.uint8
    np.testing.assert_array_equal(d[b"data"], data)
    assert d[b"labels"] == labels


@pytest.mark.parametrize("writer", [py2_batch, py3_batch], ids=["python2-cpickle", "python3-numpy2"])
def test_cifar_matches_keras(monkeypatch, cache, offline, writer):
    path = install_cifar(monkeypatch, cache, cifar_archive(cifar_source(), writer))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    (kx_train, ky_train), (kx_test, ky_test) = keras_cifar_reference(path)
    n_train = sum(CIFAR_SIZES[name] for name in TRAIN)
    assert x_train.shape == (n_train, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)
    assert y_train.shape == (n_train, 1) and y_test.shape == (4, 1)
    for got, want in [(x_train, kx_train), (y_train, ky_train), (x_test, kx_test), (y_test, ky_test)]:
        assert got.dtype == np.uint8 and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert x_train.flags.c_contiguous and x_test.flags.c_contiguous
    assert offline.calls == []


def test_cifar_channels_last_pixel_lands_where_keras_puts_it(monkeypatch, cache):
    source = {name: (np.zeros((n, 3072), np.uint8), [0] * n) for name, n in CIFAR_SIZES.items()}
    # A row of "data" is the 1024 red values, then green, then blue, each
    # plane row-major: channel c, row r, column k is at c*1024 + r*32 + k.
    source["data_batch_2"][0][1, 2 * 1024 + 5 * 32 + 7] = 201  # image 1, blue, row 5, col 7
    source["test_batch"][0][3, 0 * 1024 + 31 * 32 + 0] = 99  # image 3, red, row 31, col 0
    source["data_batch_5"][1][2] = 9
    install_cifar(monkeypatch, cache, cifar_archive(source))
    (x_train, y_train), (x_test, _) = cifar10.load_data()
    start = CIFAR_SIZES["data_batch_1"]  # batches are stacked in order 1..5
    assert x_train[start + 1, 5, 7, 2] == 201
    assert np.count_nonzero(x_train) == 1
    assert x_test[3, 31, 0, 0] == 99 and np.count_nonzero(x_test) == 1
    assert y_train[len(y_train) - 1, 0] == 9 and np.count_nonzero(y_train) == 1


def test_cifar_loaded_arrays_are_writable_and_own_their_memory(monkeypatch, cache):
    install_cifar(monkeypatch, cache, cifar_archive(cifar_source()))
    (x_train, y_train), _ = cifar10.load_data()
    x_train[0, 0, 0, 0] = 1
    y_train[0, 0] = 1


# --------------------------------------------------------------------------
# CIFAR-10: damaged archives
# --------------------------------------------------------------------------


def test_cifar_cached_file_with_wrong_checksum(cache, offline):
    blob = cifar_archive(cifar_source())
    path = cache / "cifar-10-python.tar.gz"
    path.write_bytes(blob)
    match = rf"'{re.escape(str(path))}'.*expected sha256 {KERAS_CIFAR10_SHA256}"
    with pytest.raises(ValueError, match=match):
        cifar10.load_data()
    assert path.read_bytes() == blob and offline.calls == []


@pytest.mark.parametrize("keep", [0.02, 0.5, 0.97])
def test_cifar_truncated_archive(monkeypatch, cache, keep):
    blob = cifar_archive(cifar_source())
    install_cifar(monkeypatch, cache, blob[: int(len(blob) * keep)])
    with pytest.raises(ValueError, match="Cannot load"):
        cifar10.load_data()


def test_cifar_not_a_gzip_file(monkeypatch, cache):
    install_cifar(monkeypatch, cache, b"<html>404 Not Found</html>" * 10)
    with pytest.raises(ValueError, match="truncated or damaged"):
        cifar10.load_data()


def test_cifar_missing_batch(monkeypatch, cache):
    install_cifar(monkeypatch, cache, cifar_archive(cifar_source(), drop=("data_batch_4",)))
    with pytest.raises(ValueError, match=r"cifar-10-batches-py/data_batch_4"):
        cifar10.load_data()


def test_cifar_batch_as_symlink_is_refused(monkeypatch, cache):
    blob = cifar_archive(cifar_source(), replace={"cifar-10-batches-py/test_batch": None})
    install_cifar(monkeypatch, cache, blob)
    with pytest.raises(ValueError, match="test_batch to be a regular file"):
        cifar10.load_data()


def bad_batch(**changes):
    data, labels = cifar_source()["data_batch_3"]
    data, labels = changes.get("data", data), changes.get("labels", labels)
    return py2_batch("data_batch_3", data, labels)


@pytest.mark.parametrize(
    "blob, match",
    [
        (bad_batch(labels=[10]), r"'labels' to be a list of 1 ints in \[0, 10\)"),
        (bad_batch(labels=[1, 2]), r"'labels' to be a list of 1 ints"),
        (bad_batch(data=np.zeros((1, 3071), np.uint8)), r"'data' of shape \(N, 3072\). Received: \(1, 3071\)"),
        (b"\x80\x02}(U\x04dataU\x03abcU\x06labels]u.", r"'data' of shape \(N, 3072\). Received: bytes"),
        (b"\x80\x02]q\x00.", r"expected a dict with 'data' and 'labels'"),
        (bad_batch()[:-1000], r"damaged or truncated"),
    ],
    ids=["label-10", "label-count", "data-width", "data-bytes", "not-a-dict", "truncated"],
)
def test_cifar_batch_with_wrong_layout(monkeypatch, cache, blob, match):
    archive = cifar_archive(cifar_source(), replace={"cifar-10-batches-py/data_batch_3": blob})
    install_cifar(monkeypatch, cache, archive)
    with pytest.raises(ValueError, match=match):
        cifar10.load_data()


# --------------------------------------------------------------------------
# CIFAR-10: malicious pickles are refused and never run
# --------------------------------------------------------------------------


@pytest.mark.parametrize("payload_type", [MarkerPayload, SystemPayload])
def test_cifar_malicious_batch_is_refused_and_not_run(monkeypatch, cache, tmp_path, payload_type):
    marker = tmp_path / "ran"
    data, labels = cifar_source()["data_batch_2"]
    evil = pickle.dumps({b"data": data, b"labels": labels, b"x": payload_type(marker)}, protocol=2)
    archive = cifar_archive(cifar_source(), replace={"cifar-10-batches-py/data_batch_2": evil})
    install_cifar(monkeypatch, cache, archive)
    with pytest.raises(
        ValueError,
        match=r"data_batch_2.*Refusing to load the global "
        r"(io\.open|posix\.system)",
    ):
        cifar10.load_data()
    assert not marker.exists()
    result = pickle.loads(evil)  # the payload is live: pickle.load would have run it
    assert marker.exists()
    if hasattr(result[b"x"], "close"):
        result[b"x"].close()


def reduce_pickle(module, name, args_pickle=b")"):
    """GLOBAL module.name, then REDUCE with the given args."""
    return b"\x80\x02c" + module + b"\n" + name + b"\n" + args_pickle + b"R."


@pytest.mark.parametrize(
    "blob",
    [
        reduce_pickle(b"builtins", b"eval", b"X\x05\x00\x00\x001 + 1\x85"),
        reduce_pickle(b"__builtin__", b"eval", b"X\x05\x00\x00\x001 + 1\x85"),
        reduce_pickle(b"os", b"system", b"X\x04\x00\x00\x00true\x85"),
        reduce_pickle(b"numpy", b"load", b"X\x01\x00\x00\x00x\x85"),
        reduce_pickle(b"numpy.core.multiarray", b"scalar"),
        reduce_pickle(b"numpy.core.multiarray ", b"_reconstruct"),  # near miss
        pickle.dumps(os.system, protocol=4),  # STACK_GLOBAL
        b"(X\x04\x00\x00\x00trueios\nsystem\n.",  # protocol 0 INST
        b"\x80\x02(cos\nsystem\nX\x04\x00\x00\x00trueo.",  # OBJ
    ],
    ids=["eval", "py2-eval", "os.system", "numpy.load", "scalar", "near-miss", "stack-global", "inst", "obj"],
)
def test_safe_pickle_refuses_every_other_global(blob):
    with pytest.raises(ValueError, match="Refusing to load the global"):
        _safe_pickle.load(io.BytesIO(blob), "batch")


def test_safe_pickle_refuses_extension_registry_globals():
    code = 0x7FFF_FFF0
    copyreg.add_extension("posix", "system", code)
    try:
        blob = pickle.dumps(os.system, protocol=2)
        assert blob.startswith(b"\x80\x02\x84")  # EXT4: no module name in the file
        with pytest.raises(ValueError, match="Refusing to load the global posix.system"):
            _safe_pickle.load(io.BytesIO(blob), "batch")
    finally:
        copyreg.remove_extension("posix", "system", code)


def test_safe_pickle_refuses_persistent_ids():
    with pytest.raises(ValueError, match="Refusing to load a persistent id"):
        _safe_pickle.load(io.BytesIO(b"\x80\x02X\x01\x00\x00\x00xQ."), "batch")


RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\n"
NDARRAY = b"cnumpy\nndarray\n"
ARRAY_HEAD = RECONSTRUCT + NDARRAY + b"K\x00\x85U\x01b\x87R"


def u1_dtype(typestr=b"u1", state=b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"):
    return b"cnumpy\ndtype\n" + py2_str(typestr) + b"K\x00K\x01\x87R" + state + b"b"


@pytest.mark.parametrize(
    "blob, match",
    [
        # _reconstruct with anything but (numpy.ndarray, (0,), b"b")
        (b"\x80\x02" + RECONSTRUCT + b"U\x01xK\x00\x85U\x01b\x87R.", r"Expected _reconstruct\(numpy.ndarray"),
        (b"\x80\x02" + RECONSTRUCT + NDARRAY + b"K\x05\x85U\x01b\x87R.", r"Expected _reconstruct"),
        # numpy.ndarray called directly, or given a state
        (b"\x80\x02" + NDARRAY + b")R.", "Refusing to call numpy.ndarray"),
        (b"\x80\x02" + RECONSTRUCT + b"}(U\x01aK\x01ub.", "Refusing to set the state of _reconstruct"),
        (b"\x80\x02" + RECONSTRUCT + b"N}(U\x01aK\x01u\x86b.", "Refusing to set the state of _reconstruct"),
        # dtypes other than uint8, or not plain
        (b"\x80\x02" + u1_dtype(b"O8") + b".", r"Expected a numpy dtype in \['u1'\]"),
        (b"\x80\x02" + u1_dtype(b"f8") + b".", r"Expected a numpy dtype in \['u1'\]"),
        (
            b"\x80\x02" + u1_dtype(state=b"(K\x03U\x01|N(U\x01at}J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t") + b".",
            "subarray, names or fields",
        ),
        # array states that do not describe the bytes they carry
        (
            b"\x80\x02" + ARRAY_HEAD + b"(K\x01K\x02K\x03\x86" + u1_dtype() + b"\x89U\x05abcdet" + b"b.",
            r"Expected 6 data bytes .* Received: 5 bytes",
        ),
        (
            b"\x80\x02" + ARRAY_HEAD + b"(K\x01K\x02\x85" + u1_dtype() + b"\x89](K\x01K\x02et" + b"b.",
            "Expected the array data as bytes. Received: list",
        ),
        (
            b"\x80\x02" + ARRAY_HEAD + b"(K\x01K\x02\x85U\x01u\x89U\x02abt" + b"b.",
            "Expected a numpy dtype in the array state",
        ),
        (b"\x80\x02" + ARRAY_HEAD + b".", "an array without BUILD"),
        # _codecs.encode only encodes a str as latin1
        (
            b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.",
            r"Expected _codecs.encode\(str, 'latin1'\)",
        ),
        # containers that contain themselves
        (b"\x80\x02]q\x00h\x00a.", "reference cycles"),
    ],
    ids=[
        "reconstruct-not-ndarray",
        "reconstruct-shape",
        "call-ndarray",
        "build-on-stand-in",
        "build-slots-on-stand-in",
        "object-dtype",
        "float-dtype",
        "structured-dtype",
        "short-data",
        "list-data",
        "no-dtype",
        "no-build",
        "codecs-rot13",
        "cycle",
    ],
)
def test_safe_pickle_checks_what_the_allowed_globals_receive(blob, match):
    with pytest.raises(ValueError, match=match):
        _safe_pickle.load(io.BytesIO(blob), "batch")


def test_safe_pickle_reads_a_plain_array_and_its_fortran_order():
    state = b"(K\x01K\x02K\x03\x86" + u1_dtype() + b"\x88U\x06\x00\x01\x02\x03\x04\x05t"
    got = _safe_pickle.load(io.BytesIO(b"\x80\x02" + ARRAY_HEAD + state + b"b."), "batch")
    want = np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(2, 3, order="F"))
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    assert pickle.loads(b"\x80\x02" + ARRAY_HEAD + state + b"b.", encoding="bytes").tolist() == want.tolist()


def test_safe_pickle_never_hands_numpy_callables_to_the_file(monkeypatch):
    # An unpickler that resolved the allowed names to numpy's own functions
    # (as Keras's RestrictedUnpickler does) would call these.
    def booby_trap(*args):
        raise AssertionError("numpy's _reconstruct was called with data from the file")

    import numpy._core.multiarray

    data, labels = cifar_source()["data_batch_1"]
    blobs = py2_batch("data_batch_1", data, labels), py3_batch("data_batch_1", data, labels)
    monkeypatch.setattr(numpy._core.multiarray, "_reconstruct", booby_trap)
    for blob in blobs:
        got = _safe_pickle.load(io.BytesIO(blob), "batch")
        np.testing.assert_array_equal(got["data"], data)


def test_safe_pickle_shared_references_are_converted_once(monkeypatch):
    # Each level is a list of 20 references to the level below (the pickle memo
    # makes that cheap to write): walking shared lists again would take 20**4
    # steps for 4 levels, and 20**15 for the 15 levels the depth limit allows.
    level = b"q\x000(" + b"h\x00" * 20 + b"l"
    calls = []
    materialize = _safe_pickle._materialize

    def counting(*args):
        calls.append(1)
        return materialize(*args)

    monkeypatch.setattr(_safe_pickle, "_materialize", counting)
    got = _safe_pickle.load(io.BytesIO(b"\x80\x02K\x07" + level * 4 + b"."), "batch")
    assert got[19][0][5][19] == 7 and len(got) == 20
    assert len(calls) < 4 * 21 + 2
    with pytest.raises(ValueError, match="levels of nesting"):
        _safe_pickle.load(io.BytesIO(b"\x80\x02K\x07" + level * 40 + b"."), "batch")


# --------------------------------------------------------------------------
# Missing archives and downloads
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, fname, url, digest",
    [
        (
            cifar10,
            "cifar-10-python.tar.gz",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            KERAS_CIFAR10_SHA256,
        ),
        (
            mnist,
            "mnist.npz",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
            KERAS_MNIST_SHA256,
        ),
    ],
    ids=["cifar10", "mnist"],
)
def test_missing_archive_without_network_says_what_to_download_and_where(tmp_path, offline, module, fname, url, digest):
    expected_path = tmp_path / "cache" / fname
    with pytest.raises(FileNotFoundError) as info:
        module.load_data()
    message = str(info.value)
    for part in (
        f"'{fname}'",
        url,
        f"sha256 {digest}",
        f"put it at '{expected_path}'",
        "PYTRAINC_DATA",
        "Temporary failure in name resolution",
    ):
        assert part in message, part
    assert offline.calls == [url]
    assert listing(tmp_path / "cache") == []


class FakeResponse(io.BytesIO):
    """A urlopen response: read(n) in chunks; can fail after `fail_after` bytes."""

    def __init__(self, blob, fail_after=None, error=None, on_read=None):
        super().__init__(blob)
        self.fail_after, self.error, self.on_read = fail_after, error, on_read

    def read(self, n=-1):
        if self.on_read is not None:
            self.on_read()
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise self.error
        return super().read(n)


class FakeOpener:
    def __init__(self, make_response):
        self.make_response = make_response
        self.calls = []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        return self.make_response()


def test_download_then_cache_hit(monkeypatch, tmp_path):
    blob, arrays = mnist_blob(tmp_path)
    monkeypatch.setattr(mnist, "SHA256", sha256(blob))
    monkeypatch.setattr(_cache, "_CHUNK_SIZE", 1000)
    cache = tmp_path / "cache"
    opener = FakeOpener(lambda: FakeResponse(blob))
    monkeypatch.setattr(_cache, "urlopen", opener)
    (x_train, y_train), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    assert opener.calls == [(mnist.ORIGIN, _cache.TIMEOUT_SECONDS)]
    assert listing(cache) == ["mnist.npz"] and (cache / "mnist.npz").read_bytes() == blob
    mnist.load_data()
    assert len(opener.calls) == 1  # the second load reads the cache


def test_download_from_a_file_url_with_urllib(monkeypatch, tmp_path):
    source = cifar_source(seed=3)
    blob = cifar_archive(source)
    origin = tmp_path / "mirror" / "cifar-10-python.tar.gz"
    origin.parent.mkdir()
    origin.write_bytes(blob)
    monkeypatch.setattr(_cache, "urlopen", urllib.request.urlopen)  # the real opener
    monkeypatch.setattr(cifar10, "ORIGIN", origin.as_uri())
    monkeypatch.setattr(cifar10, "SHA256", sha256(blob))
    _, (x_test, y_test) = cifar10.load_data()
    data, labels = source["test_batch"]
    np.testing.assert_array_equal(x_test, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], labels)
    assert listing(tmp_path / "cache") == ["cifar-10-python.tar.gz"]


def test_download_is_invisible_until_verified(monkeypatch, tmp_path):
    blob, _ = mnist_blob(tmp_path)
    monkeypatch.setattr(mnist, "SHA256", sha256(blob))
    monkeypatch.setattr(_cache, "_CHUNK_SIZE", 500)
    cache = tmp_path / "cache"
    seen = []

    def check():
        assert not (cache / "mnist.npz").exists()
        seen.append(listing(cache))

    monkeypatch.setattr(_cache, "urlopen", FakeOpener(lambda: FakeResponse(blob, on_read=check)))
    mnist.load_data()
    assert len(seen) > 2
    assert all(len(names) == 1 and names[0].startswith(".mnist.npz.") and names[0].endswith(".tmp") for names in seen)
    assert listing(cache) == ["mnist.npz"]


def test_download_with_wrong_checksum_is_discarded(monkeypatch, tmp_path):
    blob, _ = mnist_blob(tmp_path)
    monkeypatch.setattr(_cache, "_CHUNK_SIZE", 500)
    monkeypatch.setattr(_cache, "urlopen", FakeOpener(lambda: FakeResponse(blob)))
    with pytest.raises(
        ValueError,
        match=rf"wrong checksum: expected sha256 {KERAS_MNIST_SHA256}. "
        rf"Received: sha256 {sha256(blob)}",
    ):
        mnist.load_data()
    assert listing(tmp_path / "cache") == []


@pytest.mark.parametrize(
    "error, expected",
    [
        (ConnectionResetError(104, "Connection reset by peer"), FileNotFoundError),
        (TimeoutError("The read operation timed out"), FileNotFoundError),
        (KeyboardInterrupt(), KeyboardInterrupt),
    ],
)
def test_download_cut_midway_leaves_nothing(monkeypatch, tmp_path, error, expected):
    blob, _ = mnist_blob(tmp_path)
    monkeypatch.setattr(mnist, "SHA256", sha256(blob))
    monkeypatch.setattr(_cache, "_CHUNK_SIZE", 500)
    opener = FakeOpener(lambda: FakeResponse(blob, fail_after=1500, error=error))
    monkeypatch.setattr(_cache, "urlopen", opener)
    with pytest.raises(expected) as info:
        mnist.load_data()
    if expected is FileNotFoundError:
        assert f"put it at '{tmp_path / 'cache' / 'mnist.npz'}'" in str(info.value)
        assert type(error).__name__ in str(info.value)
    assert listing(tmp_path / "cache") == []


def test_download_http_error(monkeypatch, tmp_path):
    def not_found(url, timeout=None):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)

    monkeypatch.setattr(_cache, "urlopen", not_found)
    with pytest.raises(FileNotFoundError, match=r"HTTP Error 404: Not Found.*cifar-10-python.tar.gz"):
        cifar10.load_data()
    assert listing(tmp_path / "cache") == []


def test_download_disk_error_is_not_reported_as_network(monkeypatch, tmp_path):
    blob, _ = mnist_blob(tmp_path)
    monkeypatch.setattr(mnist, "SHA256", sha256(blob))
    monkeypatch.setattr(_cache, "urlopen", FakeOpener(lambda: FakeResponse(blob)))

    def disk_full(path, chunks):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_cache.saving, "atomic_write_bytes", disk_full)
    with pytest.raises(OSError, match="No space left") as info:
        mnist.load_data()
    assert not isinstance(info.value, FileNotFoundError)


def test_npz_of_the_right_name_but_other_arrays_is_a_value_error(monkeypatch, cache, tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, images=np.zeros((2, 28, 28), np.uint8))
    install(monkeypatch, mnist, cache / "mnist.npz", path.read_bytes())
    with pytest.raises(ValueError, match=r"missing \['x_train', 'y_train', 'x_test', 'y_test'\]"):
        mnist.load_data()
