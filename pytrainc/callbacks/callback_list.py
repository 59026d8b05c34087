"""`CallbackList`: calls a list of callbacks and tells `fit()` what they need."""

from pytrainc.callbacks._util import _close_stale_bar
from pytrainc.callbacks.callback import Callback
from pytrainc.callbacks.history import History
from pytrainc.callbacks.keras_callback import KerasCallback, is_keras_like
from pytrainc.callbacks.progbar_logger import ProgbarLogger


# A callback needs per-batch calls when it overrides one of these hooks.
# ProgbarLogger's batch hooks only count steps, which `params["steps"]` already
# gives, so they are treated like Callback's empty ones.
_TRAIN_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
)
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")
_PROGRESS_HOOKS = ("on_train_progress",)
_DEFAULT_HOOKS = {
    name: {cls.__dict__[name] for cls in (Callback, ProgbarLogger) if name in cls.__dict__}
    for name in _TRAIN_BATCH_HOOKS + _TEST_BATCH_HOOKS + _PREDICT_BATCH_HOOKS + _PROGRESS_HOOKS
}

# Batch events the C engine detects on its own (see `_engine_batch_hook`).
_ENGINE_BATCH_HOOK_KINDS = ("nonfinite_loss",)


def _overrides_any(callback, names):
    for name in names:
        method = getattr(callback, name)
        # A bound method exposes its function; a function assigned on the
        # instance has no __func__ and always counts as an override.
        function = getattr(method, "__func__", method)
        if function not in _DEFAULT_HOOKS[name]:
            return True
    return False


def _declared(callback, attribute, names):
    """A callback's declared need (`True`/`False`), else whether it overrides `names`."""
    declared = getattr(callback, attribute, None)
    if declared is not None:
        return bool(declared)
    return _overrides_any(callback, names)


def _needs_train_batch_hooks(callback):
    if getattr(callback, "_engine_batch_hook", None) is not None:
        return False  # The engine calls it for the one batch that matters.
    return _declared(callback, "_train_batch_hooks_needed", _TRAIN_BATCH_HOOKS)


def _flatten_callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if is_keras_like(callbacks):
        return [KerasCallback(callbacks)]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            "CallbackList expects `callbacks` to be a list of Callback instances. "
            f"Received: callbacks={callbacks!r} of type {type(callbacks).__name__}"
        )
    flat = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten_callbacks(item))
        elif isinstance(item, Callback):
            flat.append(item)
        elif is_keras_like(item):  # a Keras callback (e.g. optuna-integration's KerasPruningCallback)
            flat.append(KerasCallback(item))
        else:
            raise TypeError(
                "CallbackList expects every callback to be an instance of "
                "pytrainc.callbacks.Callback, or an object with Keras's callback methods "
                f"(set_model, set_params, on_epoch_end, ...). Received: {item!r} of type {type(item).__name__}"
            )
    return flat


class CallbackList(Callback):
    """Calls a list of callbacks through one object.

    Callbacks run in the order given and all receive the same `logs` dict. The
    `History` and `ProgbarLogger` added by `add_history` / `add_progbar` run
    after them. An exception raised by a callback propagates unchanged and the
    callbacks after it are not called.

    Args:
        callbacks: List of `Callback` instances (nested lists are flattened), a
            single `Callback`, or `None`; a Keras-style callback that is not a
            `Callback` is wrapped in a `KerasCallback`. Defaults to `None`.
        add_history: Whether to append a `History` unless the list already
            holds one. Defaults to `False`.
        add_progbar: Whether to append a `ProgbarLogger` unless the list
            already holds one. Defaults to `False`.
        model: Model passed to every callback's `set_model()`; its `history`
            attribute is set to the list's `History`. Defaults to `None`.
        **params: Training parameters (`verbose`, `epochs`, `steps`) passed to
            every callback's `set_params()` when not empty.

    Raises:
        TypeError: If `callbacks` holds something that is not a `Callback`.

    Example:

    >>> from pytrainc.callbacks import EarlyStopping
    >>> class TinyModel:  # Anything with `stop_training` and `history`.
    ...     stop_training = False
    >>> model = TinyModel()
    >>> cbs = CallbackList([EarlyStopping(monitor="loss")], add_history=True,
    ...                    model=model, verbose=0, epochs=10, steps=32)
    >>> cbs.on_train_begin()
    >>> cbs.on_epoch_begin(0)
    >>> cbs.on_epoch_end(0, {"loss": 0.5})
    >>> cbs.on_train_end({"loss": 0.5})
    >>> model.history.history
    {'loss': [0.5]}
    """

    def __init__(
        self,
        callbacks=None,
        add_history=False,
        add_progbar=False,
        model=None,
        **params,
    ):
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks)
        self._training = False
        self._history = None
        self._progbar = None
        for callback in self.callbacks:
            if isinstance(callback, ProgbarLogger):
                self._progbar = callback
            elif isinstance(callback, History):
                self._history = callback
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        for callback in self.callbacks:
            kind = getattr(callback, "_engine_batch_hook", None)
            if kind is not None and kind not in _ENGINE_BATCH_HOOK_KINDS:
                raise ValueError(
                    f"{type(callback).__name__} declares `_engine_batch_hook`="
                    f"{kind!r}, which the engine does not detect. Expected one "
                    f"of {list(_ENGINE_BATCH_HOOK_KINDS)} or None."
                )
        for callback in self.callbacks:
            callback.set_callbacks(self.callbacks)
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    @property
    def has_train_batch_hooks(self):
        """Whether some callback needs `on_train_batch_begin/end` calls.

        Callbacks with an `_engine_batch_hook` do not count (see
        `engine_batch_hooks`), nor does `on_train_progress`.
        """
        return any(_needs_train_batch_hooks(cb) for cb in self.callbacks)

    @property
    def has_train_progress_hooks(self):
        """Whether some callback wants `on_train_progress` calls during epochs.

        `ProgbarLogger` wants them only with `verbose=1`, tqdm installed and
        `sys.stdout` a terminal or Jupyter.
        """
        return any(_declared(cb, "_train_progress_needed", _PROGRESS_HOOKS) for cb in self.callbacks)

    @property
    def engine_batch_hooks(self):
        """The set of engine-detected batch events some callback waits for.

        For example `{"nonfinite_loss"}` with a `TerminateOnNaN`: the C loop
        then stops right after the first batch whose loss is not finite, and
        `fit()` calls `on_engine_batch_end("nonfinite_loss", batch, logs)`.
        """
        return frozenset(
            cb._engine_batch_hook for cb in self.callbacks if getattr(cb, "_engine_batch_hook", None) is not None
        )

    def on_engine_batch_end(self, kind, batch, logs=None):
        """Calls `on_train_batch_end` on the callbacks waiting for event `kind`.

        Called by `fit()` when the C engine stopped an epoch after the batch
        where the event happened; other callbacks are not called.

        Args:
            kind: The event, one of `engine_batch_hooks` (for example
                `"nonfinite_loss"`).
            batch: Integer, index of that batch within the epoch.
            logs: Dict for that batch; for `"nonfinite_loss"`, `logs["loss"]`
                is that batch's (non-finite) loss.
        """
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            if getattr(callback, "_engine_batch_hook", None) == kind:
                callback.on_train_batch_end(batch, logs)

    @property
    def backup_interval(self):
        """The smallest `backup_interval` of the callbacks, or `None` if none has one.

        `fit()` then calls `on_backup_point` every that many batches within
        an epoch, and ends its calls to the C engine there.
        """
        return min((cb.backup_interval for cb in self.callbacks if cb.backup_interval), default=None)

    def on_backup_point(self, epoch, batch, sums=None, epoch_rng=None):
        """Calls every callback's `on_backup_point` (see `Callback.on_backup_point`)."""
        for callback in self.callbacks:
            callback.on_backup_point(epoch, batch, sums, epoch_rng)

    def resume_point(self):
        """Asks every callback's `resume_point`; returns the last one given, or `None`.

        Called by `fit()` right after `on_train_begin` (see
        `Callback.resume_point`).
        """
        point = None
        for callback in self.callbacks:
            found = callback.resume_point()
            if found is not None:
                point = found
        return point

    @property
    def has_test_batch_hooks(self):
        """Whether some callback needs `on_test_batch_begin/end` calls."""
        return any(_overrides_any(cb, _TEST_BATCH_HOOKS) for cb in self.callbacks)

    @property
    def has_predict_batch_hooks(self):
        """Whether some callback needs `on_predict_batch_begin/end` calls."""
        return any(_overrides_any(cb, _PREDICT_BATCH_HOOKS) for cb in self.callbacks)

    # The hooks below pass `logs` positionally and create at most one dict, so
    # every callback sees the very same object.

    def on_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_batch_end(batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs)

    def on_train_progress(self, steps_done, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_progress(steps_done, logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_end(batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_end(batch, logs)

    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        _close_stale_bar()
        self._training = True
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        self._training = False
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        if not self._training:
            _close_stale_bar()
        for callback in self.callbacks:
            callback.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        if not self._training:
            _close_stale_bar()
        for callback in self.callbacks:
            callback.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_end(logs)
