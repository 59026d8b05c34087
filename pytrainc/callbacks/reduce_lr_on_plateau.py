"""`ReduceLROnPlateau`: lowers the learning rate when a metric has stopped improving."""

import warnings

import numpy as np

from pytrainc.callbacks._util import (
    _check_finite_number,
    _check_int,
    _check_verbose,
    _get_learning_rate,
    _print,
    _set_learning_rate,
)
from pytrainc.callbacks.monitor_callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Reduces the learning rate when a metric has stopped improving.

    Models often benefit from reducing the learning rate by a factor of 2-10
    once learning stagnates. At the end of every epoch the callback records
    the learning rate used during that epoch in `logs["learning_rate"]` (so
    it appears in `History`, `CSVLogger` and `TensorBoard`), then, as in Keras
    3: during a cooldown it counts the cooldown down and keeps `wait` at 0; a
    value that beats the best by more than `min_delta` becomes the new best
    and resets `wait`; otherwise, outside a cooldown, `wait` grows by one, and
    when it reaches `patience` the rate becomes
    `max(learning_rate * factor, min_lr)` (unless it is already at `min_lr`),
    a cooldown of `cooldown` epochs starts and `wait` goes back to 0.

    The new rate is set with `model.optimizer.learning_rate = new_lr`, which
    reaches the C engine before the next epoch. An optimizer created with a
    `LearningRateSchedule` cannot be changed: the callback then raises a
    `TypeError` when it first tries to reduce the rate.

    Unlike Keras 3's, which tells directions apart by the substring `"acc"`,
    `mode="auto"` infers the direction like the other monitoring callbacks
    (see `MonitorCallback`), and a NaN or infinite value is never an
    improvement.

    Args:
        monitor: Key of the monitored quantity in the epoch logs. Defaults to
            `"val_loss"`.
        factor: Factor by which the learning rate is multiplied, in (0, 1).
            Defaults to `0.1`.
        patience: Number of epochs without improvement after which the rate
            is reduced. Defaults to `10`.
        verbose: 0 (quiet) or 1 (print a message when the rate is reduced).
            Defaults to `0`.
        mode: One of `"auto"`, `"min"`, `"max"`. Defaults to `"auto"`.
        min_delta: Threshold for measuring the new optimum, to only focus on
            significant changes. Defaults to `1e-4`.
        cooldown: Number of epochs to wait before resuming normal operation
            after the rate has been reduced. Defaults to `0`.
        min_lr: Lower bound on the learning rate, >= 0. Defaults to `0.0`.

    Raises:
        ValueError: If `factor >= 1` or `factor <= 0`, `patience`/`cooldown`
            is negative, `min_lr` is negative, or, when training starts,
            `mode="auto"` cannot tell the direction of `monitor`.
        TypeError: If an argument has the wrong type.

    Example:

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2,
    ...                               patience=5, min_lr=0.001)
    >>> # model.fit(x, y, validation_split=0.2, callbacks=[reduce_lr])
    """

    _monitor_subject = "Learning rate reduction is"
    _backup_state = {"wait": int, "cooldown_counter": int, "best": float}

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        if "epsilon" in kwargs:  # Keras 2's name, which Keras 3 still takes with this warning
            min_delta = kwargs.pop("epsilon")
            warnings.warn(
                "`epsilon` argument is deprecated and will be removed, use `min_delta` instead.", stacklevel=2
            )
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected keyword argument(s): {sorted(kwargs)}")
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        owner = type(self).__name__
        factor = _check_finite_number(owner, "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        if factor <= 0.0:
            raise ValueError(
                "ReduceLROnPlateau expects a factor in (0, 1): the new rate is "
                f"`learning_rate * factor`. Received factor={factor}"
            )
        min_lr = _check_finite_number(owner, "min_lr", min_lr)
        if min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau expects `min_lr` >= 0. Received: min_lr={min_lr}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = _check_int(owner, "patience", patience)
        self.cooldown = _check_int(owner, "cooldown", cooldown)
        self.verbose = _check_verbose(owner, verbose)
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0
        self._set_monitor_op()
        self._reset_best()

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """Whether the callback is in a cooldown after a reduction."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        owner = type(self).__name__
        # The rate used during this epoch, before any reduction (as Keras).
        logs["learning_rate"] = _get_learning_rate(owner, self.model)
        if self.monitor_op is None:  # Used outside fit().
            self._reset()
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_learning_rate(owner, self.model)
                # Keras compares with min_lr rounded to float32, so a rate
                # already clamped to min_lr is not "reduced" again.
                if old_lr > float(np.float32(self.min_lr)):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_learning_rate(owner, self.model, new_lr)
                    if self.verbose > 0:
                        _print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
