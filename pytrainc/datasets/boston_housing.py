"""Boston housing price regression, as `keras.datasets.boston_housing`."""

from pytrainc.datasets import _regression

__all__ = ["load_data"]

# The file Keras downloads, and the digest it pins (keras/src/datasets/boston_housing.py).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston housing dataset.

    506 samples of 13 attributes of houses in the suburbs of Boston in the late
    1970s; targets are median values in k$. (The dataset has an ethical problem:
    one of its attributes encodes race; Keras keeps it for reproducibility, and
    so does pytrainc.)

    Args:
        path: str, the archive's file name in the cache directory (see
            `pytrainc.datasets.data_dir`; an absolute path is used as is).
            Defaults to `"boston_housing.npz"`.
        test_split: float in [0, 1), the fraction of the data kept for the
            test set. Defaults to 0.2.
        seed: int, the seed of the shuffle before the split. Defaults to 113.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float arrays of shape `(n, 13)`
        and `(n,)`, the same arrays `keras.datasets.boston_housing.load_data`
        returns for the same arguments.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded.
        ValueError: for a wrong checksum or layout, or a bad argument.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = pytrainc.datasets.boston_housing.load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape  # doctest: +SKIP
    ((404, 13), (102, 13))
    """
    return _regression.load(path, ORIGIN, SHA256, 13, test_split, seed)
