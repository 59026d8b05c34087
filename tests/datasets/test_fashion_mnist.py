"""Fashion-MNIST: fixture IDX files in the official layout, read as Keras 3 reads them.

The fixtures hold fewer images than the real files (the loader's expected counts
are patched to match), written with the real headers and gzip, and installed in a
temporary cache with their digests.
"""

import gzip
import hashlib
import importlib
import io

import numpy as np
import pytest

import pytrainc
from pytrainc import testing
from pytrainc.datasets import fashion_mnist

COUNTS = {"train": 12, "t10k": 5}
REAL_COUNTS = dict(fashion_mnist._COUNTS)  # before the fixture patches them


@pytest.fixture(autouse=True)
def cache(monkeypatch, data_cache):
    monkeypatch.setattr(fashion_mnist, "_COUNTS", dict(COUNTS))
    (data_cache / "fashion-mnist").mkdir()
    return data_cache / "fashion-mnist"


def idx(magic, shape, data):
    return np.array((magic,) + shape, dtype=">u4").tobytes() + data.tobytes()


def install(monkeypatch, cache, blobs=None, seed=0):
    r = np.random.default_rng(seed)
    files = dict(fashion_mnist.FILES)
    for split, n in COUNTS.items():
        labels, images = r.integers(0, 10, n, dtype=np.uint8), r.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        for name, blob in (
            (f"{split}-labels-idx1-ubyte.gz", idx(0x801, (n,), labels)),
            (f"{split}-images-idx3-ubyte.gz", idx(0x803, (n, 28, 28), images)),
        ):
            blob = gzip.compress((blobs or {}).get(name, blob))
            (cache / name).write_bytes(blob)
            files[name] = hashlib.sha256(blob).hexdigest()
    monkeypatch.setattr(fashion_mnist, "FILES", files)


def test_namespace_and_pinned_digests():
    assert pytrainc.datasets.fashion_mnist is fashion_mnist
    assert set(fashion_mnist.FILES) == {
        "train-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    }
    assert fashion_mnist.FILES["train-images-idx3-ubyte.gz"].startswith("08dc20ab")
    assert REAL_COUNTS == {"train": 60000, "t10k": 10000}


def test_equals_keras(monkeypatch, cache):
    install(monkeypatch, cache)
    ours = fashion_mnist.load_data()
    testing.keras_torch()
    reference = importlib.import_module("keras.src.datasets.fashion_mnist")
    monkeypatch.setattr(reference, "get_file", lambda fname, origin, cache_subdir: str(cache / fname))
    theirs = reference.load_data()
    for (x, y), (kx, ky) in zip(ours, theirs):
        assert x.dtype == kx.dtype == np.uint8 and np.array_equal(x, kx)
        assert y.dtype == ky.dtype and np.array_equal(y, ky)
    assert ours[0][0].shape == (12, 28, 28) and ours[1][1].shape == (5,)
    assert ours[0][0].flags.writeable


def test_wrong_checksum(monkeypatch, cache):
    install(monkeypatch, cache)
    monkeypatch.setattr(fashion_mnist, "FILES", dict(fashion_mnist.FILES, **{"t10k-labels-idx1-ubyte.gz": "0" * 64}))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*expected sha256 0{64}"):
        fashion_mnist.load_data()


@pytest.mark.parametrize(
    "name, blob, match",
    [
        (
            "train-labels-idx1-ubyte.gz",
            idx(0x803, (12,), np.zeros(12, np.uint8)),
            r"expected an IDX header \[2049, 12\]",
        ),
        ("train-labels-idx1-ubyte.gz", idx(0x801, (13,), np.zeros(13, np.uint8)), r"Received: \[2049, 13\]"),
        ("train-images-idx3-ubyte.gz", idx(0x803, (12, 28, 27), np.zeros((12, 28, 27), np.uint8)), "IDX header"),
        ("train-images-idx3-ubyte.gz", b"\x00\x00", r"Received: None"),
        ("t10k-images-idx3-ubyte.gz", idx(0x803, (5, 28, 28), np.zeros(100, np.uint8)), "expected 3936 bytes"),
        ("t10k-images-idx3-ubyte.gz", idx(0x803, (5, 28, 28), np.zeros(5 * 784 + 1, np.uint8)), "Received: 3937"),
        ("t10k-labels-idx1-ubyte.gz", idx(0x801, (5,), np.full(5, 10, np.uint8)), "expected classes 0-9. Received: 10"),
    ],
)
def test_damaged_files(monkeypatch, cache, name, blob, match):
    install(monkeypatch, cache, blobs={name: blob})
    with pytest.raises(ValueError, match=match):
        fashion_mnist.load_data()


def test_not_gzip(monkeypatch, cache):
    install(monkeypatch, cache)
    name = "train-images-idx3-ubyte.gz"
    (cache / name).write_bytes(b"not gzip at all")
    monkeypatch.setattr(
        fashion_mnist, "FILES", dict(fashion_mnist.FILES, **{name: hashlib.sha256(b"not gzip at all").hexdigest()})
    )
    with pytest.raises(ValueError, match="not a readable gzip file"):
        fashion_mnist.load_data()


def test_a_gzip_bomb_is_not_inflated(monkeypatch, cache):
    # 200 MB of zeros after a valid header: only the declared bytes + 1 are inflated.
    name = "train-images-idx3-ubyte.gz"
    install(monkeypatch, cache)
    header = np.array((0x803, 12, 28, 28), dtype=">u4").tobytes()
    comp = zlib_stream(header, 200 << 20)
    (cache / name).write_bytes(comp)
    monkeypatch.setattr(fashion_mnist, "FILES", dict(fashion_mnist.FILES, **{name: hashlib.sha256(comp).hexdigest()}))
    with pytest.raises(ValueError, match=r"expected 9424 bytes after decompression. Received: 9425"):
        fashion_mnist.load_data()


def zlib_stream(header, zeros):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as out:
        out.write(header)
        chunk = bytes(1 << 20)
        for _ in range(zeros >> 20):
            out.write(chunk)
    return buf.getvalue()


def test_missing_file_names_it(monkeypatch):
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        fashion_mnist.load_data()
