"""Confusion-matrix metrics, as keras/src/metrics/confusion_metrics.py and f_score_metrics.py.

Their counts accumulate in C: [TP, FP, FN, TN] at one threshold (one plan row), per class
[TP, FP, FN] (F-scores), per column histograms over Keras's evenly spaced thresholds (AUC and the
sensitivity/specificity family), or per column counts over a table of any thresholds (lists of
Precision/Recall/TP.., AUC's thresholds=); Python reads the curves once per epoch.
"""

import numpy as np

from pytrainc import _C
from pytrainc.metrics.base import _Builtin

_SIGMOID, _EXACT_ENDS = 1, 2  # HISTOGRAMS flags (csrc/metrics_confusion.c)
_TABLE_SIGMOID = 1  # THRESHOLD_TABLE flags (csrc/metrics_table.c)
NEG_INF = -1e10  # Keras's metrics_utils.NEG_INF: the threshold of Precision/Recall with top_k
_EPS = 1e-7


def _thresholds(thresholds, default):
    """Keras's parse_init_thresholds: a list of floats in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not 0.0 <= float(t) <= 1.0]
    if bad or not values:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad or values}")
    return [float(t) for t in values]


def _num_thresholds(num_thresholds, low=2):
    if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < low:
        raise ValueError(f"Argument `num_thresholds` must be an integer > {low - 1}. Received: {num_thresholds!r}")
    return num_thresholds


def _class_id(class_id):
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0):
        raise ValueError(f"class_id must be a non-negative int or None. Received: class_id={class_id!r}")
    return class_id


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _evenly_distributed(thresholds):
    """Keras's is_evenly_distributed_thresholds: 0, 1/(n-1), ..., 1 for n >= 3 thresholds."""
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=_EPS)


def _histogram_curves(acc, n):
    """(tp, fp, tn, fn), each (n, columns), from per column histograms over n thresholds."""
    h = np.asarray(acc, np.float64).reshape(-1, 2, n + 1)
    pos, neg = h[:, 0], h[:, 1]
    tp = np.cumsum(pos[:, ::-1], axis=1)[:, ::-1][:, 1:].T
    fp = np.cumsum(neg[:, ::-1], axis=1)[:, ::-1][:, 1:].T
    return tp, fp, neg.sum(axis=1) - fp, pos.sum(axis=1) - tp


def _table_row(sorted_thresholds, flags=0, top_k=0):
    """A THRESHOLD_TABLE plan row: per column counts over sorted thresholds of any number and spacing."""
    n = len(sorted_thresholds)
    return (_C.METRICS["threshold_table"], n | (flags << 32) | (top_k << 40), 0.0, list(sorted_thresholds))


class _ThresholdCounts(_Builtin):
    """[TP, FP, FN, TN] at each threshold: one threshold is one plan row; over evenly distributed
    thresholds (Keras's optimized update: predictions clipped to [0, 1]) one row of per column
    histograms; any other list (of any length, any order) one row over a C table of the sorted
    thresholds, compared unclipped as Keras's unoptimized update."""

    _kind = _C.METRICS["confusion"]
    _counts = True
    top_k = None
    class_id = None

    def _histograms(self):
        return self.top_k is None and _evenly_distributed(self.thresholds)

    def _table(self):
        return not self._histograms() and len(self.thresholds) > 1

    def _plan_rows(self):
        if self._histograms():
            return [(_C.METRICS["histograms"], len(self.thresholds) | (_EXACT_ENDS << 32), 0.0)]
        if self._table():
            return [_table_row(sorted(self.thresholds), top_k=self.top_k or 0)]
        if self.top_k is not None:
            k = self.top_k | ((0 if self.class_id is None else self.class_id + 1) << 32)
            return [(_C.METRICS["confusion_top_k"], k, t) for t in self.thresholds]
        return [(self._kind, -1 if self.class_id is None else self.class_id, t) for t in self.thresholds]

    def _slots(self, width):
        if self._histograms() or self._table():
            return 2 * (len(self.thresholds) + 1) * width
        return 4 * len(self.thresholds)

    def _counts_of(self, acc):
        if self._histograms() or self._table():
            tp, fp, tn, fn = _histogram_curves(acc, len(self.thresholds))
            if self._table():  # the table is sorted: back to the user's order
                order = np.argsort(np.asarray(self.thresholds, np.float32), kind="stable")
                rank = np.empty_like(order)
                rank[order] = np.arange(len(order))
                tp, fp, tn, fn = (c[rank] for c in (tp, fp, tn, fn))
            if self.class_id is not None:
                return tuple(c[:, self.class_id] for c in (tp, fp, fn, tn))
            return tuple(c.sum(axis=1) for c in (tp, fp, fn, tn))
        c = np.asarray(acc, np.float64).reshape(-1, 4)
        return c[:, 0], c[:, 1], c[:, 2], c[:, 3]

    def _one_or_all(self, values):
        values = np.asarray(values, np.float64)
        return float(values[0]) if len(values) == 1 else values.astype(np.float32)


class Precision(_ThresholdCounts):
    """TP / (TP + FP) over all elements (or one class), predictions thresholded.

    Args:
        thresholds: A float or list of floats in [0, 1] (a list gives one value per
            threshold). Defaults to None (0.5, or -1e10 with top_k).
        top_k: Only a row's top_k predictions count as positive. Defaults to None.
        class_id: Optional column to restrict to. Defaults to None.
        name: Defaults to None ("precision").
        dtype: Only float32 (or None). Defaults to None.
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int or None. Received: top_k={top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = _class_id(class_id)
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)

    def _result(self, acc, weight_sum):
        tp, fp, fn, _ = self._counts_of(acc)
        return self._one_or_all(_divide_no_nan(tp, tp + fp))

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Recall(Precision):
    """TP / (TP + FN) over all elements (or one class). Args as Precision; name defaults to "recall"."""

    def _result(self, acc, weight_sum):
        tp, fp, fn, _ = self._counts_of(acc)
        return self._one_or_all(_divide_no_nan(tp, tp + fn))


class _ConfusionCount(_ThresholdCounts):
    _column = 0  # TP 0, FP 1, FN 2, TN 3

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)

    def _result(self, acc, weight_sum):
        return self._one_or_all(self._counts_of(acc)[self._column])

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted count of true positives (y_pred > threshold, y_true nonzero).

    Args:
        thresholds: A float or list of floats in [0, 1]. Defaults to None (0.5).
        name: Defaults to None ("true_positives").
        dtype: Only float32 (or None). Defaults to None.
    """


class FalsePositives(_ConfusionCount):
    """The weighted count of false positives. Args as TruePositives."""

    _column = 1


class FalseNegatives(_ConfusionCount):
    """The weighted count of false negatives. Args as TruePositives."""

    _column = 2


class TrueNegatives(_ConfusionCount):
    """The weighted count of true negatives. Args as TruePositives."""

    _column = 3


class FBetaScore(_Builtin):
    """The F-beta score per class, as keras.metrics.FBetaScore.

    Labels are one-hot (or integer class ids). Predictions are one-hot of their
    argmax when threshold is None, else thresholded.

    Args:
        average: None (one value per class, an array), 'micro', 'macro' or 'weighted'.
            Defaults to None.
        beta: A float > 0. Defaults to 1.0.
        threshold: A float in (0, 1], or None. Defaults to None.
        name: Defaults to "fbeta_score".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["class_confusion"]
    _counts = True

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average!r}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta!r} of type "
                f"'{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold!r} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    f"Invalid `threshold` argument value. It should verify 0 < threshold <= 1. Received: "
                    f"threshold={threshold}"
                )
        self.average, self.beta, self.threshold = average, beta, threshold
        self._threshold = float("nan") if threshold is None else threshold

    def _slots(self, width):
        return 3 * width

    def _result(self, acc, weight_sum):
        c = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        tp, fp, fn = c[:, 0], c[:, 1], c[:, 2]
        support = tp + fn  # Keras's intermediate_weights: sum of w * y_true per class
        if self.average == "micro":
            tp, fp, fn, support = tp.sum(), fp.sum(), fn.sum(), support.sum()
        # keras/src/metrics/f_score_metrics.py FBetaScore.result, epsilons included
        precision = tp / (tp + fp + _EPS)
        recall = tp / (tp + fn + _EPS)
        b2 = self.beta**2
        f = precision * recall / (b2 * precision + recall + _EPS) * (1 + b2)
        if self.average == "weighted":
            return float(np.sum(f * support / (np.sum(support) + _EPS)))
        if self.average is not None:
            return float(np.mean(f))
        return np.asarray(f, np.float32)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 = 2 precision recall / (precision + recall) per class, as keras.metrics.F1Score.

    Args:
        average: None, 'micro', 'macro' or 'weighted'. Defaults to None.
        threshold: A float in (0, 1], or None. Defaults to None.
        name: Defaults to "f1_score".
        dtype: Only float32 (or None). Defaults to None.
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class _Histograms(_Builtin):
    """Per column histograms of predictions over `num_thresholds` evenly spaced thresholds
    (Keras's optimized confusion update); curves are cumulative sums of the buckets."""

    _kind = _C.METRICS["histograms"]
    _counts = True
    _flags = 0

    def _plan_rows(self):
        return [(self._kind, self.num_thresholds | (self._flags << 32), 0.0)]

    def _slots(self, width):
        return 2 * (self.num_thresholds + 1) * width

    def _curves(self, acc):
        """(tp, fp, tn, fn), each (num_thresholds, columns)."""
        return _histogram_curves(acc, self.num_thresholds)


class _SensitivitySpecificity(_Histograms):
    _flags = _EXACT_ENDS
    _arg = None  # Keras's argument name: specificity, sensitivity, recall or precision

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._arg}` must be in the range [0, 1]. Received: {self._arg}={value!r}")
        self.value = value
        setattr(self, self._arg, value)
        self.num_thresholds = _num_thresholds(num_thresholds, low=1)
        self.class_id = _class_id(class_id)

    def _check_standalone(self, y, pred):
        if self.class_id is not None and self.class_id >= pred.shape[1]:
            raise ValueError(f"class_id={self.class_id} is out of range for y_pred of width {pred.shape[1]}")

    def _result(self, acc, weight_sum):
        tp, fp, tn, fn = self._curves(acc)
        if self.class_id is not None:
            tp, fp, tn, fn = (c[:, self.class_id] for c in (tp, fp, tn, fn))
        else:
            tp, fp, tn, fn = (c.sum(axis=1) for c in (tp, fp, tn, fn))
        constrained, dependent = self._pair(tp, fp, tn, fn)
        return float(np.max(np.where(constrained >= self.value, dependent, 0.0), initial=0.0))

    def get_config(self):
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._arg: self.value,
        }


def _sensitivity(tp, fn):
    return _divide_no_nan(tp, tp + fn)


def _specificity(tn, fp):
    return _divide_no_nan(tn, tn + fp)


class SensitivityAtSpecificity(_SensitivitySpecificity):
    """The best sensitivity where specificity >= `specificity`, as Keras.

    Args:
        specificity: A float in [0, 1].
        num_thresholds: Thresholds to try (1: only 0.5). Defaults to 200.
        class_id: Optional column to score. Defaults to None.
        name: Defaults to None ("sensitivity_at_specificity").
        dtype: Only float32 (or None). Defaults to None.
    """

    _arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def _pair(self, tp, fp, tn, fn):
        return _specificity(tn, fp), _sensitivity(tp, fn)


class SpecificityAtSensitivity(_SensitivitySpecificity):
    """The best specificity where sensitivity >= `sensitivity`. Args as SensitivityAtSpecificity."""

    _arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def _pair(self, tp, fp, tn, fn):
        return _sensitivity(tp, fn), _specificity(tn, fp)


class PrecisionAtRecall(_SensitivitySpecificity):
    """The best precision where recall >= `recall`. Args as SensitivityAtSpecificity."""

    _arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def _pair(self, tp, fp, tn, fn):
        return _sensitivity(tp, fn), _divide_no_nan(tp, tp + fp)


class RecallAtPrecision(_SensitivitySpecificity):
    """The best recall where precision >= `precision`. Args as SensitivityAtSpecificity."""

    _arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def _pair(self, tp, fp, tn, fn):
        return _divide_no_nan(tp, tp + fp), _sensitivity(tp, fn)


def _evenly_spaced(thresholds):
    """Keras's is_evenly_distributed_thresholds of [0] + thresholds + [1]."""
    values = np.array([0.0] + list(thresholds) + [1.0])
    n = len(values)
    return n >= 3 and np.allclose(values, np.arange(n, dtype=np.float32) / (n - 1), atol=_EPS)
