"""The two regression archives (Boston and California housing): one npz of `x` and `y`.

Both loaders shuffle with `np.random.RandomState(seed)` and split at
`int(len(x) * (1 - test_split))`, as Keras 3 does, so equal arguments give the
arrays Keras gives.
"""

import numpy as np

from pytrainc import saving
from pytrainc.datasets import _cache


def check_split(test_split):
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"test_split must be a number in [0, 1). Received: test_split={test_split!r}")


def load(path, origin, sha256, features, test_split, seed, limit=None):
    """`(x_train, y_train), (x_test, y_test)` from the checked archive.

    features: the width x must have; limit: keep only the first `limit` samples
    before shuffling (California's "small" version).
    """
    check_split(test_split)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32). Received: seed={seed!r}")
    file_path = _cache.get_file(path, origin, sha256)
    arrays = saving.load_npz(file_path)  # allow_pickle=False, CRCs checked
    if "x" not in arrays or "y" not in arrays:
        raise ValueError(f"Cannot load '{file_path}': expected the arrays ['x', 'y']. Received: {list(arrays)}")
    x, y = arrays["x"], arrays["y"]
    if x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != features:
        raise ValueError(
            f"Cannot load '{file_path}': expected x of a float dtype and shape (N, {features}). "
            f"Received: dtype={x.dtype}, shape={x.shape}"
        )
    if y.dtype.kind != "f" or y.shape != (x.shape[0],):
        raise ValueError(
            f"Cannot load '{file_path}': expected y of a float dtype and shape ({x.shape[0]},). "
            f"Received: dtype={y.dtype}, shape={y.shape}"
        )
    if limit is not None:
        x, y = x[:limit], y[:limit]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
