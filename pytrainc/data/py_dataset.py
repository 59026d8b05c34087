"""`PyDataset` and `Sequence`: batches by index, as Keras 3's `keras.utils.PyDataset`."""


class PyDataset:
    """Base class for data given batch by batch, as `keras.utils.PyDataset`.

    A subclass defines `__len__` (the number of batches in an epoch) and
    `__getitem__(index)` returning one batch `(x, y)` or `(x, y, sample_weight)`
    (or `x` alone for `predict`); `on_epoch_end` runs after each epoch.
    `fit`, `evaluate` and `predict` read the batches in index order on a
    background thread while the C engine trains on the batches already read.

    Args:
        workers: Number of threads (or processes) calling `__getitem__` in
            parallel; batches still arrive in index order. Defaults to 1.
        use_multiprocessing: Whether the workers are processes rather than
            threads, for a `__getitem__` that holds the GIL (Python-heavy
            decoding or augmentation). Each pass over the data starts them
            from a forkserver and sends them the dataset by pickle, so the
            class must be importable and picklable. Defaults to False.
        max_queue_size: Calls of `__getitem__` submitted ahead of the batch
            being read, when there are workers. Defaults to 10.

    Example:

    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, i):
    ...         x = np.full((4, 1), float(i))
    ...         return x, x**2
    >>> len(Squares())
    3
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PyDataset's {name} must be an int >= 1. Received: {name}={value!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning one batch")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__() returning the number of batches")

    @property
    def num_batches(self):
        """The number of batches, `len(self)` (Keras 3's name)."""
        return len(self)

    def on_epoch_begin(self):
        """Called before each epoch (Keras 3)."""

    def on_epoch_end(self):
        """Called after each epoch, e.g. to shuffle the order of the samples."""


class Sequence(PyDataset):
    """The older `keras.utils.Sequence`, which Keras 3 made `PyDataset`: batches by index."""
