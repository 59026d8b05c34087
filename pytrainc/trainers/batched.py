"""fit/evaluate/predict over data in batches, and Keras 3's epoch rules for arrays.

`Trainer` inherits these. An epoch of batched data is a series of engine calls,
each on the batches the reader thread has ready (see `data_adapters`); the GIL
is released during each call, so reading the next batches overlaps training.
"""

import contextlib
import warnings

import numpy as np

from pytrainc.trainers import data_adapters
from pytrainc.trainers.data import _as_array, _interruptible

_NO_BATCH = object()


def _validation_schedule(freq):
    """fit's validation_freq as a function of the (0-based) epoch, as Keras 3's `_should_eval`."""
    is_int = isinstance(freq, (int, np.integer)) and not isinstance(freq, bool)
    if is_int and freq >= 1:
        return lambda epoch: (epoch + 1) % int(freq) == 0
    if isinstance(freq, (list, tuple, set)) and all(
        isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in freq
    ):
        epochs = {int(e) for e in freq}
        return lambda epoch: epoch + 1 in epochs
    raise ValueError(
        "Expected `validation_freq` to be a positive int or a list of (1-based) epochs. "
        f"Received: validation_freq={freq!r} of type {type(freq).__name__}"
    )


class _ArrayEpochs:
    """The batches of arrays each epoch trains on, with Keras 3's steps_per_epoch:
    an epoch takes that many batches, the next continues the same pass, and a pass
    ends at the data's end (a new shuffle starts the next one)."""

    def __init__(self, n, steps):
        self.n, self.steps = n, steps
        self.pos, self.perm, self.batch_size = 0, None, None

    def starts_pass(self, batch_size):
        if batch_size != self.batch_size:  # a BatchSizeScheduler changed it: a new pass
            self.pos, self.batch_size = 0, batch_size
        return self.pos == 0

    def take(self, x, y, w, ordered):
        """(x, y, w, perm) for this epoch: all of it, or the epoch's batches as rows of their own."""
        if self.steps is None:
            return x, y, w, self.perm
        bs = self.batch_size
        total = -(-self.n // bs)
        if self.pos + self.steps > total:
            warnings.warn(data_adapters.RAN_OUT, stacklevel=4)
        end = min(self.pos + self.steps, total)
        lo, hi = self.pos * bs, min(end * bs, self.n)
        self.pos = 0 if end == total else end
        if lo == 0 and hi == self.n:
            return x, y, w, self.perm
        if self.perm is ordered:
            rows = slice(lo, hi)
        else:
            rows = self.perm[lo:hi]
        return x[rows], y[rows], None if w is None else w[rows], ordered[: hi - lo]


class BatchedTrainer:
    """The batched-data half of `Trainer`."""

    def _batch_converter(self, feed, targets):
        """A function checking one raw batch into a `data_adapters.Batch` (run on the reader thread).

        The batch may still share memory with the data's own arrays: the reader
        copies it into a slot before it asks the data for the next one."""

        def convert(raw, index):
            x, y, w = data_adapters.unpack(raw, index, targets)
            x_name = f"x (batch {index})"
            # Several inputs or outputs come as lists or dicts of arrays, which _prepare_x/_y join.
            several_in = self.built and len(self._graph["inputs"]) > 1
            x32, key = self._prepare_x_key(x if several_in else _as_array(x, x_name), x_name)
            if not targets:
                return data_adapters.Batch(x32, key=key)
            y_name = f"y (batch {index})"
            several_out = len(self._graph["outputs"]) > 1
            y = y if several_out else _as_array(y, y_name)
            y32, y_shapes = self._prepare_y(y, x32.shape[0], y_name, x_name, key)
            self._check_batch_broadcast(x32.shape[0], x32.shape[0])  # as for arrays: batches of one sample only
            if self._metrics is None:  # the first batch, on the calling thread
                self._resolve_metrics(y_shapes)
            else:
                self._check_targets_like(y_shapes, y_name)
            w32 = None
            if w is not None:
                w32 = self._prepare_sample_weights(w, None, y32, x32.shape[0], f"sample_weight (batch {index})")
            return data_adapters.Batch(x32, y32, w32, key=key)

        return convert

    def _feed_first(self, feed, targets):
        """(epoch generator, its first batch checked here, converter), or None for an epoch with no batch.

        The first batch is read on the calling thread: it builds the model and
        resolves the metrics before the reader thread starts.
        """
        batches = feed.epoch()
        raw = next(batches, _NO_BATCH)
        if raw is _NO_BATCH:
            return None
        convert = self._batch_converter(feed, targets)
        return batches, convert(raw, 0), convert

    def _feed_chunks(self, pending, plan_box, single=False):
        """Engine-call chunks of one epoch, growing the plan for the largest batch seen (and taking the
        plan of each chunk's input shapes, for a model with variable-length axes)."""
        batches, first, convert = pending
        reader = data_adapters.Reader(batches, convert, first)
        try:
            for chunk in data_adapters.chunks(reader, single):
                if chunk.key != self.__dict__.get("_plan_key") or chunk.batch_size > plan_box[0].max_batch:
                    plan_box[0] = self._ensure_plan(chunk.batch_size, chunk.key)
                yield chunk
        finally:
            reader.close()

    def _fit_feed_epoch(self, feed, pending, cbs):
        """One epoch over batched data; the epoch's logs."""
        plan_box = [self._ensure_plan(pending[1].n, pending[1].key)]
        sums = np.zeros(plan_box[0].n_sums)
        per_batch = cbs.has_train_batch_hooks
        progress = cbs.has_train_progress_hooks
        stop_nonfinite = "nonfinite_loss" in cbs.engine_batch_hooks
        interruptible = _interruptible()
        b = 0
        with contextlib.closing(self._feed_chunks(pending, plan_box, single=per_batch)) as chunks:  # joins the reader
            for chunk in chunks:
                if per_batch:
                    cbs.on_train_batch_begin(b)
                _, done, last, bad = plan_box[0].train(
                    chunk.x,
                    chunk.y,
                    chunk.order,
                    chunk.batch_size,
                    0,
                    chunk.count,
                    interruptible,
                    stop_nonfinite,
                    chunk.w,
                    sums,
                )
                b += done
                if per_batch or progress or bad:
                    logs = self._logs(sums)
                    if bad:
                        cbs.on_engine_batch_end("nonfinite_loss", b - 1, {**logs, "loss": last})
                    if per_batch:
                        cbs.on_train_batch_end(b - 1, logs)
                    elif progress:
                        cbs.on_train_progress(b, logs)
                if bad or self.stop_training:
                    break
        if feed.ran_out:
            warnings.warn(data_adapters.RAN_OUT, stacklevel=4)
        if cbs.params.get("steps") is None:
            cbs.params["steps"] = b  # known after one pass, as in Keras
        return self._logs(sums)

    def _evaluate_feed(self, feed):
        """(the engine's sums, batches) over one pass of batched data, or (None, 0) when it yields no batch."""
        pending = self._feed_first(feed, targets=True)
        if pending is None:
            return None, 0
        plan_box = [self._ensure_plan(pending[1].n, pending[1].key)]
        sums = np.zeros(plan_box[0].n_sums)
        interruptible = _interruptible()
        batches = 0
        with contextlib.closing(self._feed_chunks(pending, plan_box)) as chunks:
            for chunk in chunks:
                plan_box[0].evaluate(chunk.x, chunk.y, chunk.batch_size, interruptible, chunk.w, sums)
                batches += chunk.count
        return sums, batches

    def _predict_feed(self, feed):
        """(outputs (n, output size) for every batch of batched data in order, batches)."""
        pending = self._feed_first(feed, targets=False)
        if pending is None:
            raise ValueError("predict needs at least one batch. Received: x yielded no batch")
        plan_box = [self._ensure_plan(pending[1].n, pending[1].key)]
        interruptible = _interruptible()
        outs, batches, keys = [], 0, {pending[1].key}
        with contextlib.closing(self._feed_chunks(pending, plan_box)) as chunks:
            for chunk in chunks:
                keys.add(chunk.key)
                if len(keys) > 1:
                    raise ValueError(
                        "predict on batches of several input shapes "
                        f"({', '.join(str(k) for k in sorted(keys, key=str))}): their outputs have different "
                        "shapes and cannot be joined into one array. Predict each shape's batches on its own"
                    )
                outs.append(plan_box[0].predict(chunk.x, chunk.batch_size, interruptible))
                batches += chunk.count
        return (np.concatenate(outs) if len(outs) > 1 else outs[0]), batches, pending[1].key
