"""Fashion-MNIST article images, as `keras.datasets.fashion_mnist`."""

import gzip
import os
import zlib

import numpy as np

from pytrainc.datasets import _cache

__all__ = ["load_data"]

# The files Keras downloads (keras/src/datasets/fashion_mnist.py). Keras pins no
# digest for them; these SHA-256s are the official files' (the same values appear
# in TensorFlow Datasets' checksum list and elsewhere; Zalando publishes MD5s).
BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SUBDIR = "fashion-mnist"  # inside the cache directory, as Keras's cache_subdir
FILES = {
    "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
    "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
    "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
}
_COUNTS = {"train": 60000, "t10k": 10000}
_LABELS, _IMAGES = 0x00000801, 0x00000803  # IDX magic numbers: uint8 data, 1 or 3 dimensions


def load_data():
    """Loads the Fashion-MNIST dataset.

    60,000 28x28 grayscale training images of 10 kinds of clothing and 10,000
    test images (labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot), a drop-in replacement
    for MNIST. Copyright Zalando SE, MIT license.

    The four gzipped IDX files are read from `fashion-mnist/` in the cache
    directory (see `pytrainc.datasets.data_dir`), downloaded from `BASE` when
    absent, each checked against its SHA-256 in `FILES`. Their headers are
    checked and at most the declared bytes are decompressed.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape
        `(60000, 28, 28)` and `(10000, 28, 28)`, uint8 labels 0-9 of shape
        `(60000,)` and `(10000,)`, as `keras.datasets.fashion_mnist.load_data`.

    Raises:
        FileNotFoundError: if a file is absent and cannot be downloaded.
        ValueError: for a wrong checksum, or a file that is not the IDX layout.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = pytrainc.datasets.fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000,))
    """
    splits = []
    for split, count in _COUNTS.items():
        y = _read_idx(f"{split}-labels-idx1-ubyte.gz", _LABELS, (count,))
        x = _read_idx(f"{split}-images-idx3-ubyte.gz", _IMAGES, (count, 28, 28))
        if y.max(initial=0) > 9:
            raise ValueError(f"Cannot load {split} labels: expected classes 0-9. Received: {int(y.max())}")
        splits.append((x, y))
    return tuple(splits)


def _read_idx(name, magic, shape):
    path = _cache.get_file(os.path.join(SUBDIR, name), BASE + name, FILES[name])
    header = 4 + 4 * len(shape)
    size = header + int(np.prod(shape))
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(size + 1)  # one byte more tells a longer file; never more than that is inflated
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"Cannot load '{path}': not a readable gzip file ({err})") from err
    declared = np.frombuffer(raw[:header], dtype=">u4") if len(raw) >= header else None
    expected = np.array((magic,) + shape, dtype=">u4")
    if declared is None or not np.array_equal(declared, expected):
        got = None if declared is None else [int(v) for v in declared]
        raise ValueError(
            f"Cannot load '{path}': expected an IDX header {[int(v) for v in expected]} (magic, sizes). Received: {got}"
        )
    if len(raw) != size:
        raise ValueError(f"Cannot load '{path}': expected {size} bytes after decompression. Received: {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()
