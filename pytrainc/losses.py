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

Targets of another shape than the predictions follow Keras's rule (squeeze_or_expand_to_same_rank,
then broadcasting): y_true (n, 4) with y_pred (n, 1) trains as Keras, the plan repeating the
predictions to the targets' shape (or tiling narrower targets) where the loss is element-wise, and
tracing Keras's formula for the losses that reduce one side alone (cosine, dice with axis=-1, the
categorical focal cross-entropy). The cross-entropies keep one shape, as on Keras's torch backend;
Dice(axis=None) takes only targets at least as wide as the predictions.
"""

import math

import numpy as np

from pytrainc import _C, _loss_reduction
from pytrainc._checks import number
from pytrainc._identifiers import from_identifier
from pytrainc.loss_functions import (  # Keras's loss functions, eager NumPy
    _last_axis,
    _overlap_axis,
    mean_squared_error,
    mean_absolute_error,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
    huber,
    log_cosh,
    kl_divergence,
    poisson,
    hinge,
    squared_hinge,
    categorical_hinge,
    cosine_similarity,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    dice,
    tversky,
)
from pytrainc.ops._trace import FunctionWrapper

# Kind ids come from the C registry (csrc/kinds.def, `_C.LOSSES`); 0 means none.


class Loss:
    """Base class. `from_logits` tells that the model outputs logits.

    A subclass that defines `call(y_true, y_pred)` with `pytrainc.ops` is a custom loss, as in
    Keras: `call` is traced once into the model's plan and returns per-sample loss values, which
    are reduced with Keras's default "sum_over_batch_size" (the mean over all of them, weighted
    by the sample weights).

    Calling a loss on arrays, `loss(y_true, y_pred, sample_weight=None)`, returns Keras's value
    (computed eagerly in NumPy): the per-sample values reduced as `reduction` says.

    Args:
        name: Defaults to the snake-cased class name.
        reduction: Keras 3's: "sum_over_batch_size" (the weighted sum over the number of values),
            "mean" (the same), "sum", "mean_with_sample_weight" (the weighted sum over the sum of
            the weights), or "none"/None (the per-sample values; only in a standalone call, as a
            model needs one loss value). Defaults to "sum_over_batch_size".
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
    _fuses = "softmax"  # the final activation that _fused folds in
    sparse = False
    # Whether targets of another shape may be broadcast to the predictions' before the loss, as
    # Keras's backend broadcasting does inside it: true of the losses that are element-wise
    # before their reduction over the last axis (not of cosine, dice and tversky, which reduce
    # the targets alone, nor of the cross-entropies, which Keras requires of the same shape).
    _broadcasts_targets = False
    # The same for narrower predictions (y_pred (n, 1) against y_true (n, k)): repeated by the plan's
    # ops to the targets' shape before the loss (the gradient sums the copies). True of the losses
    # that are element-wise before their reduction; not of those that also reduce or normalize the
    # predictions alone (cosine, dice, tversky, the categorical focal cross-entropy).
    _broadcasts_predictions = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None, *, from_logits=False):
        self.reduction = _loss_reduction.standardize_reduction(reduction)
        if dtype not in (None, "float32") and getattr(dtype, "name", None) != "float32":
            raise ValueError(f"pytrainc computes in float32. Received: dtype={dtype!r}")
        if name is None:  # Keras's auto_name: 'my_loss', 'my_loss_1', ... (History keys of a loss as a metric)
            from pytrainc import utils
            from pytrainc.layers import core

            name = core._unique_name(utils.snake_case(type(self).__name__))
        self.name = name
        self.from_logits = bool(from_logits)

    @property
    def dtype(self):
        return "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras's loss value on arrays: `call`'s per-sample values (Keras's rank rule first for the
        built-in losses), weighted by sample_weight and reduced by `reduction`."""
        return _loss_reduction.evaluate(self, y_true, y_pred, sample_weight)

    def _values(self, y_true, y_pred):
        """Per-sample values and their mask (or None) on arrays."""
        fn = getattr(type(self), "_fn", None)
        if fn is None or self._traced:
            return np.asarray(self.call(y_true, y_pred), np.float64), None
        y_true, y_pred = _loss_reduction.same_rank(np.asarray(y_true), np.asarray(y_pred, np.float64))
        return np.asarray(fn(y_true, y_pred, **self._fn_kwargs()), np.float64), None

    def _fn_kwargs(self):
        return {}

    def call(self, y_true, y_pred):
        """Per-sample loss values from symbolic targets and predictions (custom losses define it)."""
        raise NotImplementedError(f"Loss {self.name!r} ({type(self).__name__}) does not define call()")

    @property
    def _traced(self):
        return type(self).call is not Loss.call

    def _params(self):
        """The C kernel's named parameters (_C.LOSS_PARAMS), those that are not 0."""
        return {}

    def _repeat_params(self, pred_shape, joint):
        """The kernel's parameters for predictions of per-sample pred_shape repeated by the plan to
        wider targets of `joint` (for a loss that sums them alone)."""
        return {}

    def _param_array(self, extra=None):
        params = {**self._params(), **(extra or {}), "reduction": _loss_reduction.reduction_id(self)}
        return np.array([float(params.get(n, 0.0)) for n in _C.LOSS_PARAMS], dtype=np.float64)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _KerasLoss(Loss):
    """A built-in loss with Keras's trailing (reduction, name, dtype) arguments and no logits.

    A subclass that sets `_default_name` and defines no `__init__` gets Keras's own signature,
    `(reduction="sum_over_batch_size", name=<_default_name>, dtype=None)`: the element-wise losses
    below are only their kind, their NumPy function and their name."""

    _broadcasts_targets = True
    _broadcasts_predictions = True
    _default_name = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name, reduction, dtype)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        default = cls.__dict__.get("_default_name")
        if default is None or "__init__" in cls.__dict__:
            return

        def __init__(self, reduction="sum_over_batch_size", name=default, dtype=None):
            _KerasLoss.__init__(self, reduction, name, dtype)

        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class MeanSquaredError(_KerasLoss):
    """Mean of squared errors over the last axis, then over the batch."""

    _kind = _C.LOSSES["mse"]
    _fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_KerasLoss):
    """Mean of absolute errors over the last axis, then over the batch."""

    _kind = _C.LOSSES["mae"]
    _fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


def _smoothing(value):
    return number("label_smoothing", value, low=0.0, high=1.0)


class BinaryCrossentropy(Loss):
    """Binary cross-entropy on probabilities (clipped to [1e-7, 1 - 1e-7]) or logits.

    Deliberately more exact than Keras 3 on torch: right after a model's final sigmoid, the loss
    is computed on the logits in one fused kernel (as Keras's TensorFlow backend does), so a
    saturated output costs its true loss, not the clipped -log(1e-7); see the module docstring.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1]: targets become t (1 - s) + s / 2. Defaults to 0.0.
        axis: Only -1. Defaults to -1.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "binary_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["bce"]
    _fused = _C.LOSSES["sigmoid_bce"]
    _fuses = "sigmoid"
    _fn = staticmethod(binary_crossentropy)

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(name, reduction, dtype, from_logits=from_logits)
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _last_axis(type(self).__name__, axis)

    def _params(self):
        return {"label_smoothing": self.label_smoothing}

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}

    def get_config(self):
        return {
            "name": self.name,
            "reduction": self.reduction,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalCrossentropy(BinaryCrossentropy):
    """Cross-entropy with one-hot (or soft) labels, on probabilities or logits.

    Deliberately more exact than Keras 3 on torch: right after a model's final softmax, the loss
    is computed on the logits in one fused kernel (as Keras's TensorFlow backend does), so a
    saturated output costs its true loss, not the clipped -log(1e-7); see the module docstring.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1]: targets become t (1 - s) + s / num_classes. Defaults to 0.0.
        axis: Only -1. Defaults to -1.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "categorical_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["cce"]
    _fused = _C.LOSSES["softmax_cce"]
    _fuses = "softmax"
    _fn = staticmethod(categorical_crossentropy)

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class labels, on probabilities or logits.

    Deliberately more exact than Keras 3 on torch: right after a model's final softmax, the loss
    is computed on the logits in one fused kernel (as Keras's TensorFlow backend does), so a
    saturated output costs its true loss, not the clipped -log(1e-7); see the module docstring.

    Args:
        from_logits: Whether predictions are logits. Defaults to False.
        ignore_class: Optional int: samples (or positions) with this label are left out, and
            the loss is the mean over the others, as Keras's mask. Defaults to None.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        axis: Only -1. Defaults to -1.
        name: Defaults to "sparse_categorical_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["sparse_cce"]
    _fused = _C.LOSSES["softmax_sparse_cce"]
    _fn = staticmethod(sparse_categorical_crossentropy)
    sparse = True

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(name, reduction, dtype, from_logits=from_logits)
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise ValueError(f"ignore_class must be an int or None. Received: ignore_class={ignore_class!r}")
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.axis = _last_axis(type(self).__name__, axis)

    def _params(self):
        if self.ignore_class is None:
            return {}
        return {"ignore": 1.0, "ignore_class": float(self.ignore_class)}

    def _values(self, y_true, y_pred):
        kw = {"from_logits": self.from_logits, "ignore_class": self.ignore_class}
        values = np.asarray(sparse_categorical_crossentropy(y_true, y_pred, **kw), np.float64)
        if self.ignore_class is None:
            return values, None
        return values, np.asarray(y_true).reshape(values.shape) != self.ignore_class  # Keras's mask

    def get_config(self):
        return {
            "name": self.name,
            "reduction": self.reduction,
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }


class MeanAbsolutePercentageError(_KerasLoss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis. Name defaults to
    "mean_absolute_percentage_error"."""

    _kind = _C.LOSSES["mape"]
    _fn = staticmethod(mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_KerasLoss):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2) over the last axis. Name
    defaults to "mean_squared_logarithmic_error"."""

    _kind = _C.LOSSES["msle"]
    _fn = staticmethod(mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCosh(_KerasLoss):
    """mean(log(cosh(y_pred - y_true))) over the last axis. Name defaults to "log_cosh"."""

    _kind = _C.LOSSES["log_cosh"]
    _fn = staticmethod(log_cosh)
    _default_name = "log_cosh"


class KLDivergence(_KerasLoss):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]. Name
    defaults to "kl_divergence"."""

    _kind = _C.LOSSES["kld"]
    _fn = staticmethod(kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_KerasLoss):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis. Name defaults to "poisson"."""

    _kind = _C.LOSSES["poisson"]
    _fn = staticmethod(poisson)
    _default_name = "poisson"


class Hinge(_KerasLoss):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis; a batch of 0/1 targets is read as
    -1/1, as Keras does. Name defaults to "hinge"."""

    _kind = _C.LOSSES["hinge"]
    _fn = staticmethod(hinge)
    _default_name = "hinge"


class SquaredHinge(_KerasLoss):
    """mean(max(1 - y_true * y_pred, 0)**2) over the last axis (0/1 targets as in Hinge). Name
    defaults to "squared_hinge"."""

    _kind = _C.LOSSES["squared_hinge"]
    _fn = staticmethod(squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_KerasLoss):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) per row. Name defaults to
    "categorical_hinge"."""

    _kind = _C.LOSSES["categorical_hinge"]
    _fn = staticmethod(categorical_hinge)
    _default_name = "categorical_hinge"


class CosineSimilarity(_KerasLoss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over the last axis.

    Args:
        axis: Only -1. Defaults to -1.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "cosine_similarity".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["cosine"]
    _broadcasts_targets = _broadcasts_predictions = False  # they reduce each alone (Loss._broadcasts_targets)
    _fn = staticmethod(cosine_similarity)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction, name, dtype)
        self.axis = _last_axis("CosineSimilarity", axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Huber(_KerasLoss):
    """0.5 e**2 where |e| <= delta, else delta * (|e| - delta / 2), e = y_pred - y_true, averaged
    over the last axis.

    Args:
        delta: A positive float, where the loss turns from quadratic to linear. Defaults to 1.0.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "huber_loss".
        dtype: Only float32 (or None). Defaults to None.

    Example:

    >>> pytrainc.losses.Huber(delta=2.0).get_config()["delta"]
    2.0
    """

    _kind = _C.LOSSES["huber"]
    _fn = staticmethod(huber)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction, name, dtype)
        self.delta = number("delta", delta, low=0.0)

    def _params(self):
        return {"delta": self.delta}

    def _fn_kwargs(self):
        return {"delta": self.delta}

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class BinaryFocalCrossentropy(Loss):
    """Binary focal cross-entropy (Lin et al., 2018): (1 - p_t)**gamma * bce, averaged over the
    last axis, with p_t = t p + (1 - t)(1 - p).

    Args:
        apply_class_balancing: Whether to weigh class 1 by alpha and class 0 by 1 - alpha.
            Defaults to False.
        alpha: Float in [0, 1]. Defaults to 0.25.
        gamma: Focusing parameter >= 0. Defaults to 2.0.
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1], as in BinaryCrossentropy. Defaults to 0.0.
        axis: Only -1. Defaults to -1.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "binary_focal_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["bfce"]
    _fused = _C.LOSSES["sigmoid_bfce"]
    _fuses = "sigmoid"
    _fn = staticmethod(binary_focal_crossentropy)

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(name, reduction, dtype, from_logits=from_logits)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = number("alpha", alpha, low=0.0, high=1.0)
        self.gamma = number("gamma", gamma, low=0.0)
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _last_axis(type(self).__name__, axis)

    def _params(self):
        return {
            "alpha": self.alpha,
            "gamma": self.gamma,
            "label_smoothing": self.label_smoothing,
            "class_balancing": float(self.apply_class_balancing),
        }

    def _fn_kwargs(self):
        kw = {"alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits}
        return {**kw, "label_smoothing": self.label_smoothing, "apply_class_balancing": self.apply_class_balancing}

    def get_config(self):
        return {
            "name": self.name,
            "reduction": self.reduction,
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class CategoricalFocalCrossentropy(Loss):
    """Categorical focal cross-entropy: sum(alpha * (1 - p)**gamma * -y_true * log(p)) over the
    classes, p normalized and clipped (softmax of logits with from_logits=True).

    Args:
        alpha: A float weight for every class (Keras's list form is not supported). Defaults to 0.25.
        gamma: Focusing parameter >= 0. Defaults to 2.0.
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1], as in CategoricalCrossentropy. Defaults to 0.0.
        axis: Only -1. Defaults to -1.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "categorical_focal_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["cfce"]
    _fused = _C.LOSSES["softmax_cfce"]
    _fn = staticmethod(categorical_focal_crossentropy)

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(name, reduction, dtype, from_logits=from_logits)
        if isinstance(alpha, (list, tuple, np.ndarray)):
            raise ValueError(
                f"pytrainc's CategoricalFocalCrossentropy takes one float alpha. Received: alpha={alpha!r}"
            )
        self.alpha = number("alpha", alpha)
        self.gamma = number("gamma", gamma, low=0.0)
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _last_axis(type(self).__name__, axis)

    @property
    def _broadcasts_targets(self):  # Keras smooths by the targets' own number of classes
        return not self.label_smoothing

    def _params(self):
        return {"alpha": self.alpha, "gamma": self.gamma, "label_smoothing": self.label_smoothing}

    def _fn_kwargs(self):
        return {**self._params(), "from_logits": self.from_logits}

    def get_config(self):
        return {
            "name": self.name,
            "reduction": self.reduction,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class Dice(_KerasLoss):
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7).

    Args:
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "dice".
        axis: None (one value over the whole batch, as Keras) or -1 (per row). Defaults to None.
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["dice"]
    # It sums each side alone: repeated predictions count once (_repeat_params); narrower targets
    # take Keras's formula (pytrainc/_loss_formulas.py) with axis=-1.
    _broadcasts_targets, _broadcasts_predictions = False, True
    _fn = staticmethod(dice)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(reduction, name, dtype)
        self.axis = _overlap_axis(type(self).__name__, axis)

    def _params(self):
        return {"per_row": float(self.axis is not None)}

    def _repeat_params(self, pred_shape, joint):  # the copies in each sum: a row's, or the batch's
        whole = (lambda s: s[-1]) if self.axis is not None else math.prod
        return {"pred_repeat": float(whole(joint) // whole(pred_shape))}

    def _fn_kwargs(self):
        return {"axis": self.axis}

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Tversky(Dice):
    """1 - TP / (TP + alpha FP + beta FN + 1e-7) with Keras's TP = sum(y_true y_pred),
    FP = sum((1 - y_pred) y_true), FN = sum(y_pred (1 - y_true)).

    Args:
        alpha: Weight of FP. Defaults to 0.5.
        beta: Weight of FN. Defaults to 0.5.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to "tversky".
        axis: None (over the whole batch) or -1 (per row). Defaults to None.
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.LOSSES["tversky"]
    _broadcasts_targets = _broadcasts_predictions = True  # its sums are of element-wise products only
    _fn = staticmethod(tversky)

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None):
        super().__init__(reduction, name, axis, dtype)
        self.alpha = number("alpha", alpha)
        self.beta = number("beta", beta)

    def _params(self):
        return {**super()._params(), "alpha": self.alpha, "beta": self.beta}

    def _fn_kwargs(self):
        return {"alpha": self.alpha, "beta": self.beta, "axis": self.axis}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


mse, mae = mean_squared_error, mean_absolute_error
mape, msle, kld = mean_absolute_percentage_error, mean_squared_logarithmic_error, kl_divergence
_FUNCTIONS = {
    mean_squared_error: "mse",
    mean_absolute_error: "mae",
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
    huber: "huber",
    log_cosh: "log_cosh",
    kl_divergence: "kl_divergence",
    poisson: "poisson",
    hinge: "hinge",
    squared_hinge: "squared_hinge",
    categorical_hinge: "categorical_hinge",
    cosine_similarity: "cosine_similarity",
    mean_absolute_percentage_error: "mean_absolute_percentage_error",
    mean_squared_logarithmic_error: "mean_squared_logarithmic_error",
    binary_focal_crossentropy: "binary_focal_crossentropy",
    categorical_focal_crossentropy: "categorical_focal_crossentropy",
    dice: "dice",
    tversky: "tversky",
}

_BY_NAME = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "bce": BinaryCrossentropy,
    "huber": Huber,
    "log_cosh": LogCosh,
    "logcosh": LogCosh,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "dice": Dice,
    "tversky": Tversky,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


class LossFunctionWrapper(FunctionWrapper, Loss):
    """A loss function `fn(y_true, y_pred, **kwargs)` written with `pytrainc.ops`, traced into the plan.

    Args:
        fn: Returns per-sample loss values, e.g. `ops.mean(ops.square(y_true - y_pred), axis=-1)`.
        reduction: As `Loss`'s. Defaults to "sum_over_batch_size".
        name: Defaults to the function's name.
        dtype: Only float32 (or None). Defaults to None.
        **kwargs: Passed to fn.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction, dtype)
        self._wrap(fn, kwargs)

    def call(self, y_true, y_pred):
        if isinstance(y_true, np.ndarray) and isinstance(y_pred, np.ndarray):  # a standalone call
            y_true, y_pred = _loss_reduction.same_rank(y_true, y_pred)
        return super().call(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        reduction = config.get("reduction", "sum_over_batch_size")
        loss = super().from_config(config)
        loss.reduction = _loss_reduction.standardize_reduction(reduction)
        return loss


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
    from pytrainc.saving import object_registration  # a custom class: its registered name, to load it by

    return object_registration.tagged({"class_name": type(loss).__name__, "config": loss.get_config()}, loss)


def deserialize(name, custom_objects=None):
    """The loss a config (or name) describes, as `keras.losses.deserialize`; custom classes and
    functions from the registry or `custom_objects`."""
    from pytrainc.saving import object_registration

    with object_registration.loading_scope(custom_objects):
        return get(name)
