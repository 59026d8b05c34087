"""What imdb and reuters share: reading their .npz archives without unpickling, and Keras's
transformation of the word-id sequences (keras/src/datasets/imdb.py, reuters.py).

The archives hold object arrays of Python lists of word ids, which `numpy.load` can only read
with `allow_pickle=True`, that is by running the pickle. Here each member's .npy header is
parsed by NumPy's header reader (a literal parser, no code), plain arrays are read with
`allow_pickle=False`, and the object arrays' pickles go through `_safe_pickle` with
`int_lists=True`: only NumPy array reconstruction of lists of ints, nothing else, is accepted.
"""

import json
import zipfile

import numpy as np

from pytrainc.datasets import _cache, _safe_pickle

# Bounds for one member: the official imdb.npz's largest pickle holds about 6 million word ids
# in 20 MB; reuters.npz is smaller.
_MAX_MEMBER_BYTES = 256 << 20
_MAX_OPCODES = 1 << 25
_MAX_MEMBERS = 16


def read_npz(path, names):
    """The arrays `names` of the .npz at `path`, object arrays read by the restricted reader."""
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise ValueError(f"expected at most {_MAX_MEMBERS} members. Received {len(infos)}")
            by_name = {info.filename: info for info in infos}
            for name in names:
                info = by_name.get(name + ".npy")
                if info is None:
                    raise ValueError(f"expected an array {name!r}. Received members {sorted(by_name)}")
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise ValueError(f"expected {name}.npy of at most {_MAX_MEMBER_BYTES} bytes")
                with archive.open(info) as f:
                    out[name] = _read_npy(f, f"{path}:{name}.npy")
    except ValueError as err:
        raise ValueError(f"Cannot load '{path}': {err}") from err
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"Cannot load '{path}': the archive is damaged ({type(err).__name__}: {err})") from err
    return out


def _read_npy(f, source):
    version = np.lib.format.read_magic(f)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(f)
    if dtype != object:
        array = np.frombuffer(f.read(_MAX_MEMBER_BYTES + 1), dtype=dtype)
        if array.size != int(np.prod(shape)):
            raise ValueError(f"{source}: expected {int(np.prod(shape))} values. Received {array.size}")
        return array.reshape(shape, order="F" if fortran else "C").copy()
    array = _safe_pickle.load(f, source, _MAX_MEMBER_BYTES, _MAX_OPCODES, int_lists=True)
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"{source}: expected an object array of shape {tuple(shape)}")
    return array


def check_sequences(xs, labels, source):
    if xs.ndim != 1 or labels.ndim != 1 or len(xs) != len(labels) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"Cannot load '{source}': expected 1-D sequences and integer labels of the same length. "
            f"Received shapes {xs.shape} and {labels.shape} ({labels.dtype})"
        )


def transform(xs, labels, maxlen, start_char, index_from):
    """Keras's steps after the shuffle: offsets, the start mark, maxlen, then the vocabulary cut."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    else:
        xs = [list(x) for x in xs]
    labels = list(labels)
    if maxlen:
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
        xs, labels = [x for x, _ in kept], [y for _, y in kept]
    return xs, labels


def cut_vocabulary(xs, num_words, skip_top, oov_char):
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def check_args(num_words, skip_top, maxlen, index_from):
    for name, value, optional in (
        ("num_words", num_words, True),
        ("skip_top", skip_top, False),
        ("maxlen", maxlen, True),
        ("index_from", index_from, False),
    ):
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int{' or None' if optional else ''}. Received: {value!r}")


def word_index(fname, origin, md5):
    """The word -> rank dict of a word-index JSON file, which Keras pins by MD5."""
    path = _cache.get_file(fname, origin, md5, algorithm="md5")
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"Cannot load '{path}': not a JSON word index ({err})") from err
    if not isinstance(index, dict) or not all(isinstance(k, str) and type(v) is int for k, v in index.items()):
        raise ValueError(f"Cannot load '{path}': expected a JSON object of words to int ranks")
    return index
