"""CIFAR-100 small images, as `keras.datasets.cifar100`."""

import numpy as np

from pytrainc.datasets import _cache, cifar10

__all__ = ["load_data"]

# The official "CIFAR-100 python version" archive (https://www.cs.toronto.edu/~kriz/cifar.html)
# and the SHA-256 that Keras pins for it (keras/src/datasets/cifar100.py).
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
FILENAME = "cifar-100-python.tar.gz"

_DIRNAME = "cifar-100-python"
_CLASSES = {"fine": 100, "coarse": 20}
_MAX_MEMBER_BYTES = 256 << 20  # the training batch is 154 MB


def load_data(label_mode="fine"):
    """Loads the CIFAR-100 dataset.

    50,000 32x32 color training images and 10,000 test images, labeled over 100 fine classes
    grouped into 20 coarse ones. The archive is read as `cifar10.load_data` reads its own: from
    the cache directory, checked against `SHA256`, by a pickle reader that runs no code.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20). Defaults to "fine".

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)`, int64 labels of shape `(50000, 1)` and
        `(10000, 1)`, as Keras's.

    Raises:
        ValueError: for another label_mode, a wrong checksum or a damaged archive.
        FileNotFoundError: if the archive is absent and cannot be downloaded.

    Example:

    >>> (x_train, y_train), _ = pytrainc.datasets.cifar100.load_data("coarse")  # doctest: +SKIP
    """
    if label_mode not in _CLASSES:
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    path = _cache.get_file(FILENAME, ORIGIN, SHA256)
    batches = cifar10._read_batches(
        path, ("train", "test"), _DIRNAME, f"{label_mode}_labels", _CLASSES[label_mode], _MAX_MEMBER_BYTES
    )
    (x_train, y_train), (x_test, y_test) = (cifar10._join([batches[name]]) for name in ("train", "test"))
    # Keras's cifar100 labels are int64 (its cifar10's are uint8).
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))
