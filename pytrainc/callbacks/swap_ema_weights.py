"""`SwapEMAWeights`: evaluates (and checkpoints) with the optimizer's moving average of the weights."""

from pytrainc.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's EMA weights around evaluation, as Keras 3.

    Use it with an optimizer built with `use_ema=True`: `evaluate()` and `predict()`
    run on the moving average of the weights (Polyak averaging) and the trained
    weights come back afterwards. The swap is in place, between the model's
    trainable weights and the optimizer's `ema` state.

    pytrainc's `fit()` validates without `on_test_begin`/`on_test_end` (unlike
    Keras), so the validation metrics of `fit()` use the trained weights; with
    `swap_on_epoch=True` the EMA weights are in the model from the end of each
    epoch (for `ModelCheckpoint` placed after this callback) to the start of the
    next, and at the end of training the EMA keeps the trained weights, as Keras.

    Args:
        swap_on_epoch: Whether to swap at `on_epoch_end()` and back at
            `on_epoch_begin()`. Defaults to `False`.

    Raises:
        ValueError: at a swap, if the model's optimizer was not created with `use_ema=True`.

    Example:

    >>> # model.compile(optimizer=pytrainc.optimizers.SGD(use_ema=True), loss="mse")
    >>> # model.fit(x, y, callbacks=[pytrainc.callbacks.SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._ema_weights_in_model = False

    def _ema(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not optimizer.use_ema or "ema" not in optimizer._state:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer (and the model has "
                f"trained). Received: use_ema={getattr(optimizer, 'use_ema', None)}"
            )
        return optimizer._state["ema"]

    def _swap(self):
        ema, off = self._ema(), 0
        for var in self.model.trainable_weights:
            n = var._value.size
            kept = var._value.reshape(-1).copy()
            var._value.reshape(-1)[...] = ema[off : off + n]
            ema[off : off + n] = kept
            off += n

    def _finalize(self):
        """The EMA takes the model's weights (now the averaged ones), for fit's end-of-training copy."""
        ema, off = self._ema(), 0
        for var in self.model.trainable_weights:
            n = var._value.size
            ema[off : off + n] = var._value.reshape(-1)
            off += n

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True
            if epoch == (self.params or {}).get("epochs", 0) - 1:
                self._finalize()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end
