"""`LambdaCallback`: a callback built from functions."""

from pytrainc.callbacks.callback import Callback


_CALLBACK_HOOKS = frozenset(
    name for name in dir(Callback) if name.startswith("on_") and callable(getattr(Callback, name))
)
# The hooks of LambdaCallback's signature, in its order (Keras's).
_NAMED_HOOKS = (
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_begin",
    "on_train_end",
    "on_train_batch_begin",
    "on_train_batch_end",
)


class LambdaCallback(Callback):
    """Builds a callback from functions, for quick custom callbacks.

    Each function is called with the arguments of the hook it replaces:

    - `on_epoch_begin` and `on_epoch_end`: `(epoch, logs)`;
    - `on_train_begin` and `on_train_end`: `(logs)`;
    - `on_train_batch_begin` and `on_train_batch_end`: `(batch, logs)`;
    - any other hook of `Callback` passed by name, such as
      `on_train_progress=lambda steps, logs: ...` or `on_test_end=...`.

    A batch function makes `fit()` run batch by batch, as any batch hook.

    Args:
        on_epoch_begin: Called at the beginning of every epoch.
        on_epoch_end: Called at the end of every epoch.
        on_train_begin: Called at the beginning of training.
        on_train_end: Called at the end of training.
        on_train_batch_begin: Called at the beginning of every batch.
        on_train_batch_end: Called at the end of every batch.
        **kwargs: Other hooks of `Callback`, by name.

    Raises:
        TypeError: If a value is not callable or a name is not a hook of
            `Callback` (Keras accepts any name silently).

    Example:

    >>> import json
    >>> json_log = []
    >>> json_logging_callback = LambdaCallback(
    ...     on_epoch_end=lambda epoch, logs: json_log.append(
    ...         json.dumps({"epoch": epoch, "loss": logs["loss"]})))
    >>> # model.fit(x, y, callbacks=[json_logging_callback])
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        functions = (
            on_epoch_begin,
            on_epoch_end,
            on_train_begin,
            on_train_end,
            on_train_batch_begin,
            on_train_batch_end,
        )
        hooks = dict(zip(_NAMED_HOOKS, functions))
        for name, function in kwargs.items():
            if name not in _CALLBACK_HOOKS:
                raise TypeError(
                    f"LambdaCallback got an unexpected hook {name!r}. Expected "
                    f"one of: {', '.join(sorted(_CALLBACK_HOOKS))}"
                )
            hooks[name] = function
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(
                    f"LambdaCallback expects `{name}` to be a function. "
                    f"Received: {function!r} of type {type(function).__name__}"
                )
            setattr(self, name, function)
