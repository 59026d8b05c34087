"""AUC, as keras/src/metrics/confusion_metrics.py AUC: per column histograms accumulated in C
over evenly spaced thresholds, or over a C table of any given thresholds (THRESHOLD_TABLE), then
the ROC, PR or PR-gain curve and its Riemann sum (or Davis and Goadrich's PR interpolation)
computed once per epoch."""

import numpy as np

from pytrainc.metrics.confusion import (
    _EPS,
    _SIGMOID,
    _TABLE_SIGMOID,
    _divide_no_nan,
    _evenly_spaced,
    _histogram_curves,
    _Histograms,
    _num_thresholds,
    _table_row,
)

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(_Histograms):
    """Area under the ROC, PR or PR-gain curve from `num_thresholds` thresholds, with Keras's
    thresholds and summation.

    Args:
        num_thresholds: Defaults to 200.
        curve: 'ROC', 'PR' or 'PRGAIN'. Defaults to 'ROC'.
        summation_method: 'interpolation', 'minoring' or 'majoring'. Defaults to 'interpolation'.
        name: Defaults to None ("auc").
        dtype: Only float32 (or None). Defaults to None.
        thresholds: Optional thresholds in [0, 1] (they replace num_thresholds; sorted, with
            Keras's -1e-7 and 1 + 1e-7 added). Unevenly spaced ones, any number of them, count in
            C over a table of thresholds, predictions unclipped as Keras. Defaults to None.
        multi_label: One curve per label, averaged (else every element is one prediction).
            Defaults to False.
        num_labels: The labels' count with multi_label. Defaults to None.
        label_weights: Optional per-label weights. Defaults to None.
        from_logits: Whether predictions are logits (a sigmoid is applied). Defaults to False.
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        self._table = None  # unevenly spaced thresholds: one confusion row each
        if thresholds is not None:
            thresholds = sorted(float(t) for t in thresholds)
            if not _evenly_spaced(thresholds):
                self._table = [0.0 - _EPS] + thresholds + [1.0 + _EPS]  # Keras's, compared unclipped
            self.num_thresholds = len(thresholds) + 2
        else:
            self.num_thresholds = _num_thresholds(num_thresholds)
        if not isinstance(curve, str) or curve.lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if not isinstance(summation_method, str) or summation_method.lower() not in _SUMMATIONS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self.curve = _CURVES[curve.lower()]
        self.summation_method = summation_method.lower()
        self.multi_label = bool(multi_label)
        if num_labels and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float32)
        self._from_logits = bool(from_logits)
        self._flags = _SIGMOID if self._from_logits else 0

    @property
    def thresholds(self):
        if self._table is not None:
            return list(self._table)
        n = self.num_thresholds
        return [0.0 - _EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0 + _EPS]

    def _plan_rows(self):
        if self._table is not None:
            return [_table_row(self._table, _TABLE_SIGMOID if self._from_logits else 0)]
        return super()._plan_rows()

    def _curves(self, acc):
        return _histogram_curves(acc, self.num_thresholds)

    def _check_standalone(self, y, pred):
        if self.label_weights is not None and len(self.label_weights) != pred.shape[1]:
            raise ValueError(
                f"AUC: label_weights has {len(self.label_weights)} values for y_pred of width {pred.shape[1]}"
            )

    def _result(self, acc, weight_sum):
        tp, fp, tn, fn = self._curves(acc)  # (thresholds, labels)
        lw = self.label_weights
        if not self.multi_label:
            if lw is not None:  # weights multiply each element's count
                tp, fp, tn, fn = (c * lw[None, :] for c in (tp, fp, tn, fn))
            tp, fp, tn, fn = (c.sum(axis=1, keepdims=True) for c in (tp, fp, tn, fn))
        if self.curve == "PR" and self.summation_method == "interpolation":
            by_label = self._interpolate_pr(tp, fp, fn)
        else:
            by_label = self._riemann(tp, fp, tn, fn)
        if not self.multi_label:
            return float(by_label[0])
        if lw is None:
            return float(np.mean(by_label))
        return float(_divide_no_nan(np.sum(by_label * lw), np.sum(lw)))

    def _interpolate_pr(self, tp, fp, fn):
        # interpolate_pr_auc (Davis and Goadrich, 2006)
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(ratio)
        inc = _divide_no_nan(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return inc.sum(axis=0)

    def _riemann(self, tp, fp, tn, fn):
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum(axis=0)

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
