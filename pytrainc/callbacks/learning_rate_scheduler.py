"""`LearningRateScheduler`: sets the learning rate at the start of every epoch."""

import inspect
import numbers

import numpy as np

from pytrainc.callbacks._util import _check_verbose, _get_learning_rate, _print, _set_learning_rate
from pytrainc.callbacks.callback import Callback


def _positional_arity(function):
    """How many positional arguments `function` accepts (None if unknown, 2 if *args)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch from a function.

    At the beginning of every epoch the callback calls
    `schedule(epoch, learning_rate)` with the epoch index (from 0) and the
    current rate, and sets `model.optimizer.learning_rate` to the result,
    which reaches the C engine for that epoch. A `schedule(epoch)` taking
    one argument is also accepted, as in Keras. At the end of the epoch the
    rate is recorded in `logs["learning_rate"]`.

    For a rate that changes at every step, pass a
    `pytrainc.optimizers.schedules.LearningRateSchedule` to the optimizer
    instead: the engine evaluates it inside the epoch. An optimizer created
    with such a schedule cannot be changed by this callback (`TypeError`).

    Args:
        schedule: A function `(epoch, learning_rate) -> new learning rate`
            (a float > 0), or `(epoch) -> new learning rate`.
        verbose: 0 (quiet) or 1 (print the rate set at every epoch).
            Defaults to `0`.

    Raises:
        TypeError: If `schedule` is not callable, or (during `fit()`) if the
            optimizer was created with a `LearningRateSchedule`.
        ValueError: During `fit()`, if `schedule` returns something that is
            not a finite number > 0.

    Example:

    >>> # Keep the initial rate for ten epochs, then decrease it exponentially.
    >>> def scheduler(epoch, lr):
    ...     if epoch < 10:
    ...         return lr
    ...     return lr * math.exp(-0.1)
    >>> callback = LearningRateScheduler(scheduler)
    >>> # model.compile(optimizer=SGD(0.01), loss="mse")
    >>> # model.fit(x, y, epochs=15, callbacks=[callback], verbose=0)
    >>> # round(model.optimizer.learning_rate, 5) -> 0.00607
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler expects `schedule` to be a function "
                "(epoch, learning_rate) -> learning_rate. "
                f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = _check_verbose(type(self).__name__, verbose)
        arity = _positional_arity(schedule)
        self._one_argument = arity == 1

    def _call_schedule(self, epoch, learning_rate):
        if self._one_argument:
            return self.schedule(epoch)
        return self.schedule(epoch, learning_rate)

    def on_epoch_begin(self, epoch, logs=None):
        owner = type(self).__name__
        learning_rate = self._call_schedule(epoch, _get_learning_rate(owner, self.model))
        if isinstance(learning_rate, (bool, np.bool_)) or not isinstance(
            learning_rate, (numbers.Real, np.floating, np.integer)
        ):
            raise ValueError(
                "The output of the `schedule` function should be a float. "
                f"Got: {learning_rate!r} of type {type(learning_rate).__name__}"
            )
        learning_rate = float(learning_rate)
        _set_learning_rate(owner, self.model, learning_rate)
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_learning_rate(type(self).__name__, self.model)
