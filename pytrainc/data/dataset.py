"""`Dataset`: the part of `tf.data.Dataset` that Keras's guides use, on NumPy arrays.

Elements are NumPy arrays, or tuples and dicts of them. A pipeline is lazy: each
`iter()` is a new pass. Pipelines that start with `from_tensor_slices` and only
shuffle, take or repeat before `batch` gather each batch's rows with one NumPy
index, never sample by sample. `shuffle` draws from pytrainc's generator: with
a seed (or after `pytrainc.utils.set_random_seed`) every pass is reproducible
bitwise.
"""

import itertools

import numpy as np

from pytrainc import _C

INFINITE = -1
UNKNOWN = -2


def _map_structure(fn, element):
    if isinstance(element, tuple):
        return tuple(_map_structure(fn, e) for e in element)
    if isinstance(element, dict):
        return {k: _map_structure(fn, v) for k, v in element.items()}
    return fn(element)


def _leaves(element):
    if isinstance(element, tuple):
        return [leaf for e in element for leaf in _leaves(e)]
    if isinstance(element, dict):
        return [leaf for v in element.values() for leaf in _leaves(v)]
    return [element]


def _stack(elements):
    """One batch from a list of elements of the same structure."""
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(_stack([e[i] for e in elements]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([e[k] for e in elements]) for k in first}
    return np.stack([np.asarray(e) for e in elements])


def _check_count(value, name, allow_all=True):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (-1 if allow_all else 1):
        expected = "an int >= -1 (-1: all)" if allow_all else "an int >= 1"
        raise ValueError(f"{name} must be {expected}. Received: {name}={value!r}")
    return int(value)


class Dataset:
    """A lazy pipeline of elements, as `tf.data.Dataset`.

    Example:

    >>> import numpy as np
    >>> ds = Dataset.from_tensor_slices((np.arange(6.0), np.arange(6))).shuffle(6, seed=1).batch(4)
    >>> [x.shape for x, y in ds]
    [(4,), (2,)]
    """

    # -- sources

    @staticmethod
    def from_tensor_slices(tensors):
        """Elements from the first axis of arrays (a tuple or dict of arrays slices them together).

        Args:
            tensors: An array, or a (nested) tuple or dict of arrays with the same first dimension.

        Raises:
            ValueError: for arrays of different lengths or scalars.
        """
        if isinstance(tensors, list):
            tensors = np.asarray(tensors)
        tensors = _map_structure(np.asarray, tensors)
        leaves = _leaves(tensors)
        if not leaves or any(a.ndim == 0 for a in leaves):
            raise ValueError("from_tensor_slices needs arrays with a first axis. Received a scalar or nothing")
        lengths = {a.shape[0] for a in leaves}
        if len(lengths) != 1:
            raise ValueError(f"from_tensor_slices needs arrays of the same length. Received lengths {sorted(lengths)}")
        return _Slices(tensors, lengths.pop())

    @staticmethod
    def from_generator(generator):
        """Elements from `generator()`, a function called at each pass (the `output_signature` of
        tf.data is not needed: elements are NumPy arrays)."""
        if not callable(generator):
            raise TypeError(f"from_generator expects a function returning an iterator. Received: {generator!r}")
        return _Generated(generator)

    # -- transformations

    def batch(self, batch_size, drop_remainder=False):
        """Consecutive elements stacked into batches of `batch_size` (the last may be smaller
        unless `drop_remainder`)."""
        return _Batch(self, _check_count(batch_size, "batch_size", allow_all=False), bool(drop_remainder))

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """Elements in random order, picked from a buffer of `buffer_size` (tf.data's algorithm).

        Args:
            buffer_size: An int >= 1; at least the number of elements gives a full shuffle.
            seed: Optional int. Defaults to None: drawn from pytrainc's generator
                (`pytrainc.utils.set_random_seed` makes it reproducible).
            reshuffle_each_iteration: Whether each pass has a new order. Defaults to True.
        """
        return _Shuffle(self, _check_count(buffer_size, "buffer_size", allow_all=False), seed, reshuffle_each_iteration)

    def map(self, map_func, num_parallel_calls=None, deterministic=None):
        """`map_func` applied to each element (to the parts of a tuple as separate arguments,
        as tf.data does); it takes and returns NumPy arrays. The parallelism arguments
        are accepted and ignored: fit's reader thread already overlaps reading with training."""
        if not callable(map_func):
            raise TypeError(f"map expects a function. Received: {map_func!r}")
        return _Map(self, map_func)

    def prefetch(self, buffer_size=None):
        """The same elements. fit, evaluate and predict read batches ahead on a thread of their own."""
        return _Same(self)

    def repeat(self, count=None):
        """The elements `count` times (None or -1: forever)."""
        return _Repeat(self, -1 if count is None else _check_count(count, "count"))

    def take(self, count):
        """The first `count` elements (-1: all)."""
        return _Take(self, _check_count(count, "count"))

    def cache(self, filename=""):
        """The same elements, kept in memory after the first complete pass."""
        if filename:
            raise ValueError(f"cache keeps elements in memory only. Received: filename={filename!r}")
        return _Cache(self)

    # -- reading

    def cardinality(self):
        """The number of elements: an int, `INFINITE` (-1) or `UNKNOWN` (-2), as tf.data."""
        return self._cardinality()

    def __len__(self):
        n = self._cardinality()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __iter__(self):
        if self._indexable():
            source, indices = self._index_plan()
            return (source._row(i) for i in indices)
        return self._elements()

    def as_numpy_iterator(self):
        """An iterator of the elements (they are NumPy arrays already)."""
        return iter(self)

    def _indexable(self):
        """Whether this pipeline only selects and reorders the rows of a `from_tensor_slices`."""
        return False

    def _index_plan(self):
        """(slices source, iterator of row indices) when `_indexable()`, else None (one pass each call)."""
        return None


class _Slices(Dataset):
    def __init__(self, tensors, n):
        self._tensors, self._n = tensors, n

    def _cardinality(self):
        return self._n

    def _indexable(self):
        return True

    def _index_plan(self):
        return self, iter(range(self._n))

    def _row(self, i):
        return _map_structure(lambda a: a[i], self._tensors)

    _rows = _row  # an index array or a slice gathers a batch


class _Generated(Dataset):
    def __init__(self, generator):
        self._generator = generator

    def _cardinality(self):
        return UNKNOWN

    def _elements(self):
        return iter(self._generator())


class _Unary(Dataset):
    def __init__(self, parent):
        self._parent = parent

    def _cardinality(self):
        return self._parent._cardinality()

    def _elements(self):
        return iter(self._parent)


class _Reordering(_Unary):
    """A step that keeps the rows of a `from_tensor_slices` addressable by index."""

    def _indexable(self):
        return self._parent._indexable()


class _Same(_Reordering):
    def _index_plan(self):
        return self._parent._index_plan()


class _Batch(_Unary):
    def __init__(self, parent, batch_size, drop_remainder):
        super().__init__(parent)
        self._size, self._drop = batch_size, drop_remainder

    def _cardinality(self):
        n = self._parent._cardinality()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)

    def _elements(self):
        if self._parent._indexable():
            return self._gathered(*self._parent._index_plan())
        return self._stacked(iter(self._parent))

    def _gathered(self, source, indices):
        while True:
            chunk = np.fromiter(itertools.islice(indices, self._size), dtype=np.int64)
            if chunk.size == 0 or (self._drop and chunk.size < self._size):
                return
            start = int(chunk[0])
            contiguous = chunk.size == 1 or (chunk[-1] - start == chunk.size - 1 and np.all(np.diff(chunk) == 1))
            yield source._rows(slice(start, start + chunk.size) if contiguous else chunk)

    def _stacked(self, elements):
        while True:
            chunk = list(itertools.islice(elements, self._size))
            if not chunk or (self._drop and len(chunk) < self._size):
                return
            yield _stack(chunk)


class _Shuffle(_Reordering):
    def __init__(self, parent, buffer_size, seed, reshuffle):
        super().__init__(parent)
        from pytrainc import utils

        self._buffer = buffer_size
        self._seed = _C.rng_next(utils.global_rng()) if seed is None else utils._check_seed(seed)
        self._state = utils.make_rng(self._seed)
        self._reshuffle = bool(reshuffle)

    def _pass_state(self):
        """The generator of one pass: advanced across passes unless every pass repeats the first."""
        if self._reshuffle:
            return self._state
        from pytrainc import utils

        return utils.make_rng(self._seed)

    def _index_plan(self):
        if not self._indexable():
            return None
        source, indices = self._parent._index_plan()
        n = self._parent._cardinality()
        state = self._pass_state()
        if n >= 0 and self._buffer >= n and isinstance(self._parent, _Slices):
            return source, iter(_C.permutation(state, n).tolist())  # a full shuffle, in C
        return source, self._buffered(indices, state)

    def _elements(self):
        return self._buffered(iter(self._parent), self._pass_state())

    def _buffered(self, elements, state):
        """tf.data's shuffle: emit a random element of the buffer and put the next one in its place."""
        buffer = list(itertools.islice(elements, self._buffer))
        draws, used = np.empty(1024, dtype=np.float32), 1024

        def pick(size):
            nonlocal used
            if used == draws.size:
                _C.rng_fill(state, draws, 0, 0.0, 1.0)
                used = 0
            used += 1
            return min(int(draws[used - 1] * size), size - 1)

        for element in elements:
            j = pick(len(buffer))
            yield buffer[j]
            buffer[j] = element
        while buffer:
            j = pick(len(buffer))
            buffer[j], buffer[-1] = buffer[-1], buffer[j]
            yield buffer.pop()


class _Map(_Unary):
    def __init__(self, parent, fn):
        super().__init__(parent)
        self._fn = fn

    def _elements(self):
        fn = self._fn
        for element in self._parent:
            out = fn(*element) if isinstance(element, tuple) else fn(element)
            yield _map_structure(np.asarray, tuple(out) if isinstance(out, list) else out)


class _Repeat(_Reordering):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = count

    def _cardinality(self):
        n = self._parent._cardinality()
        if self._count == 0 or n == 0:
            return 0
        if self._count == -1 or n == INFINITE:
            return INFINITE
        return n if n == UNKNOWN else n * self._count

    def _passes(self):
        return itertools.count() if self._count == -1 else range(self._count)

    def _index_plan(self):
        if not self._indexable():
            return None
        source = _source(self)
        return source, itertools.chain.from_iterable(self._parent._index_plan()[1] for _ in self._passes())

    def _elements(self):
        return itertools.chain.from_iterable(iter(self._parent) for _ in self._passes())


class _Take(_Reordering):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = count

    def _cardinality(self):
        n = self._parent._cardinality()
        if self._count == -1:
            return n
        if n == INFINITE:
            return self._count
        return n if n == UNKNOWN else min(n, self._count)

    def _limit(self, iterator):
        return iterator if self._count == -1 else itertools.islice(iterator, self._count)

    def _index_plan(self):
        if not self._indexable():
            return None
        source, indices = self._parent._index_plan()
        return source, self._limit(indices)

    def _elements(self):
        return self._limit(iter(self._parent))


class _Cache(_Unary):
    def __init__(self, parent):
        super().__init__(parent)
        self._cached = None

    def _elements(self):
        if self._cached is not None:
            return iter(self._cached)
        return self._filling()

    def _filling(self):
        kept = []
        for element in self._parent:
            kept.append(element)
            yield element
        self._cached = kept  # only a complete pass is kept


def _source(dataset):
    """The `from_tensor_slices` an indexable pipeline reads."""
    while not isinstance(dataset, _Slices):
        dataset = dataset._parent
    return dataset
