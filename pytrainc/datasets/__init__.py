"""Datasets, as `keras.datasets`: `boston_housing`, `california_housing`, `cifar10`,
`fashion_mnist` and `mnist`, and `cifar100`, `imdb` and `reuters`.

Each `load_data()` returns `(x_train, y_train), (x_test, y_test)` with Keras's
shapes and dtypes. The official archives are kept in a cache directory:
`$PYTRAINC_DATA` if that environment variable is set, else
`$PYTRAINC_HOME/datasets`, else `~/.pytrainc/datasets` (`data_dir()` tells
which). A missing archive is downloaded from its official address; every
archive is checked against the SHA-256 that Keras pins for it. Without
network access, download the file yourself and put it in that directory: the
error message says which file, from where, and the exact path.

Example:

>>> from pytrainc.datasets import mnist
>>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
>>> x_train.shape, x_train.dtype
((60000, 28, 28), dtype('uint8'))
"""

from pytrainc.datasets import boston_housing, california_housing, cifar10, fashion_mnist, mnist
from pytrainc.datasets._cache import data_dir

__all__ = ["boston_housing", "california_housing", "cifar10", "data_dir", "fashion_mnist", "mnist"]
# Issue #11's datasets.
from pytrainc.datasets import cifar100, imdb, reuters  # noqa: E402

__all__ += ["cifar100", "imdb", "reuters"]
