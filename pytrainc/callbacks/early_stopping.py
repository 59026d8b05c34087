"""`EarlyStopping`: stops training when a monitored metric has stopped improving."""

from typing import List, Optional

import numpy as np

from pytrainc.callbacks._util import _check_finite_number, _check_int, _print
from pytrainc.callbacks.history import History
from pytrainc.callbacks.monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored metric has stopped improving.

    At the end of each epoch from `start_from_epoch` on, the callback counts
    one more epoch in `wait`. If the monitored value beats the best so far by
    more than `min_delta`, it becomes the new best and `wait` goes back to 0
    (when `baseline` is set, only if the value also beats `baseline`).
    Otherwise, once `wait >= patience` (and the epoch is not the first one),
    it sets `model.stop_training = True`. This is Keras 3's algorithm. A NaN or
    infinite value is never an improvement.

    One instance can serve several `fit()` calls: all its state is reset in
    `on_train_begin`.

    Args:
        monitor: Key of the monitored quantity in the epoch logs. Defaults to
            `"val_loss"`.
        min_delta: Minimum change that counts as an improvement; its absolute
            value is used, and a change of exactly `min_delta` is not an
            improvement. Defaults to `0`.
        patience: Number of epochs without improvement after which training
            stops. Defaults to `0`.
        verbose: 0 (silent) or 1 (print a message when the callback stops
            training or restores weights). Defaults to `0`.
        mode: One of `"auto"`, `"min"`, `"max"`: whether the monitored quantity
            should decrease or increase; `"auto"` infers it (see
            `MonitorCallback`). Defaults to `"auto"`.
        baseline: Value the monitored quantity has to beat. If no epoch beats
            it, training stops after `patience` epochs without improvement over
            the best value. Defaults to `None`.
        restore_best_weights: Whether to restore, at the end of training, the
            weights of the epoch with the best monitored value (whatever ended
            training: this callback, another callback, or the last epoch). If
            no epoch improved, the weights of the first monitored epoch are
            restored. The restored epoch is recorded in `restored_epoch` and
            in the model's `History` (`model.history.restored_epoch`), which
            `History.plot()` marks. Defaults to `False`.
        start_from_epoch: Number of epochs to ignore before monitoring starts
            (a warm-up period). Defaults to `0`.

    Attributes:
        wait: Epochs counted since the last reset.
        best: Best monitored value so far.
        best_epoch: Index of the epoch with the best value.
        best_weights: Copy of the weights of that epoch (only when
            `restore_best_weights`), or `None`.
        stopped_epoch: Index of the epoch at which training was stopped, or 0.
        restored_epoch: Index of the epoch whose weights were restored at the
            end of the last `fit()`, or `None`.

    Raises:
        TypeError: If `patience` or `start_from_epoch` is not an integer, or
            `monitor`, `min_delta` or `baseline` has the wrong type.
        ValueError: If `patience` or `start_from_epoch` is negative, or
            `min_delta` / `baseline` is not finite.

    Example:

    >>> callback = EarlyStopping(monitor="loss", patience=3)
    >>> # Stops when the loss has not improved for three consecutive epochs.
    >>> # With a model: `model.fit(x, y, epochs=10, callbacks=[callback])`.
    >>> class TinyModel:
    ...     stop_training = False
    >>> callback.set_model(TinyModel())
    >>> callback.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 1.2, 1.1, 1.3, 0.9, 0.8]):
    ...     callback.on_epoch_end(epoch, {"loss": loss})
    ...     if callback.model.stop_training:
    ...         break
    >>> callback.stopped_epoch  # Epoch 0 was the best: 4 epochs ran.
    3
    """

    _monitor_subject = "Early stopping"
    _backup_state = {
        "wait": int,
        "stopped_epoch": int,
        "best": float,
        "best_weights": Optional[List[np.ndarray]],
        "best_epoch": int,
    }

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        # `baseline` here is a target to beat, not the initial best, so it is
        # not passed to MonitorCallback (as in Keras).
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        owner = type(self).__name__
        self.patience = _check_int(owner, "patience", patience)
        self.start_from_epoch = _check_int(owner, "start_from_epoch", start_from_epoch)
        if baseline is not None:
            baseline = _check_finite_number(owner, "baseline", baseline)
        self.baseline = baseline
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        # Everything is reset so that one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.restored_epoch = None
        self._set_monitor_op()
        self._reset_best()

    def _copy_weights(self):
        # The engine may hand out views into its parameter buffer that the
        # next epoch overwrites in place, so keep real copies.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
            self._reset_best()

        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until some epoch improves, the first monitored one is the best.
            self.best_weights = self._copy_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._copy_weights()
            # Restart the count only if the value beats the baseline as well.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
            self.restored_epoch = self.best_epoch
            history = getattr(self.model, "history", None)
            if isinstance(history, History):
                history.restored_epoch = self.best_epoch
