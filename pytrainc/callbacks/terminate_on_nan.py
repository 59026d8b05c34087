"""`TerminateOnNaN`: stops training at the first batch whose loss is not finite."""

import math

from pytrainc.callbacks._util import _print
from pytrainc.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite.

    As in Keras, it prints `Batch N: Invalid loss, terminating training`
    (with the batch index within the epoch, from 0) and sets
    `model.stop_training = True`, so that `fit()` ends the epoch there and
    runs `on_epoch_end` and `on_train_end` as usual; with `raise_error=True`
    it raises a `RuntimeError` instead, skipping that cleanup.

    It does not make `fit()` leave the C engine after every batch: the engine
    checks the loss of each batch itself and stops the epoch right after the
    first non-finite one (`_engine_batch_hook = "nonfinite_loss"`), and
    `fit()` then calls `on_train_batch_end` for that batch only. When some
    other callback makes `fit()` run batch by batch, it is called after every
    batch instead, like any callback.

    Args:
        raise_error: Whether to raise a `RuntimeError` instead of stopping
            training gracefully. Defaults to `False`.

    Example:

    >>> # model.fit(x, y, epochs=100, callbacks=[TerminateOnNaN()])
    """

    _engine_batch_hook = "nonfinite_loss"

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = bool(raise_error)
        self._reported = None

    def on_train_begin(self, logs=None):
        self._reported = None

    def on_epoch_begin(self, epoch, logs=None):
        self._reported = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        try:
            finite = math.isfinite(float(loss))
        except (TypeError, ValueError):
            return  # Not a scalar: nothing to check.
        if finite:
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating training immediately."
            )
        if self._reported == batch and self.model.stop_training:
            return  # Already reported by the other route for this batch.
        self._reported = batch
        _print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
