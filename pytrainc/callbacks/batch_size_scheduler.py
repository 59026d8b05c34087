"""`BatchSizeScheduler`: changes the training batch size between epochs."""

import numbers

import numpy as np

from pytrainc.callbacks._util import _check_int, _check_verbose, _print
from pytrainc.callbacks.callback import Callback


class BatchSizeScheduler(Callback):
    """Changes the training batch size between epochs (pytrainc-specific).

    Increasing the batch size during training has the effect of decaying the
    learning rate, with fewer, larger steps (Smith, Kindermans, Ying and Le,
    "Don't Decay the Learning Rate, Increase the Batch Size", ICLR 2018,
    arXiv:1711.00489). Give either a function or a rule:

    - `schedule(epoch, batch_size) -> int`: called at the start of every
      epoch with the epoch index (from 0) and the current batch size;
    - `every=N` (with `factor=2`): the batch size of `fit()` multiplied by
      `factor` every `N` epochs, `batch_size * factor ** (epoch // N)`, so
      epochs `0..N-1` use `fit`'s batch size, `N..2N-1` twice it, and so on.
      This is the common loop `if epoch % N == 0: batch_size *= 2`, applied
      from epoch `N` on (not after epoch 0), and it gives the right size
      when training resumes with `initial_epoch`.

    `max_batch_size` caps the result of either. The batch size in use during
    every epoch is recorded in `logs["batch_size"]` at its end (every epoch,
    so the `History` lists stay aligned), and the callback prints a message
    when the size changes with `verbose=1`.

    How it reaches `fit()`: `fit()` keeps the current batch size in
    `model._train_batch_size` and reads it again after `on_epoch_begin` to
    compute the epoch's steps; this callback sets it there.

    Args:
        schedule: Function `(epoch, batch_size) -> new batch size` (a
            positive int), or `None` to use the rule. Defaults to `None`.
        every: Positive int: multiply the batch size by `factor` every
            `every` epochs. Defaults to `None`.
        factor: Int >= 2, the multiplier of the rule. Defaults to `2`.
        max_batch_size: Positive int capping the batch size, or `None`.
            Defaults to `None`.
        verbose: 0 (quiet) or 1 (print the batch size when it changes).
            Defaults to `0`.

    Raises:
        ValueError: If both or neither of `schedule` and `every` are given,
            `every`/`max_batch_size` is not positive, `factor < 2`; during
            `fit()`, if `max_batch_size` is smaller than `fit`'s batch size or
            `schedule` returns a value that is not a positive integer.
        TypeError: If an argument, or a value returned by `schedule`, has the
            wrong type.

    Example:

    >>> # Double the batch size every 10 epochs, up to 1024.
    >>> callback = BatchSizeScheduler(every=10, max_batch_size=1024)
    >>> # model.fit(x, y, batch_size=64, epochs=40, callbacks=[callback])
    >>> # history.history["batch_size"] -> [64]*10 + [128]*10 + [256]*10 + [512]*10
    """

    _backup_state = {"batch_size": int}

    def __init__(self, schedule=None, every=None, factor=2, max_batch_size=None, verbose=0):
        super().__init__()
        owner = type(self).__name__
        if (schedule is None) == (every is None):
            raise ValueError(
                "BatchSizeScheduler expects exactly one of `schedule` (a function "
                "(epoch, batch_size) -> batch_size) and `every` (multiply the "
                "batch size by `factor` every `every` epochs). Received: "
                f"schedule={schedule!r}, every={every!r}"
            )
        if schedule is not None and not callable(schedule):
            raise TypeError(
                "BatchSizeScheduler expects `schedule` to be a function "
                "(epoch, batch_size) -> batch_size. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        if every is not None:
            every = _check_int(owner, "every", every, minimum=1)
        if isinstance(factor, bool) or not isinstance(factor, numbers.Integral):
            raise TypeError(
                "BatchSizeScheduler expects `factor` to be an integer >= 2. "
                f"Received: factor={factor!r} of type {type(factor).__name__}"
            )
        if factor < 2:
            raise ValueError(f"BatchSizeScheduler expects `factor` to be an integer >= 2. Received: factor={factor}")
        if max_batch_size is not None:
            max_batch_size = _check_int(owner, "max_batch_size", max_batch_size, minimum=1)
        self.schedule = schedule
        self.every = every
        self.factor = int(factor)
        self.max_batch_size = max_batch_size
        self.verbose = _check_verbose(owner, verbose)
        self.initial_batch_size = None
        self.batch_size = None

    def _model_batch_size(self):
        value = getattr(self.model, "_train_batch_size", None)
        if value is None:
            raise RuntimeError(
                "BatchSizeScheduler needs a model whose fit() keeps its batch "
                "size in `model._train_batch_size`; this model has none. "
                f"Received: model of type {type(self.model).__name__}"
            )
        return value

    def _check_result(self, epoch, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
            raise TypeError(
                "BatchSizeScheduler expects `schedule` to return a positive "
                f"integer. Received: {value!r} of type {type(value).__name__} "
                f"at epoch {epoch}"
            )
        if value < 1:
            raise ValueError(
                "BatchSizeScheduler expects `schedule` to return a positive "
                f"integer. Received: {value} at epoch {epoch}"
            )
        return int(value)

    def on_train_begin(self, logs=None):
        initial = self._model_batch_size()
        if isinstance(initial, bool) or not isinstance(initial, (numbers.Integral, np.integer)) or initial < 1:
            raise ValueError(
                f"BatchSizeScheduler expects the model's batch size to be a positive integer. Received: {initial!r}"
            )
        initial = int(initial)
        if self.max_batch_size is not None and self.max_batch_size < initial:
            raise ValueError(
                "BatchSizeScheduler's `max_batch_size` must be at least the "
                f"batch size passed to fit(). Received: max_batch_size="
                f"{self.max_batch_size}, batch_size={initial}"
            )
        self.initial_batch_size = initial
        self.batch_size = initial

    def on_epoch_begin(self, epoch, logs=None):
        if self.initial_batch_size is None:  # Used outside fit().
            self.on_train_begin()
        current = int(self._model_batch_size())
        if self.schedule is not None:
            new = self._check_result(epoch, self.schedule(epoch, current))
        else:
            new = self.initial_batch_size * self.factor ** (epoch // self.every)
        if self.max_batch_size is not None:
            new = min(new, self.max_batch_size)
        if new != current:
            self.model._train_batch_size = new
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: BatchSizeScheduler setting batch size to {new}.")
        self.batch_size = new

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.batch_size is not None:
            logs["batch_size"] = self.batch_size
