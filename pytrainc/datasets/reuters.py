"""Reuters newswire topics, as `keras.datasets.reuters`."""

import numpy as np

from pytrainc._checks import number
from pytrainc.datasets import _cache, _sequences

__all__ = ["load_data", "get_word_index", "get_label_names"]

# The archive Keras downloads and the digests Keras pins (keras/src/datasets/reuters.py).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"


def load_data(
    path="reuters.npz",
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
):
    """Loads the Reuters dataset: 11,228 newswires labeled over 46 topics.

    The sequences are prepared as in `imdb.load_data` (Keras's steps, in Keras's order) from
    one shuffled set, then split: the first `(1 - test_split)` of it is the training set.

    Args:
        path: File name in the cache directory. Defaults to "reuters.npz".
        num_words: Keep the `num_words` most frequent ids; None keeps all. Defaults to None.
        skip_top: Treat the `skip_top` most frequent ids as out of vocabulary. Defaults to 0.
        maxlen: Drop sequences of `maxlen` ids or more; None keeps all. Defaults to None.
        test_split: Fraction in [0, 1] of the data used for testing. Defaults to 0.2.
        seed: Seed of the shuffle. Defaults to 113.
        start_char: The id marking a sequence's start, or None. Defaults to 1.
        oov_char: The id of out-of-vocabulary words, or None to drop them. Defaults to 2.
        index_from: Offset added to every word id. Defaults to 3.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ids, int topic labels.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded.
        ValueError: for a wrong checksum, a damaged archive or a pickle other than lists of
            ints, or bad arguments.

    Example:

    >>> (x_train, y_train), _ = pytrainc.datasets.reuters.load_data(num_words=10000)  # doctest: +SKIP
    """
    _sequences.check_args(num_words, skip_top, maxlen, index_from)
    test_split = number("test_split", test_split, low=0.0, high=1.0)
    path = _cache.get_file(path, ORIGIN, SHA256)
    f = _sequences.read_npz(path, ("x", "y"))
    _sequences.check_sequences(f["x"], f["y"], path)
    rng = np.random.RandomState(seed)
    indices = np.arange(len(f["x"]))
    rng.shuffle(indices)
    xs, labels = _sequences.transform(f["x"][indices], f["y"][indices], maxlen, start_char, index_from)
    if not xs:
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept.")
    xs = _sequences.cut_vocabulary(xs, num_words, skip_top, oov_char)
    labels = np.asarray(labels, f["y"].dtype)
    idx = int(len(xs) * (1 - test_split))
    return (_sequences.object_array(xs[:idx]), labels[:idx]), (_sequences.object_array(xs[idx:]), labels[idx:])


def get_word_index(path="reuters_word_index.json"):
    """The word -> id dict of the Reuters dataset (ids before `index_from`'s offset).

    Args:
        path: File name in the cache directory. Defaults to "reuters_word_index.json".

    Returns:
        A dict of words (str) to ranks (int). Its file is pinned by the MD5 Keras pins.

    Example:

    >>> index = pytrainc.datasets.reuters.get_word_index()  # doctest: +SKIP
    """
    return _sequences.word_index(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5)


_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def get_label_names():
    """The 46 topic names of the Reuters dataset, index i naming label i (Keras's tuple).

    Returns:
        A tuple of 46 strings; no file is read.

    Example:

    >>> pytrainc.datasets.reuters.get_label_names()[:3]
    ('cocoa', 'grain', 'veg-oil')
    """
    return _LABEL_NAMES
