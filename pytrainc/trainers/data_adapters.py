"""Data given in batches (Python generators and iterators, `PyDataset`, torch
`DataLoader`s, `pytrainc.data.Dataset`) fed to the C engine, as Keras 3's
`EpochIterator` and data adapters (keras/src/trainers/epoch_iterator.py).

A background thread reads and checks batches, copying each into the next slot
of a preallocated ring (at most `_QUEUE_BATCHES` batches and `_QUEUE_BYTES`
bytes). The trainer takes the batches that are ready and trains on each run of
equal-sized batches in consecutive slots (a last smaller one may end a run) in
one engine call, on a view of the slots, with an identity order: iterators own
their order. The training thread thus does no copy and little Python between
engine calls, which keeps its GIL hand-offs with the reader short. The engine's sums are added in
place, so the sums match one call over the same batches given as arrays.
"""

import collections
import threading
import warnings

import numpy as np

from pytrainc.data.py_dataset import PyDataset
from pytrainc.trainers import workers

_QUEUE_BATCHES = 32
_QUEUE_BYTES = 64 << 20
_JOIN_SECONDS = 10.0

RAN_OUT = (
    "Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
    "generate at least `steps_per_epoch * epochs` batches. You may need to use the `.repeat()` "
    "function when building your dataset."
)


def is_batched(data):
    """Whether data comes in batches (an iterator, iterable or PyDataset) rather than as arrays."""
    if data is None or isinstance(data, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if isinstance(data, PyDataset):
        return True
    if hasattr(data, "__array__"):  # pandas objects, torch tensors: arrays
        return False
    return hasattr(data, "__iter__") or hasattr(data, "__next__")


def kind_name(data):
    if isinstance(data, PyDataset):
        return "PyDataset"
    module = type(data).__module__ or ""
    if module.startswith("torch."):
        return "torch DataLoader"
    if module.startswith("pytrainc.data"):
        return "Dataset"
    return "generator"


def refuse_arrays_args(data, **args):
    """Keras's errors for arguments that batched data must carry itself."""
    kind = kind_name(data)
    for name, what in (("y", "the targets"), ("sample_weight", "the sample weights")):
        if args.get(name) is not None:
            raise ValueError(
                f"When providing `x` as a {kind}, `{name}` should not be passed. "
                f"Instead, {what} should be included as part of the {kind}."
            )
    if args.get("class_weight") is not None:
        raise ValueError(
            f"Argument `class_weight` is not supported for {kind} inputs. Received: class_weight={args['class_weight']}"
        )
    if args.get("validation_split"):
        raise ValueError(
            f"`validation_split` is only supported for arrays, not for a {kind}. "
            f"Received: validation_split={args['validation_split']}; pass validation_data instead"
        )


def check_steps(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be None or a positive int. Received: {name}={value!r}")
    return int(value)


def _indexed(dataset):
    """A PyDataset's batches in index order, read ahead by its workers when it has some."""
    if dataset.workers > 1 or dataset.use_multiprocessing:  # Keras 3's rule for starting workers
        return workers.ordered(dataset)
    return (dataset[i] for i in range(len(dataset)))


class EpochFeed:
    """Raw batches epoch by epoch, with Keras 3's rules for `steps_per_epoch`.

    Without steps_per_epoch an epoch is one pass over the data (until the
    iterator is exhausted). With it, an epoch takes that many batches and the
    next epoch continues the same iterator; an epoch also ends where data of
    known length ends (Keras then warns that the input ran out), and the next
    one starts a new pass. A one-shot generator or iterator has no new pass:
    an epoch after it is exhausted gets no batch and fit stops with Keras's
    warning (Keras itself replays the first batches it peeked at).
    """

    def __init__(self, data, steps_per_epoch=None):
        if isinstance(data, PyDataset):
            n = len(data)
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"A PyDataset's len() must be a positive int. Received: {n!r}")
        self.data = data
        self.steps = steps_per_epoch
        self.one_shot = hasattr(data, "__next__") and not isinstance(data, PyDataset)
        self.num_batches = None
        if isinstance(data, PyDataset):
            self.num_batches = int(len(data))
        elif not self.one_shot and hasattr(data, "__len__"):
            try:
                self.num_batches = int(len(data)) or None
            except TypeError:  # a Dataset of unknown length
                self.num_batches = None
        self.ran_out = False
        self._it = None
        self._seen = 0

    @property
    def steps_per_epoch(self):
        """Steps an epoch takes as far as known beforehand, else None."""
        return self.steps or self.num_batches

    def _new_iterator(self):
        if isinstance(self.data, PyDataset):
            return _indexed(self.data)
        if self.one_shot:
            return self.data
        return iter(self.data)

    def epoch(self):
        """A generator of one epoch's raw batches (run on the reader thread).

        Closed before its end (an error, Ctrl-C, stop_training), it closes the
        pass it reads from, which stops a PyDataset's workers."""
        data = self.data if isinstance(self.data, PyDataset) else None
        if data is not None:
            data.on_epoch_begin()
        steps = self.steps or self.num_batches
        self.ran_out = False
        try:
            if steps:
                if self._it is None or self.steps is None:
                    self._it, self._seen = self._new_iterator(), 0
                for _ in range(steps):
                    if self.num_batches and self._seen >= self.num_batches:
                        self.ran_out = bool(self.steps)
                        break
                    try:
                        raw = next(self._it)
                    except StopIteration:
                        self.ran_out, self._it = True, None
                        break
                    self._seen += 1
                    yield raw
                if self.num_batches and self._seen >= self.num_batches:
                    self.close()
            else:
                for raw in self._new_iterator():  # not `yield from`: closing this must not close a user's generator
                    yield raw
        except GeneratorExit:
            self.close()
            raise
        if data is not None:
            data.on_epoch_end()

    def close(self):
        """Abandon the current pass (a PyDataset's workers stop; a one-shot iterator is left as it is)."""
        it, self._it = self._it, None
        if it is not None and not self.one_shot and hasattr(it, "close"):
            it.close()


class Batch:
    """One checked batch: float32 C-contiguous x (n, in size), y (n, y size) or None, w (n,) or None.

    Once queued, x, y and w are views of a slot of the reader's `Slots`
    (`store`), starting at row `row`."""

    __slots__ = ("x", "y", "w", "n", "store", "row", "key")

    def __init__(self, x, y=None, w=None, store=None, row=0, key=None):
        self.x, self.y, self.w = x, y, w
        self.n = x.shape[0]
        self.store, self.row = store, row
        self.key = key  # the inputs' shapes, for a model with variable-length axes (`_prepare_x_key`)


class Slots:
    """Preallocated float32 rows for `count` batches of at most `rows` samples each.

    The reader copies every batch into the next free slot: no allocation per
    batch (a fresh copy of a few hundred KB costs an mmap and its page faults),
    a generator may refill its own buffer as soon as it has yielded it, and
    consecutive slots are one contiguous array, so a run of batches goes to the
    engine as a view, without stacking on the training thread."""

    def __init__(self, first, count):
        self.rows, self.count, self.key = first.n, count, first.key
        total = first.n * count
        self.x = np.empty((total, first.x.shape[1]), dtype=np.float32)
        self.y = None if first.y is None else np.empty((total, first.y.shape[1]), dtype=np.float32)
        self.w = None
        self.order = np.arange(total, dtype=np.int64)
        self.next = 0

    @staticmethod
    def count_for(batch):
        """Slots that fit the queue's bounds: `_QUEUE_BATCHES` batches and `_QUEUE_BYTES` bytes (at least one)."""
        width = batch.x.shape[1] + (0 if batch.y is None else batch.y.shape[1]) + 1
        return int(max(1, min(_QUEUE_BATCHES, _QUEUE_BYTES // (4 * width * batch.n))))

    def fits(self, batch):
        return (
            batch.n <= self.rows
            and (batch.y is None) == (self.y is None)
            and batch.key == self.key
            and batch.x.shape[1] == self.x.shape[1]
            and (batch.y is None or batch.y.shape[1] == self.y.shape[1])
        )

    def place(self, batch):
        """batch copied into the next slot (the caller made sure that slot is free)."""
        row = self.next * self.rows
        self.next = (self.next + 1) % self.count
        rows = slice(row, row + batch.n)
        np.copyto(self.x[rows], batch.x)
        y = w = None
        if batch.y is not None:
            y = self.y[rows]
            np.copyto(y, batch.y)
        if batch.w is not None:
            if self.w is None:
                self.w = np.empty(self.x.shape[0], dtype=np.float32)
            w = self.w[rows]
            np.copyto(w, batch.w)
        return Batch(self.x[rows], y, w, self, row, batch.key)


def unpack(raw, index, targets):
    """(x, y, sample_weight) from a raw batch, as Keras's `unpack_x_y_sample_weight`."""
    if isinstance(raw, list):
        raw = tuple(raw)
    if not isinstance(raw, tuple):
        raw = (raw,)
    if len(raw) not in (1, 2, 3) or (targets and len(raw) == 1):
        expected = "(x, y) or (x, y, sample_weight)" if targets else "x, (x,), (x, y) or (x, y, sample_weight)"
        raise ValueError(f"Each batch must be {expected}. Received: batch {index} is a tuple of length {len(raw)}")
    return raw + (None,) * (3 - len(raw))


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


_END = object()


class Reader:
    """A thread reading and checking batches into a bounded queue of slots.

    `take()` returns the batches ready (waiting for one); `release()` says the
    engine is done with some of them, in the order taken; the bound counts
    batches queued or taken and not released, one per slot. `close()` stops the
    thread between batches and joins it. The thread never reads ahead of its
    epoch's generator, so a batch of the next epoch is never consumed here.
    """

    def __init__(self, batches, convert, first, start_index=1):
        self._batches, self._convert, self._index = batches, convert, start_index
        self._cond = threading.Condition()
        self._slots = Slots(first, Slots.count_for(first))
        self._items = collections.deque([self._slots.place(first)])
        self._count = 1  # queued or taken, not released
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pytrainc-data", daemon=True)
        self._thread.start()

    def _place(self, item):
        if not self._slots.fits(item):  # a larger batch: new slots (batches queued keep the old ones alive)
            self._slots = Slots(item, Slots.count_for(item))
        return self._slots.place(item)

    def _run(self):
        end = _END
        try:
            for raw in self._batches:
                if self._stop:
                    return
                item = self._convert(raw, self._index)
                self._index += 1
                with self._cond:
                    while not self._stop and self._count >= self._slots.count:
                        self._cond.wait()
                    if self._stop:
                        return
                item = self._place(item)  # into a free slot: the engine reads none of it
                with self._cond:
                    self._items.append(item)
                    self._count += 1
                    self._cond.notify_all()
        except BaseException as exc:  # surfaces in the training thread, unchanged
            end = _Failure(exc)
        with self._cond:
            self._items.append(end)
            self._cond.notify_all()

    def take(self):
        """The batches ready, waiting for one; at most half the slots, so that the
        thread reads the next batches while the engine trains on these."""
        with self._cond:
            while not self._items:
                self._cond.wait(0.05)  # short waits: Ctrl-C is seen between them
            limit = max(1, self._slots.count // 2)
            items = []
            while self._items and (len(items) < limit or not isinstance(self._items[0], Batch)):
                items.append(self._items.popleft())
        return items

    def ready(self):
        """Whether take() would return without waiting."""
        with self._cond:
            return bool(self._items)

    def release(self, batches):
        with self._cond:
            self._count -= len(batches)
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._stop = True
            self._items.clear()
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(_JOIN_SECONDS)
            if not self._thread.is_alive() and hasattr(self._batches, "close"):
                self._batches.close()  # an epoch ended early: stops a PyDataset's workers now
            if self._thread.is_alive():
                warnings.warn(
                    f"The data reader thread is still inside the data's next() after {_JOIN_SECONDS:.0f} s; "
                    "it ends when that call returns",
                    stacklevel=3,
                )


class Chunk:
    """Batches for one engine call: count batches of batch_size rows (the last may be smaller)."""

    __slots__ = ("x", "y", "w", "order", "batch_size", "count", "key")

    def __init__(self, run):
        first, last = run[0], run[-1]
        store, rows = first.store, slice(first.row, last.row + last.n)
        self.x = store.x[rows]
        self.y = None if first.y is None else store.y[rows]
        self.w = None if first.w is None else store.w[rows]
        self.order = store.order[: rows.stop - rows.start]
        self.batch_size, self.count, self.key = first.n, len(run), first.key


def runs(batches, single=False):
    """Split batches into runs one engine call can take: equal sizes (a smaller last
    batch may end a run), all with sample weights or all without, in consecutive slots."""
    run = []
    for b in batches:
        prev = run[-1] if run else None
        if prev and (
            single
            or b.n > run[0].n
            or prev.n < run[0].n
            or (b.w is None) != (run[0].w is None)
            or b.store is not prev.store
            or b.row != prev.row + prev.n
        ):
            yield run
            run = []
        run.append(b)
    if run:
        yield run


def chunks(reader, single=False):
    """Engine calls' worth of batches as the reader makes them ready, until the epoch ends.

    The slots of a chunk are released only once the next chunk is ready, just
    before it is yielded to the engine call: the reader, woken by the release,
    then takes the GIL while the training thread is inside the engine, instead
    of while the training thread still has Python to run (each such contention
    costs up to the interpreter's 5 ms switch interval).

    Raises:
        The reader's exception (the data's own, or a check's ValueError), unchanged.
    """
    done = []
    try:
        while True:
            if done and not reader.ready():
                reader.release(done)  # nothing queued: free the slots first, the reader may need them
                done = []
            items = reader.take()
            batches, end = [], None
            for item in items:
                if item is _END or isinstance(item, _Failure):
                    end = item
                    break
                batches.append(item)
            for run in runs(batches, single):
                if done:
                    reader.release(done)
                done = run
                yield Chunk(run)
            if isinstance(end, _Failure):
                raise end.exc
            if end is _END:
                return
    finally:
        if done:
            reader.release(done)
