"""Metrics, as `keras.metrics`. Their statistics accumulate in C inside the
epoch loop (csrc/metrics.c), weighted by sample weights; `result` turns them
into Keras's values once per epoch."""

import math

import numpy as np

from pytrainc import _C, _metric_state
from pytrainc._checks import number
from pytrainc._identifiers import from_identifier
from pytrainc.ops._trace import FunctionWrapper

# Kind ids come from the C registry (csrc/kinds.def, `_C.METRICS`); 0 means none.


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _div(a, b):
    return a / b if b else 0.0


class Metric:
    """Base class: a named statistic accumulated over an epoch.

    Built-in subclasses give the C kernel (`_kind`, `_k`, `_threshold`), the number of
    accumulator slots for outputs of width D, and the result from those slots and the sum of
    sample weights.

    A user subclass, as in Keras 3, creates state with `add_variable` (or `add_weight`) and
    defines `update_state(y_true, y_pred, sample_weight=None)` with `pytrainc.ops`, accumulating
    with `variable.assign_add(ops.sum(values))`, and `result()` (and optionally `reset_state()`).
    `update_state` is traced once into the plan (sample_weight is None there; fit's sample
    weights, if any, weight each sample's contribution); `result()` runs once per epoch on the
    NumPy state.

    Example:

    >>> from pytrainc import ops
    >>> class Positives(pytrainc.metrics.Metric):
    ...     def __init__(self, name="positives", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.count.assign_add(ops.sum(ops.cast(y_pred > 0.5, "float32")))
    ...     def result(self):
    ...         return self.count
    >>> Positives().name
    'positives'
    """

    _kind = None  # the C kernel, from _C.METRICS; set by each subclass
    _direction = "up"
    _k = 0
    _threshold = 0.5

    def __init__(self, name=None, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"Metric got unexpected keyword argument(s): {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"pytrainc metrics compute in float32. Received: dtype={dtype!r}")
        self.name = name if name is not None else _snake(type(self).__name__)
        self.dtype = "float32"
        if self._stateful():
            self._kind = _metric_state._STATE_KIND

    @classmethod
    def _stateful(cls):
        return cls.update_state is not Metric.update_state

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError(f"Metric '{self.name}' defines no update_state")

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Adds a state variable (Keras 3's Metric.add_variable); its value is reset and
        accumulated once per epoch."""
        from pytrainc import initializers

        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape or ())
        init = initializers.get(initializer)
        value = np.asarray(init(shape) if shape else init((1,)).reshape(()), np.float32)
        variables = self.__dict__.setdefault("_state_variables", [])
        variable = _metric_state.StateVariable(self, name or f"variable_{len(variables)}", value)
        variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        """Keras's older spelling of add_variable."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation, name=name)

    @property
    def variables(self):
        return list(self.__dict__.get("_state_variables", []))

    def reset_state(self):
        """Sets every state variable to zeros (Keras 3's default reset_state)."""
        for v in self.variables:
            v.assign(0.0)

    def _record(self, variable, value):
        return _metric_state.record(self, variable, value)

    def _slots(self, width):
        return _metric_state.n_slots(self) if self._stateful() else 1

    def _plan_rows(self):
        """(kind, k, threshold) of each of the metric's rows in the plan."""
        if self._stateful():
            return [(self._kind, k, 0.0) for k in self._k]
        return [(self._kind, self._k, self._threshold)]

    def _epoch_result(self, acc, weight_sum):
        if self._stateful():
            return _metric_state.result(self, acc)
        return self.result(acc, weight_sum)

    def result(self, acc, weight_sum):
        return float(_div(acc[0], weight_sum))

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class BinaryAccuracy(Metric):
    """Share of predictions equal to binary labels after thresholding.

    Args:
        name: Defaults to "binary_accuracy".
        threshold: Defaults to 0.5.
    """

    _kind = _C.METRICS["binary_accuracy"]

    def __init__(self, name="binary_accuracy", threshold=0.5):
        super().__init__(name)
        self._threshold = number("threshold", threshold, low=0.0, high=1.0)

    def get_config(self):
        return {"name": self.name, "threshold": self._threshold}


class CategoricalAccuracy(Metric):
    """Share of samples whose argmax matches the one-hot label's argmax."""

    _kind = _C.METRICS["categorical_accuracy"]

    def __init__(self, name="categorical_accuracy"):
        super().__init__(name)


class SparseCategoricalAccuracy(Metric):
    """Share of samples whose argmax equals the integer label."""

    _kind = _C.METRICS["sparse_categorical_accuracy"]

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name)


class TopKCategoricalAccuracy(Metric):
    """Share of samples whose one-hot label is among the k highest predictions.

    Args:
        k: Defaults to 5.
        name: Defaults to "top_k_categorical_accuracy".
    """

    _kind = _C.METRICS["top_k"]

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        super().__init__(name)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int. Received: k={k!r}")
        self._k = k

    def get_config(self):
        return {"name": self.name, "k": self._k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """Share of samples whose integer label is among the k highest predictions. Defaults: k=5."""

    _kind = _C.METRICS["sparse_top_k"]

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(k, name)


class MeanSquaredError(Metric):
    """Mean squared error."""

    _kind = _C.METRICS["mse"]
    _direction = "down"

    def __init__(self, name="mean_squared_error"):
        super().__init__(name)


class MeanAbsoluteError(Metric):
    """Mean absolute error."""

    _kind = _C.METRICS["mae"]
    _direction = "down"

    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the mean squared error over the epoch."""

    def __init__(self, name="root_mean_squared_error"):
        super().__init__(name)

    def result(self, acc, weight_sum):
        return math.sqrt(max(_div(acc[0], weight_sum), 0.0))


def _threshold(value):
    if value is None:
        return 0.5
    if isinstance(value, (list, tuple)):
        raise ValueError("pytrainc's Precision/Recall take one threshold. Received a list: " + repr(value))
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {value}")
    return value


class Precision(Metric):
    """TP / (TP + FP) over all elements (or one class), predictions thresholded.

    Args:
        thresholds: One float in [0, 1]. Defaults to None (0.5).
        class_id: Optional column to restrict to. Defaults to None.
        name: Defaults to "precision".
    """

    _kind = _C.METRICS["confusion"]

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision"):
        super().__init__(name)
        if top_k is not None:
            raise ValueError("pytrainc's Precision/Recall do not support top_k yet. Received: top_k=" + repr(top_k))
        self.thresholds = thresholds
        self._threshold = _threshold(thresholds)
        self.class_id = class_id
        self._k = -1 if class_id is None else int(class_id)

    def _slots(self, width):
        return 4

    def result(self, acc, weight_sum):
        tp, fp = acc[0], acc[1]
        return float(_div(tp, tp + fp))

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds, "class_id": self.class_id}


class Recall(Precision):
    """TP / (TP + FN) over all elements (or one class). Args as Precision; name="recall"."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall"):
        super().__init__(thresholds, top_k, class_id, name)

    def result(self, acc, weight_sum):
        tp, fn = acc[0], acc[2]
        return float(_div(tp, tp + fn))


class F1Score(Metric):
    """F1 = 2 precision recall / (precision + recall) per class, as Keras 3's F1Score.

    Labels are one-hot (or integer class ids). Predictions are one-hot of their
    argmax when threshold is None, else thresholded.

    Args:
        average: None (one value per class, an array), 'micro', 'macro' or 'weighted'.
            Defaults to None.
        threshold: Defaults to None.
        name: Defaults to "f1_score".
    """

    _kind = _C.METRICS["class_confusion"]

    def __init__(self, average=None, threshold=None, name="f1_score"):
        super().__init__(name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average!r}"
            )
        self.average = average
        self.threshold = threshold
        self._threshold = math.nan if threshold is None else _threshold(threshold)

    def _slots(self, width):
        return 3 * width

    def result(self, acc, weight_sum):
        c = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        tp, fp, fn = c[:, 0], c[:, 1], c[:, 2]
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        if self.average == "micro":
            return float(f1)
        if self.average == "macro":
            return float(f1.mean())
        if self.average == "weighted":
            support = tp + fn
            return float(_div((f1 * support).sum(), support.sum()))
        return f1.astype(np.float32)

    def get_config(self):
        return {"name": self.name, "average": self.average, "threshold": self.threshold}


class AUC(Metric):
    """Area under the ROC or precision-recall curve from `num_thresholds`
    thresholds, with Keras's thresholds and interpolation.

    Args:
        num_thresholds: Defaults to 200.
        curve: 'ROC' or 'PR'. Defaults to 'ROC'.
        name: Defaults to "auc".
    """

    _kind = _C.METRICS["auc"]

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name="auc"):
        super().__init__(name)
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 1:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: {num_thresholds!r}")
        if curve not in ("ROC", "PR"):
            raise ValueError(f"Invalid `curve` argument value. Expected 'ROC' or 'PR'. Received: curve={curve!r}")
        if summation_method != "interpolation":
            raise ValueError(
                f"pytrainc's AUC supports summation_method='interpolation' only. Received: {summation_method!r}"
            )
        self._k = num_thresholds
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation_method

    def _slots(self, width):
        return 2 * (self._k + 1)

    def result(self, acc, weight_sum):
        n = self._k
        acc = np.asarray(acc, dtype=np.float64)
        pos, neg = acc[: n + 1], acc[n + 1 :]
        # Predictions in bucket b exceed thresholds 0..b-1: count above threshold i = sum of buckets > i.
        tp = np.cumsum(pos[::-1])[::-1][1:]
        fp = np.cumsum(neg[::-1])[::-1][1:]
        fn, tn = pos.sum() - tp, neg.sum() - fp
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.curve == "ROC":  # keras/src/metrics/confusion_metrics.py AUC.result, interpolation
                recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
                fpr = np.where(fp + tn > 0, fp / (fp + tn), 0.0)
                heights = (recall[:-1] + recall[1:]) / 2
                return float(np.sum((fpr[:-1] - fpr[1:]) * heights))
            # interpolate_pr_auc (Davis and Goadrich, 2006)
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = np.where(np.maximum(dp, 0) > 0, dtp / np.maximum(dp, 0), 0.0)
            intercept = tp[1:] - slope * p[1:]
            ratio = np.where(
                (p[:-1] > 0) & (p[1:] > 0), np.where(p[1:] > 0, p[:-1] / np.maximum(p[1:], 1e-300), 0.0), 1.0
            )
            denom = np.maximum(tp[1:] + fn[1:], 0)
            inc = np.where(denom > 0, slope * (dtp + intercept * np.log(ratio)) / np.where(denom > 0, denom, 1), 0.0)
            return float(np.sum(inc))

    def get_config(self):
        return {
            "name": self.name,
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
        }


class _LossMean(Metric):
    """A Keras MeanMetricWrapper of a loss function: the sample-weighted mean of each sample's
    loss over the epoch, computed in C by the loss's row kernel (csrc/losses.c)."""

    _kind = _C.METRICS["loss_mean"]
    _direction = "down"
    _loss = None  # the row loss kind's name in _C.LOSSES
    _logits = None  # the kind read with from_logits=True, if the metric takes logits
    _sign = 1.0

    def __init__(self, name, dtype=None, from_logits=False, label_smoothing=0.0):
        super().__init__(name)
        if dtype not in (None, "float32"):
            raise ValueError(f"pytrainc computes in float32. Received: dtype={dtype!r}")
        if from_logits and self._logits is None:
            raise ValueError(f"Metric {type(self).__name__} does not take logits. Received: from_logits=True")
        self.from_logits = bool(from_logits)
        self.label_smoothing = number("label_smoothing", label_smoothing, low=0.0, high=1.0)
        self._k = _C.LOSSES[self._logits if self.from_logits else self._loss]
        self._threshold = self.label_smoothing

    def result(self, acc, weight_sum):
        return float(self._sign * _div(acc[0], weight_sum))


def _last_axis(cls, axis):
    if isinstance(axis, bool) or axis != -1:
        raise ValueError(f"pytrainc's {cls} metric reduces over the last axis: axis=-1. Received: axis={axis!r}")
    return -1


class BinaryCrossentropy(_LossMean):
    """Mean binary cross-entropy, as keras.metrics.BinaryCrossentropy.

    Args:
        name: Defaults to "binary_crossentropy".
        dtype: Only float32 (or None). Defaults to None.
        from_logits: Whether predictions are logits. Defaults to False.
        label_smoothing: Float in [0, 1]. Defaults to 0.
    """

    _loss, _logits = "bce", "sigmoid_bce"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(name, dtype, from_logits, label_smoothing)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


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

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(name, dtype, from_logits, label_smoothing)
        self.axis = _last_axis(type(self).__name__, axis)

    def get_config(self):
        return {
            "name": self.name,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


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

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1):
        super().__init__(name, dtype, from_logits)
        self.axis = _last_axis(type(self).__name__, axis)

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits, "axis": self.axis}


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
            "__module__": __name__,
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

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name, dtype)
        self.axis = _last_axis(type(self).__name__, axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class _Accuracy(Metric):
    """'accuracy' / 'acc': resolved to binary, categorical or sparse categorical
    accuracy from the shapes of labels and predictions at fit time, as Keras does."""

    def __init__(self, name="accuracy"):
        super().__init__(name)

    def resolve(self, y_true_shape, y_pred_shape, loss):
        # keras/src/trainers/compile_utils.py get_metric
        if y_pred_shape[-1] == 1:
            cls = BinaryAccuracy
        elif (
            getattr(loss, "sparse", False)
            or len(y_true_shape) < len(y_pred_shape)
            or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        ):
            cls = SparseCategoricalAccuracy
        else:
            cls = CategoricalAccuracy
        return cls(name=self.name)


class MeanMetricWrapper(FunctionWrapper, Metric):
    """A metric function `fn(y_true, y_pred)` written with `pytrainc.ops`, as Keras's MeanMetricWrapper.

    The function is traced once into the model's plan; each sample's values are averaged over
    their trailing axes, and the epoch's result is the sample-weighted mean of those.

    Args:
        fn: Returns per-sample values, e.g. `ops.mean(ops.abs(y_true - y_pred), axis=-1)`.
        name: Defaults to the function's name.
        **kwargs: Passed to fn.

    Example:

    >>> def max_error(y_true, y_pred):
    ...     return pytrainc.ops.max(pytrainc.ops.abs(y_true - y_pred), axis=-1)
    >>> pytrainc.metrics.MeanMetricWrapper(max_error).name
    'max_error'
    """

    _kind = _C.METRICS["traced_mean"]
    _direction = "down"
    _what = "metrics"

    def __init__(self, fn, name=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self._wrap(fn, kwargs)
        self._k = -1  # the buffer of its per-sample values, set when a plan is built


_CLASSES_LIST = (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    RootMeanSquaredError,
    Precision,
    Recall,
    F1Score,
    AUC,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
)
_BY_NAME = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError,
    "precision": Precision,
    "recall": Recall,
    "f1_score": F1Score,
    "auc": AUC,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "logcosh": LogCoshError,
    "log_cosh": LogCoshError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity,
}
_CLASSES = {c.__name__: c for c in _CLASSES_LIST}


def get(identifier):
    """Return a Metric from a name, a config dict or an instance.

    'accuracy' and 'acc' stay unresolved until fit sees the data.
    """
    if identifier in ("accuracy", "acc"):
        return _Accuracy(name=identifier)
    if callable(identifier) and not isinstance(identifier, (Metric, type)):
        return MeanMetricWrapper(identifier)
    return from_identifier(
        identifier,
        what="metric",
        base=Metric,
        names={**_BY_NAME, "accuracy": _Accuracy, "acc": _Accuracy},
        classes=_CLASSES,
        make=lambda cls, name: cls(name=name) if name in _BY_NAME else cls(),
        hint=". Expected a name such as 'accuracy', a config dict or a pytrainc.metrics.Metric",
    )


def serialize(metric):
    if isinstance(metric, _Accuracy):
        return metric.name
    from pytrainc.saving import object_registration

    return object_registration.tagged({"class_name": type(metric).__name__, "config": metric.get_config()}, metric)
