"""`ModelCheckpoint`: saves the model or its weights during training."""

import numbers
import os
import string
from typing import Optional

import numpy as np

from pytrainc.callbacks._util import _check_verbose, _fspath, _print, _warn
from pytrainc.callbacks.monitor_callback import MonitorCallback


def _check_checkpoint_suffix(path, save_weights_only):
    lower = path.lower()
    if save_weights_only and lower.endswith(".keras"):
        raise ValueError(
            "ModelCheckpoint with save_weights_only=True writes weights, and a "
            "'.keras' file holds a whole model. Use save_weights_only=False to "
            "write Keras 3's '.keras' format, or a weights path such as "
            f"'ckpt/{{epoch:02d}}.weights.h5'. Received: filepath={path!r}"
        )
    if not save_weights_only and lower.endswith(".npz"):
        raise ValueError(
            "ModelCheckpoint saves a whole model (architecture, weights and "
            "optimizer state) with model.save, not as '.npz'. Pass "
            "save_weights_only=True to write the weights to a '.npz' file, or "
            f"use '.keras' or '.ptc'. Received: filepath={path!r}"
        )


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights during training.

    At the end of every epoch (or every `save_freq` batches), the callback
    saves the whole model with `model.save(path)` (architecture, weights and
    optimizer state, loaded back with `pytrainc.models.load_model`) or, with
    `save_weights_only=True`, the weights with `model.save_weights(path)`
    (loaded back with `model.load_weights(path)`). Both write atomically, so
    an interrupted save never damages the previous checkpoint.

    `filepath` may contain named formatting options, filled with `epoch`
    (counted from 1, as in Keras's messages), `batch` (from 1, when saving
    every `save_freq` batches) and the keys of the logs:
    `"ckpt/weights.{epoch:02d}-{val_loss:.2f}.safetensors"` gives
    `ckpt/weights.03-0.41.safetensors`. Missing directories are created.

    With `save_best_only=True` the model is saved only when the monitored
    value improves on the best so far (by the rules of `MonitorCallback`: a
    NaN or infinite value never improves); without formatting options in
    `filepath`, the single file then always holds the best model.

    Args:
        filepath: str or `os.PathLike`, where to save. For whole models
            (`model.save`): `.keras` (Keras 3's format), `.ptc` (pytrainc's)
            or `.h5`. For weights (`save_weights_only=True`): `.weights.h5`
            (Keras 3's), `.h5`, `.npz` or any other extension for the
            safetensors layout; `.keras` is refused there (`ValueError`).
        monitor: The metric name to monitor, such as `"val_loss"` or
            `"val_accuracy"` (only used with `save_best_only=True`). Defaults
            to `"val_loss"`.
        verbose: 0 (silent) or 1 (print a message when the callback saves or
            skips). Defaults to `0`.
        save_best_only: Whether to save only when the monitored value
            improves. Defaults to `False`.
        save_weights_only: Whether to save only the weights
            (`model.save_weights`) instead of the whole model (`model.save`).
            Defaults to `False`.
        mode: One of `"auto"`, `"min"`, `"max"`: whether a lower or a higher
            monitored value is better; `"auto"` infers it from the name (see
            `MonitorCallback`). Defaults to `"auto"`.
        save_freq: `"epoch"` to save at the end of every epoch, or a positive
            integer to save every that many batches (which makes `fit()` run
            batch by batch; the monitored value is then the running average
            of the current epoch). Defaults to `"epoch"`.
        initial_value_threshold: Initial "best" value of the monitored
            metric, used with `save_best_only=True`: a checkpoint is written
            only when the model beats it. Defaults to `None`.

    Raises:
        ValueError: If `filepath` ends in `.keras` with `save_weights_only`
            (or in `.npz` without it), has positional `{}` fields, or `save_freq`
            is not `"epoch"` or a positive integer; when training starts, if
            `mode="auto"` cannot tell the direction of `monitor`.
        KeyError: At save time, if `filepath` names a key missing from the
            logs (the message lists the keys available).

    Example:

    >>> checkpoint = ModelCheckpoint(
    ...     "ckpt/best.keras", monitor="val_accuracy", mode="max", save_best_only=True)
    >>> # model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    >>> # best = pytrainc.models.load_model("ckpt/best.keras")
    """

    _backup_state = {
        "best": Optional[float],
        "_batches_seen_since_last_saving": int,
        "_last_batch_seen": int,
    }

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        owner = type(self).__name__
        self.filepath = _fspath(owner, "filepath", filepath)
        self.verbose = _check_verbose(owner, verbose)
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch":
            if isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral) or save_freq < 1:
                raise ValueError(
                    f"Unrecognized save_freq: {save_freq!r}. Expected save_freq "
                    "are 'epoch' or a positive integer (a number of batches)."
                )
            save_freq = int(save_freq)
        self.save_freq = save_freq
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(self.filepath)]
        except ValueError as exc:
            raise ValueError(
                f"ModelCheckpoint cannot use filepath={self.filepath!r} as a "
                f"format string: {exc}. Double literal braces: '{{{{' and '}}}}'."
            ) from None
        if any(field is not None and (field == "" or field.isdigit()) for field in fields):
            raise ValueError(
                "ModelCheckpoint expects named formatting options in `filepath`, "
                "such as '{epoch:02d}' or '{val_loss:.2f}'; positional fields "
                f"('{{}}', '{{0}}') have nothing to fill them. Received: "
                f"filepath={self.filepath!r}"
            )
        if not self.filepath.endswith("}"):
            _check_checkpoint_suffix(self.filepath, self.save_weights_only)
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

    @property
    def _train_batch_hooks_needed(self):
        return self.save_freq != "epoch"

    def on_train_begin(self, logs=None):
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self.monitor_op = None
        self.best = self._initial_best
        if self.save_best_only:
            # Fails early when mode="auto" cannot tell the direction.
            self._set_monitor_op()
            self._reset_best()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # A new epoch.
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch, batch, logs):
        """Fills the formatting options of `filepath` (`epoch` and `batch` from 1)."""
        logs = logs or {}
        values = dict(logs)
        values["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            values["batch"] = batch + 1
        try:
            return self.filepath.format_map(values)
        except KeyError as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". '
                f"Reason: {exc} is not in the logs. Available keys: "
                f"{', '.join(values)}"
            ) from None
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {exc}. Values: {values!r}'
            ) from None

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            _warn(f"Can save best model only with {self.monitor} available.")
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            _warn(
                "Can save best model only when `monitor` is a scalar value. "
                f"Received: {current}. Falling back to `save_best_only=False`."
            )
            return True
        current = self.get_monitor_value(logs)
        if self.monitor_op is None:
            self._set_monitor_op()
            if self.best is None:
                self._reset_best()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {best_str} "
                    f"to {current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        _check_checkpoint_suffix(filepath, self.save_weights_only)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: finished saving model to {filepath}")
