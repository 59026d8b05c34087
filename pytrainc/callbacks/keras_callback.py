"""`KerasCallback`: runs a callback written for Keras (duck-typed) inside pytrainc's `fit()`."""

from pytrainc.callbacks.callback import Callback

# Keras 3's hooks (keras/src/callbacks/callback.py) that fit/evaluate/predict call.
_RUN_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
)
# Batch hooks are forwarded only when the callback overrides them (or the alias
# its Keras base delegates to), so that the others keep whole epochs in one engine call.
_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _is_keras_base(cls):
    return cls.__name__ == "Callback" and cls.__module__.split(".")[0] in ("keras", "tf_keras")


def _overrides(callback, name):
    """Whether `callback` defines hook `name` itself, rather than inheriting Keras's empty one."""
    if name in getattr(callback, "__dict__", {}):
        return True
    for cls in type(callback).__mro__:
        if name in cls.__dict__:
            return not _is_keras_base(cls)
    return False


def is_keras_like(obj):
    """Whether obj has the methods a Keras callback list calls (`set_model`, `set_params`, `on_epoch_end`)."""
    return all(callable(getattr(obj, name, None)) for name in ("set_model", "set_params", "on_epoch_end"))


class KerasCallback(Callback):
    """Wraps a callback that is not a pytrainc `Callback` but has Keras's methods.

    `fit()`, `evaluate()` and `predict()` wrap such callbacks themselves (a
    `keras.callbacks.Callback` subclass, optuna-integration's
    `KerasPruningCallback`, any object with `set_model`, `set_params` and
    `on_epoch_end`): its hooks are called as Keras calls them, with the same
    `logs`. Its batch hooks are called only when it defines them, so the others
    keep whole epochs in one engine call. pytrainc's own hooks (progress,
    backups) do not reach it, and `BackupAndRestore` does not save its state.

    Args:
        callback: The Keras-style callback.

    Example:

    >>> class Printer:  # no pytrainc base class
    ...     def set_model(self, model): self.model = model
    ...     def set_params(self, params): self.params = params
    ...     def on_epoch_end(self, epoch, logs=None): print(epoch, sorted(logs))
    >>> wrapped = KerasCallback(Printer())
    >>> wrapped.on_epoch_end(0, {"loss": 0.5})
    0 ['loss']
    """

    def __init__(self, callback):
        super().__init__()
        if not is_keras_like(callback):
            raise TypeError(
                "KerasCallback expects an object with Keras's callback methods set_model, set_params and "
                f"on_epoch_end. Received: {callback!r} of type {type(callback).__name__}"
            )
        self.callback = callback
        for name in _RUN_HOOKS:
            hook = getattr(callback, name, None)
            if callable(hook):
                setattr(self, name, hook)
        for name, defined_by in _BATCH_HOOKS.items():
            hook = getattr(callback, name, None)
            if callable(hook) and any(_overrides(callback, n) for n in defined_by):
                setattr(self, name, hook)

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def __repr__(self):
        return f"KerasCallback({self.callback!r})"
