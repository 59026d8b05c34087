"""Losses, as `keras.losses`. The computation runs in C (csrc/losses.c); these
objects name the loss and carry its options.

Where pytrainc is deliberately more exact than Keras 3 on its torch backend (and the same as
Keras on its TensorFlow backend):

- A cross-entropy right after a final sigmoid or softmax is computed on the logits, in one
  fused kernel (`log_softmax`/`softplus`), so probabilities that round to 0 or 1 still give
  finite losses and true gradients. Keras's torch backend clips the probabilities to
  [1e-7, 1 - 1e-7] instead; its TensorFlow backend reads the logits as pytrainc does. The
  difference shows only for saturated outputs.
- Each batch's loss is summed over its samples in double precision before it is divided and
  reported, so epoch losses do not drift with the batch size; Keras sums in float32.
"""

from pytrainc import _C
from pytrainc._identifiers import from_identifier
from pytrainc.ops._trace import FunctionWrapper

# Kind ids come from the C registry (csrc/kinds.def, `_C.LOSSES`); 0 means none.


class Loss:
    """Base class. `from_logits` tells that the model outputs logits.

    A subclass that defines `call(y_true, y_pred)` with `pytrainc.ops` is a custom loss, as in
    Keras: `call` is traced once into the model's plan and returns per-sample loss values, which
    are reduced with Keras's default "sum_over_batch_size" (the mean over all of them, weighted
    by the sample weights).

    Args:
        name: Defaults to the snake-cased class name.
        reduction: Only "sum_over_batch_size" (Keras's default). Defaults to "sum_over_batch_size".
        dtype: Only float32 (or None). Defaults to None.
        from_logits: Keyword only, pytrainc's own (not in keras.losses.Loss): whether predictions are
            logits, for the built-in cross-entropies. Defaults to False.

    Example:

    >>> class Squares(pytrainc.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return pytrainc.ops.mean(pytrainc.ops.square(y_true - y_pred), axis=-1)
    >>> Squares().name
    'squares'
    """

    _kind = None  # the C kernel, from _C.LOSSES; set by each subclass
    _fused = None  # the kind used on logits (a fused sigmoid/softmax), if any
    sparse = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None, *, from_logits=False):
        if reduction != "sum_over_batch_size":
            raise ValueError(
                f"pytrainc losses reduce with 'sum_over_batch_size' (Keras's default). Received: reduction={reduction!r}"
            )
        if dtype not in (None, "float32"):
            raise ValueError(f"pytrainc computes in float32. Received: dtype={dtype!r}")
        if name is None:
            from pytrainc import utils

            name = utils.snake_case(type(self).__name__)
        self.name = name
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        """Per-sample loss values from symbolic targets and predictions (custom losses define it)."""
        raise NotImplementedError(f"Loss {self.name!r} ({type(self).__name__}) does not define call()")

    @property
    def _traced(self):
        return type(self).call is not Loss.call

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(Loss):
    """Mean of squared errors over the last axis, then over the batch."""

    _kind = _C.LOSSES["mse"]

    def __init__(self, name="mean_squared_error"):
        super().__init__(name)

    def get_config(self):
        return {"name": self.name}


class MeanAbsoluteError(Loss):
    """Mean of absolute errors over the last axis, then over the batch."""

    _kind = _C.LOSSES["mae"]

    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)

    def get_config(self):
        return {"name": self.name}


class BinaryCrossentropy(Loss):
    """Binary cross-entropy on probabilities (clipped to [1e-7, 1 - 1e-7]) or logits.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        name: Defaults to "binary_crossentropy".
    """

    _kind = _C.LOSSES["bce"]
    _fused = _C.LOSSES["sigmoid_bce"]

    def __init__(self, from_logits=False, name="binary_crossentropy"):
        super().__init__(name, from_logits=from_logits)


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or soft) labels, on probabilities or logits.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        name: Defaults to "categorical_crossentropy".
    """

    _kind = _C.LOSSES["cce"]
    _fused = _C.LOSSES["softmax_cce"]

    def __init__(self, from_logits=False, name="categorical_crossentropy"):
        super().__init__(name, from_logits=from_logits)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class labels, on probabilities or logits.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        name: Defaults to "sparse_categorical_crossentropy".
    """

    _kind = _C.LOSSES["sparse_cce"]
    _fused = _C.LOSSES["softmax_sparse_cce"]
    sparse = True

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy"):
        super().__init__(name, from_logits=from_logits)


# Keras's loss functions, for code such as `loss=keras.losses.categorical_crossentropy`.
# They compute per-sample losses in NumPy; inside a model the C kernels run.
def _probs(y_pred):
    import numpy as np

    return np.clip(np.asarray(y_pred, dtype=np.float64), 1e-7, 1 - 1e-7)


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of (y_true - y_pred)**2."""
    import numpy as np

    return np.mean(np.square(np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of |y_true - y_pred|."""
    import numpy as np

    return np.mean(np.abs(np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)), axis=-1)


def binary_crossentropy(y_true, y_pred):
    """Mean over the last axis of the binary cross-entropy of clipped probabilities."""
    import numpy as np

    p, t = _probs(y_pred), np.asarray(y_true, np.float64)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def categorical_crossentropy(y_true, y_pred):
    """-sum(y_true * log(y_pred)) over the last axis, predictions normalized and clipped."""
    import numpy as np

    p = np.asarray(y_pred, np.float64)
    p = _probs(p / p.sum(axis=-1, keepdims=True))
    return -np.sum(np.asarray(y_true, np.float64) * np.log(p), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred):
    """Categorical cross-entropy with integer labels."""
    import numpy as np

    p = np.asarray(y_pred, np.float64)
    p = _probs(p / p.sum(axis=-1, keepdims=True))
    ids = np.asarray(y_true).astype(np.int64).reshape(p.shape[:-1])
    return -np.log(np.take_along_axis(p, ids[..., None], axis=-1)[..., 0])


mse, mae = mean_squared_error, mean_absolute_error
_FUNCTIONS = {
    mean_squared_error: "mse",
    mean_absolute_error: "mae",
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
}

_BY_NAME = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


class LossFunctionWrapper(FunctionWrapper, Loss):
    """A loss function `fn(y_true, y_pred, **kwargs)` written with `pytrainc.ops`, traced into the plan.

    Args:
        fn: Returns per-sample loss values, e.g. `ops.mean(ops.square(y_true - y_pred), axis=-1)`.
        name: Defaults to the function's name.
        **kwargs: Passed to fn.
    """

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self._wrap(fn, kwargs)


def get(identifier):
    """Return a Loss from a name, a config dict, a Loss instance or a loss function.

    A function `fn(y_true, y_pred)` other than pytrainc's own is wrapped as a
    `LossFunctionWrapper`, traced into the plan.

    Raises:
        ValueError: for an unknown name.
    """
    if callable(identifier) and not isinstance(identifier, (Loss, type)) and identifier not in _FUNCTIONS:
        return LossFunctionWrapper(identifier)
    if callable(identifier) and not isinstance(identifier, Loss) and identifier in _FUNCTIONS:
        identifier = _FUNCTIONS[identifier]
    return from_identifier(
        identifier,
        what="loss",
        base=Loss,
        names=_BY_NAME,
        classes=_CLASSES,
        hint=". Expected a name such as 'mse' or a pytrainc.losses.Loss",
    )


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
