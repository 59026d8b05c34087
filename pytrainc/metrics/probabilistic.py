"""Loss metrics, as keras/src/metrics/probabilistic_metrics.py and hinge_metrics.py: Keras's
MeanMetricWrappers of loss functions, each sample's loss computed in C by the loss's row kernel
(csrc/losses.c) and averaged with the sample weights over the epoch."""

from pytrainc import _C
from pytrainc._checks import number
from pytrainc.metrics.base import _Builtin, _div
from pytrainc.metrics.regression import _last_axis


class _LossMean(_Builtin):
    """A Keras MeanMetricWrapper of a loss function: the sample-weighted mean of each sample's
    loss over the epoch, computed in C by the loss's row kernel (csrc/losses.c)."""

    _kind = _C.METRICS["loss_mean"]
    _direction = "down"
    _loss = None  # the row loss kind's name in _C.LOSSES
    _logits = None  # the kind read with from_logits=True, if the metric takes logits
    _sign = 1.0
    _config_args = ()  # the subclass's arguments its config lists after name and dtype

    def __init__(self, name, dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(name=name, dtype=dtype)
        if from_logits and self._logits is None:
            raise ValueError(f"Metric {type(self).__name__} does not take logits. Received: from_logits=True")
        self.from_logits = bool(from_logits)
        self.label_smoothing = number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self._k = _C.LOSSES[self._logits if self.from_logits else self._loss]
        self._threshold = self.label_smoothing

    def _result(self, acc, weight_sum):
        return float(self._sign * _div(acc[0], weight_sum))

    def get_config(self):
        return {**super().get_config(), **{arg: getattr(self, arg) for arg in self._config_args}}


class BinaryCrossentropy(_LossMean):
    """Mean binary cross-entropy, as keras.metrics.BinaryCrossentropy.

    Args:
        name: Defaults to "binary_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1]. Defaults to 0.
    """

    _loss, _logits = "bce", "sigmoid_bce"
    _config_args = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(name, dtype, from_logits, label_smoothing)


class CategoricalCrossentropy(_LossMean):
    """Mean categorical cross-entropy, as keras.metrics.CategoricalCrossentropy.

    Args:
        name: Defaults to "categorical_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1]. Defaults to 0.
        axis: Only -1. Defaults to -1.
    """

    _loss, _logits = "cce", "softmax_cce"
    _config_args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(name, dtype, from_logits, label_smoothing)
        self.axis = _last_axis(type(self).__name__, axis)


class SparseCategoricalCrossentropy(_LossMean):
    """Mean cross-entropy with integer labels, as keras.metrics.SparseCategoricalCrossentropy
    (the compiled loss must take integer labels too).

    Args:
        name: Defaults to "sparse_categorical_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
        from_logits: Whether predictions are logits. Defaults to False.
        axis: Only -1. Defaults to -1.
    """

    _loss, _logits = "sparse_cce", "softmax_sparse_cce"
    _config_args = ("from_logits", "ignore_class", "axis")

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1
    ):
        super().__init__(name, dtype, from_logits)
        self.axis = _last_axis(type(self).__name__, axis)
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
            raise ValueError(f"ignore_class must be an int or None. Received: ignore_class={ignore_class!r}")
        self.ignore_class = ignore_class
        if ignore_class is not None:  # [sum of the valid rows' losses, their weight] (csrc/metrics.c)
            self._kind = _C.METRICS["loss_mean_ignore"]
            self._threshold = float(ignore_class)

    def _slots(self, width):
        return 1 if self.ignore_class is None else 2

    def _result(self, acc, weight_sum):
        return super()._result(acc, weight_sum) if self.ignore_class is None else float(_div(acc[0], acc[1]))


def _loss_metric(cls_name, loss, default, doc, sign=1.0, direction="down"):
    def __init__(self, name=default, dtype=None):
        _LossMean.__init__(self, name, dtype)

    return type(
        cls_name,
        (_LossMean,),
        {
            "__init__": __init__,
            "__doc__": doc + f"\n\n    Args:\n        name: Defaults to {default!r}.\n"
            "        dtype: Only float32 (or None). Defaults to None.\n    ",
            "_loss": loss,
            "_sign": sign,
            "_direction": direction,
            "__module__": "pytrainc.metrics",
            "__qualname__": cls_name,
        },
    )


KLDivergence = _loss_metric("KLDivergence", "kld", "kl_divergence", "Mean of sum(y_true * log(y_true / y_pred)).")
Poisson = _loss_metric("Poisson", "poisson", "poisson", "Mean of mean(y_pred - y_true * log(y_pred + 1e-7)).")
Hinge = _loss_metric("Hinge", "hinge", "hinge", "Mean hinge loss (0/1 targets read as -1/1).")
SquaredHinge = _loss_metric("SquaredHinge", "squared_hinge", "squared_hinge", "Mean squared hinge loss.")
CategoricalHinge = _loss_metric("CategoricalHinge", "categorical_hinge", "categorical_hinge", "Mean categorical hinge.")
LogCoshError = _loss_metric("LogCoshError", "log_cosh", "logcosh", "Mean of mean(log(cosh(y_pred - y_true))).")
MeanAbsolutePercentageError = _loss_metric(
    "MeanAbsolutePercentageError",
    "mape",
    "mean_absolute_percentage_error",
    "Mean of 100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)).",
)
MeanSquaredLogarithmicError = _loss_metric(
    "MeanSquaredLogarithmicError",
    "msle",
    "mean_squared_logarithmic_error",
    "Mean of mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2).",
)


class CosineSimilarity(_LossMean):
    """Mean cosine similarity of targets and predictions over the last axis (higher is better).

    Args:
        name: Defaults to "cosine_similarity".
        dtype: Only float32 (or None). Defaults to None.
        axis: Only -1. Defaults to -1.
    """

    _loss, _sign, _direction = "cosine", -1.0, "up"
    _config_args = ("axis",)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name, dtype)
        self.axis = _last_axis(type(self).__name__, axis)
