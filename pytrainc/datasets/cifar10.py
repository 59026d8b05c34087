"""CIFAR-10 small images, as `keras.datasets.cifar10`."""

import tarfile
import zlib

import numpy as np

from pytrainc.datasets import _cache, _safe_pickle

__all__ = ["load_data"]

# The official "CIFAR-10 python version" archive
# (https://www.cs.toronto.edu/~kriz/cifar.html) and the SHA-256 that Keras
# pins for it (keras/src/datasets/cifar10.py); its MD5, published on that
# page, is c58f30108f718f92721af3b95e74349a.
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
FILENAME = "cifar-10-python.tar.gz"

_DIRNAME = "cifar-10-batches-py"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCH = "test_batch"
_NUM_CLASSES = 10
_PIXELS = 3 * 32 * 32  # one row of "data": the red, then green, then blue 32x32 plane
# Bounds on the archive, checked from each member's header before its data is read or skipped
# (skipping a member of a .gz stream decompresses it): the official archive has 9 members and
# 186 MB of them, the largest 31 MB. A batch itself is bounded by _safe_pickle.MAX_BYTES.
_MAX_MEMBERS = 64
_MAX_MEMBER_BYTES = 64 << 20
_MAX_ARCHIVE_BYTES = 512 << 20
# Reading a damaged .tar.gz raises any of these.
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def load_data():
    """Loads the CIFAR-10 dataset.

    50,000 32x32 color training images and 10,000 test images, labeled over
    10 classes (https://www.cs.toronto.edu/~kriz/cifar.html): 0 airplane,
    1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
    9 truck.

    The archive is the official `cifar-10-python.tar.gz`, read from the cache
    directory (see `pytrainc.datasets.data_dir`: `$PYTRAINC_DATA`, else
    `$PYTRAINC_HOME/datasets`, else `~/.pytrainc/datasets`) and downloaded
    from `ORIGIN` when absent. Its SHA-256 must equal `SHA256`. The batches
    are read straight from the archive (nothing is extracted) by a pickle
    reader that executes no code from the file and only rebuilds uint8 arrays.

    Arrays are laid out as Keras lays them out with the default
    `image_data_format()` "channels_last"; unlike Keras's transposed views,
    the images here are C-contiguous.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape
        `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)` with values 0-255, and
        uint8 labels 0-9 of shape `(50000, 1)` and `(10000, 1)`.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded;
            the message gives its URL, digest and where to put it.
        ValueError: if the archive's checksum is wrong, or it is damaged, lacks
            a batch, or a batch is not a plain pickle of the official layout
            (a pickle that refers to anything but NumPy array reconstruction
            is refused without being run).

    Example:

    >>> (x_train, y_train), (x_test, y_test) = pytrainc.datasets.cifar10.load_data()
    >>> x_train.shape, y_train.shape
    ((50000, 32, 32, 3), (50000, 1))
    """
    path = _cache.get_file(FILENAME, ORIGIN, SHA256)
    batches = _read_batches(path, _TRAIN_BATCHES + (_TEST_BATCH,))
    x_train, y_train = _join([batches[name] for name in _TRAIN_BATCHES])
    x_test, y_test = _join([batches[_TEST_BATCH]])
    return (x_train, y_train), (x_test, y_test)


def _read_batches(path, names, dirname=_DIRNAME, label_key="labels", num_classes=_NUM_CLASSES, max_member=None):
    """Reads the named batches of `cifar-10-batches-py/` (or `dirname`) in one pass over the archive.

    CIFAR-100 (cifar100.py) reads its two batches here too, with its own directory, label key,
    number of classes and a member bound for its 154 MB training batch.
    """
    wanted = {f"{dirname}/{name}": name for name in names}
    member_bytes = _MAX_MEMBER_BYTES if max_member is None else max_member
    batches = {}
    count = total = 0
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:  # in archive order: a .gz stream cannot seek back cheaply
                count, total = count + 1, total + member.size
                if count > _MAX_MEMBERS or member.size > member_bytes or total > _MAX_ARCHIVE_BYTES:
                    raise ValueError(
                        f"Cannot load '{path}': expected at most {_MAX_MEMBERS} members of at most "
                        f"{member_bytes} bytes each, {_MAX_ARCHIVE_BYTES} in all. Received member {count} "
                        f"({member.name!r}, {member.size} bytes) with {total} bytes so far"
                    )
                name = wanted.get(member.name)
                if name is None:
                    continue
                if name in batches:
                    raise ValueError(f"Cannot load '{path}': the archive holds {member.name} twice")
                if not member.isfile():
                    raise ValueError(
                        f"Cannot load '{path}': expected {member.name} to be a "
                        "regular file. Received: a link or special file"
                    )
                with archive.extractfile(member) as f:
                    source = f"{path}:{member.name}"
                    limit = None if max_member is None else max_member
                    batches[name] = _check_batch(_safe_pickle.load(f, source, limit), source, label_key, num_classes)
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _ARCHIVE_ERRORS as err:
        raise ValueError(
            f"Cannot load '{path}': the archive is truncated or damaged ({type(err).__name__}: {err})"
        ) from err
    missing = [f"{dirname}/{name}" for name in names if name not in batches]
    if missing:
        raise ValueError(
            f"Cannot load '{path}': expected the CIFAR batches {missing} in the "
            "archive. Received an archive without them"
        )
    return batches


def _check_batch(batch, source, label_key="labels", num_classes=_NUM_CLASSES):
    """Returns (data, labels) of one unpickled batch after checking its layout."""
    if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
        keys = sorted(map(str, batch)) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"Cannot load '{source}': expected a dict with 'data' and {label_key!r}. Received: {keys}")
    data, labels = batch["data"], batch[label_key]
    _NUM_CLASSES = num_classes  # noqa: N806  (this batch's number of classes)
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != _PIXELS:
        shape = data.shape if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"Cannot load '{source}': expected 'data' of shape (N, {_PIXELS}). Received: {shape}")
    if (
        not isinstance(labels, list)
        or len(labels) != data.shape[0]
        or not all(type(v) is int and 0 <= v < _NUM_CLASSES for v in labels)
    ):
        raise ValueError(
            f"Cannot load '{source}': expected {label_key!r} to be a list of "
            f"{data.shape[0]} ints in [0, {_NUM_CLASSES}). Received: "
            f"{type(labels).__name__} of length {_length(labels)}"
        )
    return data, np.array(labels, dtype=np.uint8)


def _join(batches):
    """Stacks batches into Keras's channels-last images and (N, 1) labels."""
    data = np.concatenate([data for data, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    # Each row is (channel, row, column); Keras reshapes to (N, 3, 32, 32) and
    # transposes to channels-last.
    x = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return x, labels.reshape(-1, 1)


def _length(value):
    try:
        return len(value)
    except TypeError:
        return "n/a"
