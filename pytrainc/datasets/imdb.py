"""IMDB movie-review sentiment, as `keras.datasets.imdb`."""

import numpy as np

from pytrainc.datasets import _cache, _sequences

__all__ = ["load_data", "get_word_index"]

# The archive Keras downloads and the digests Keras pins (keras/src/datasets/imdb.py).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(
    path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3
):
    """Loads the IMDB dataset: 25,000 training and 25,000 test reviews labeled by sentiment.

    Reviews are sequences of word ids, a word's id being its frequency rank (offset by
    `index_from`). The steps and their order are Keras's: both splits are shuffled with
    `numpy.random.RandomState(seed)`, ids are offset, each sequence gets `start_char`, those
    of `maxlen` words or more are dropped, and ids outside `[skip_top, num_words)` become
    `oov_char` (or are dropped when it is None). The archive is read without unpickling it
    (see `pytrainc.datasets._sequences`).

    Args:
        path: File name in the cache directory. Defaults to "imdb.npz".
        num_words: Keep the `num_words` most frequent ids; None keeps all. Defaults to None.
        skip_top: Treat the `skip_top` most frequent ids as out of vocabulary. Defaults to 0.
        maxlen: Drop sequences of `maxlen` ids or more; None keeps all. Defaults to None.
        seed: Seed of the shuffle. Defaults to 113.
        start_char: The id marking a sequence's start, or None. Defaults to 1.
        oov_char: The id of out-of-vocabulary words, or None to drop them. Defaults to 2.
        index_from: Offset added to every word id. Defaults to 3.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ids, int labels 0/1.

    Raises:
        FileNotFoundError: if the archive is absent and cannot be downloaded.
        ValueError: for a wrong checksum, a damaged archive or a pickle other than lists of
            ints, bad arguments, or a `maxlen` that keeps no sequence.

    Example:

    >>> (x_train, y_train), _ = pytrainc.datasets.imdb.load_data(num_words=10000)  # doctest: +SKIP
    """
    _sequences.check_args(num_words, skip_top, maxlen, index_from)
    path = _cache.get_file(path, ORIGIN, SHA256)
    f = _sequences.read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    _sequences.check_sequences(f["x_train"], f["y_train"], path)
    _sequences.check_sequences(f["x_test"], f["y_test"], path)
    rng = np.random.RandomState(seed)
    splits = []
    for x, y in ((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])):
        indices = np.arange(len(x))
        rng.shuffle(indices)
        splits.append(_sequences.transform(x[indices], y[indices], maxlen, start_char, index_from))
    (x_train, labels_train), (x_test, labels_test) = splits
    if maxlen and (not x_train or not x_test):
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase maxlen."
        )
    xs = _sequences.cut_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train, f["y_train"].dtype), np.asarray(labels_test, f["y_test"].dtype)])
    idx = len(x_train)
    return (_sequences.object_array(xs[:idx]), labels[:idx]), (_sequences.object_array(xs[idx:]), labels[idx:])


def get_word_index(path="imdb_word_index.json"):
    """The word -> id dict of the IMDB dataset (ids before `index_from`'s offset).

    Args:
        path: File name in the cache directory. Defaults to "imdb_word_index.json".

    Returns:
        A dict of words (str) to ranks (int). Its file is pinned by the MD5 Keras pins.

    Example:

    >>> index = pytrainc.datasets.imdb.get_word_index()  # doctest: +SKIP
    """
    return _sequences.word_index(path, WORD_INDEX_ORIGIN, WORD_INDEX_MD5)
