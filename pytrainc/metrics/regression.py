"""Regression metrics, as keras/src/metrics/regression_metrics.py and correlation_metrics.py,
accumulated in C (csrc/metrics.c): weighted means of per-sample errors, R2Score's sums of
moments per output column, and the per-sample correlations."""

import math
import warnings

import numpy as np

from pytrainc import _C
from pytrainc.metrics.base import _Builtin, _div


def _last_axis(cls, axis):
    if isinstance(axis, bool) or axis != -1:
        raise ValueError(f"pytrainc's {cls} metric reduces over the last axis: axis=-1. Received: axis={axis!r}")
    return -1


class MeanSquaredError(_Builtin):
    """Mean squared error.

    Args:
        name: Defaults to "mean_squared_error".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["mse"]
    _direction = "down"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(_Builtin):
    """Mean absolute error.

    Args:
        name: Defaults to "mean_absolute_error".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["mae"]
    _direction = "down"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(MeanSquaredError):
    """Square root of the mean squared error over the epoch.

    Args:
        name: Defaults to "root_mean_squared_error".
        dtype: Only float32 (or None). Defaults to None.
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _result(self, acc, weight_sum):
        return math.sqrt(max(_div(acc[0], weight_sum), 0.0))


class R2Score(_Builtin):
    """The coefficient of determination per output column, as keras.metrics.R2Score.

    Args:
        class_aggregation: None (one score per column), "uniform_average" or
            "variance_weighted_average". Defaults to "uniform_average".
        num_regressors: Regressors of the adjusted R2 (0: plain R2). Defaults to 0.
        name: Defaults to "r2_score".
        dtype: Only float32 (or None). Defaults to None.

    Example:

    >>> m = pytrainc.metrics.R2Score()
    >>> m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
    >>> round(float(m.result()), 4)
    0.5
    """

    _kind = _C.METRICS["r2"]

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        allowed = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in allowed:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{allowed}. Received: class_aggregation={class_aggregation}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(
                f"Invalid value for argument `num_regressors`. Expected a value >= 0. Received: "
                f"num_regressors={num_regressors}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors

    def _slots(self, width):
        return 4 * width + 1

    def _check_standalone(self, y, pred):
        if y.shape != pred.shape:
            raise ValueError(
                f"R2Score expects y_true and y_pred of one shape (batch_size, output_dim). Received: "
                f"y_true.shape={y.shape}, y_pred.shape={pred.shape}"
            )

    def _result(self, acc, weight_sum):
        acc = np.asarray(acc, np.float64)
        c = acc[:-1].reshape(-1, 4)
        s, sq, res, count = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s / count
            total = sq - s * mean
            raw = 1.0 - res / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = acc[-1], self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. Falling back to "
                    "standard R2 score.",
                    stacklevel=2,
                )
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.", stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return np.asarray(score, np.float32) if self.class_aggregation is None else float(score)

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }


class PearsonCorrelation(_Builtin):
    """Mean over samples of the Pearson correlation of y_true and y_pred over the last axis.

    Args:
        name: Defaults to "pearson_correlation".
        dtype: Only float32 (or None). Defaults to None.
        axis: Only -1. Defaults to -1.
    """

    _kind = _C.METRICS["correlation"]
    _k = 0

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.axis = _last_axis(type(self).__name__, axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ConcordanceCorrelation(PearsonCorrelation):
    """Mean over samples of the concordance correlation coefficient over the last axis.

    Args:
        name: Defaults to "concordance_correlation".
        dtype: Only float32 (or None). Defaults to None.
        axis: Only -1. Defaults to -1.
    """

    _k = 1

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)
