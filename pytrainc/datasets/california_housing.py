"""California housing price regression, as `keras.datasets.california_housing`."""

from pytrainc.datasets import _regression

__all__ = ["load_data"]

# The file Keras downloads, and the digest it pins (keras/src/datasets/california_housing.py).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
_SMALL = 600  # samples kept by version="small", as Keras


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the California housing dataset.

    20,640 block groups of the 1990 U.S. census, each with 8 attributes (median
    income, house age, average rooms and bedrooms, population, average
    occupancy, latitude, longitude); targets are median house values in $.

    Args:
        version: `"large"` (all 20,640 samples) or `"small"` (the first 600),
            as Keras. Defaults to `"large"`.
        path: str, the archive's file name in the cache directory (see
            `pytrainc.datasets.data_dir`; an absolute path is used as is).
            Defaults to `"california_housing.npz"`.
        test_split: float in [0, 1), the fraction kept for the test set.
            Defaults to 0.2.
        seed: int, the seed of the shuffle before the split. Defaults to 113.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays of shape `(n, 8)`
        and `(n,)`, the same arrays Keras returns for the same arguments.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded.
        ValueError: for a wrong checksum or layout, or a bad argument.

    Example:

    >>> (x_train, y_train), _ = pytrainc.datasets.california_housing.load_data(version="small")  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (480, 8)
    """
    if version not in ("large", "small"):
        raise ValueError(f"version must be one of 'small', 'large'. Received: version={version!r}")
    limit = _SMALL if version == "small" else None
    return _regression.load(path, ORIGIN, SHA256, 8, test_split, seed, limit=limit)
