"""MNIST handwritten digits, as `keras.datasets.mnist`."""

import numpy as np

from pytrainc import saving
from pytrainc.datasets import _cache

__all__ = ["load_data"]

# The file Keras downloads, and the digest it pins (keras/src/datasets/mnist.py).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IMAGE_SHAPE = (28, 28)


def load_data(path="mnist.npz"):
    """Loads the MNIST dataset.

    60,000 28x28 grayscale training images of the 10 digits, and 10,000 test
    images (http://yann.lecun.com/exdb/mnist/).

    The archive is Keras's `mnist.npz`, read from the cache directory (see
    `pytrainc.datasets.data_dir`: `$PYTRAINC_DATA`, else
    `$PYTRAINC_HOME/datasets`, else `~/.pytrainc/datasets`) and downloaded
    from `ORIGIN` when absent. Its SHA-256 must equal `SHA256`. It is read with
    pickling disabled.

    Args:
        path: str, the archive's file name in the cache directory (an absolute
            path is used as is). Defaults to `"mnist.npz"`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape
        `(60000, 28, 28)` and `(10000, 28, 28)` with values 0-255, and uint8
        labels 0-9 of shape `(60000,)` and `(10000,)`.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded;
            the message gives its URL, digest and where to put it.
        ValueError: if the archive's checksum is wrong, or it is damaged or
            does not hold the four uint8 arrays of the layout above.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = pytrainc.datasets.mnist.load_data()
    >>> x_train.shape, y_train.shape
    ((60000, 28, 28), (60000,))
    """
    file_path = _cache.get_file(path, ORIGIN, SHA256)
    arrays = saving.load_npz(file_path)  # allow_pickle=False, CRCs checked
    missing = [key for key in _KEYS if key not in arrays]
    if missing:
        raise ValueError(
            f"Cannot load '{file_path}': expected the arrays {list(_KEYS)}. "
            f"Received: {list(arrays)} (missing {missing})"
        )
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[x_key], arrays[y_key]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != _IMAGE_SHAPE:
            raise ValueError(
                f"Cannot load '{file_path}': expected {x_key} of dtype uint8 and "
                f"shape (N, 28, 28). Received: dtype={x.dtype}, shape={x.shape}"
            )
        if y.dtype != np.uint8 or y.shape != (x.shape[0],):
            raise ValueError(
                f"Cannot load '{file_path}': expected {y_key} of dtype uint8 and "
                f"shape ({x.shape[0]},). Received: dtype={y.dtype}, shape={y.shape}"
            )
        splits.append((x, y))
    return tuple(splits)
