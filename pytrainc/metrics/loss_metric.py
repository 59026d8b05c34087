"""A `Loss` subclass given as a metric (`compile(metrics=[MyLoss()])`), as Keras 3's
compile_utils.get_metric wraps it: `MeanMetricWrapper(loss)`, named as the loss (repeated names
get Keras's `_1`, `_2` suffixes in History). Keras's wrapper calls the loss, which reduces each
batch to one value (its `reduction`), and averages those values over the batches: each batch
counts once, the last smaller one too. Traced into the plan as a Metric with state: the
per-sample losses divided by the batch's rows sum to the batch's value.
"""

import numpy as np

from pytrainc import _C, ops
from pytrainc.metrics.base import Metric, _Builtin, _div
from pytrainc.ops import _batch, _trace

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum")


class LossMetric(Metric):
    """The mean over batches of a custom loss's batch value (Keras's MeanMetricWrapper of a Loss)."""

    _direction = "down"

    def __init__(self, loss, name=None, dtype=None):
        super().__init__(name=name or loss.name, dtype=dtype)
        if loss.reduction not in _REDUCTIONS:
            raise ValueError(
                f"Loss '{loss.name}' as a metric: its reduction {loss.reduction!r} gives no value per batch. "
                f"Expected one of {list(_REDUCTIONS)}"
            )
        self._loss = loss
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._loss.call(y_true, y_pred)
        if not _trace.is_symbolic(values):  # eagerly, on arrays
            values = np.asarray(values, np.float64)
            value = values.sum() if self._loss.reduction == "sum" else values.mean()
            self.total.assign_add(np.float32(value))
            self.count.assign_add(1.0)
            return
        if len(values.sample_shape):
            reduce = ops.sum if self._loss.reduction == "sum" else ops.mean
            values = reduce(values, axis=tuple(range(1, len(values.shape))))
        rows = _batch.rows(values)  # the batch's real row count, in every row
        share = values if self._loss.reduction == "sum" else values / rows
        self.total.assign_add(ops.sum(share))
        self.count.assign_add(ops.sum(ops.ones_like(values) / rows))

    def result(self):
        count = float(np.asarray(self.count))
        return np.float32(float(np.asarray(self.total)) / count) if count else np.float32(0.0)

    def get_config(self):
        from pytrainc import losses

        return {"name": self.name, "dtype": self.dtype, "loss": losses.serialize(self._loss)}


# A built-in loss's row kernels that a metric can run (csrc/losses.c's ptc_loss_is_metric), by name.
_ROW_KINDS = {
    _C.LOSSES[n]
    for n in (
        "mse", "mae", "bce", "sigmoid_bce", "cce", "softmax_cce", "sparse_cce", "softmax_sparse_cce", "mape",
        "msle", "log_cosh", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine",
    )
    if n in _C.LOSSES
}  # fmt: skip
_MODES = {"sum_over_batch_size": 0, "mean": 0, "sum": 1, "none": 2}


class BuiltinLossMetric(_Builtin):
    """A built-in `Loss` instance given as a metric (`metrics=[losses.MeanSquaredError()]`), as Keras's
    MeanMetricWrapper of it: the loss reduces each batch to one value (unweighted, by its
    `reduction`) and the metric averages those values over the batches, each batch counting once
    (the last, smaller one too). Accumulated in C (the LOSS_BATCH_MEAN kind, the loss's row kernel)."""

    _kind = _C.METRICS["loss_batch_mean"]
    _direction = "down"

    def __init__(self, loss, name=None, dtype=None):
        super().__init__(name=name or loss.name, dtype=dtype)
        kind = loss._fused if loss.from_logits and getattr(loss, "_fused", None) is not None else loss._kind
        params = {k: v for k, v in loss._params().items() if v and k != "label_smoothing"}
        if kind not in _ROW_KINDS or params or loss.reduction not in _MODES:
            raise ValueError(
                f"Loss {loss.name!r} ({type(loss).__name__}) as a metric is not supported yet"
                + (f" with {sorted(params)}" if params else "")
                + ". Use a metric of the same formula, or a Loss subclass with call()"
            )
        self._loss = loss
        self._k = int(kind) | (_MODES[loss.reduction] << 32)
        self._threshold = float(loss._params().get("label_smoothing", 0.0))

    def _slots(self, width):
        return 2

    def _result(self, acc, weight_sum):
        return float(_div(acc[0], acc[1]))

    def get_config(self):
        from pytrainc import losses

        return {"name": self.name, "dtype": self.dtype, "loss": losses.serialize(self._loss)}

    @classmethod
    def from_config(cls, config):
        from pytrainc import losses

        config = dict(config)
        return cls(losses.deserialize(config.pop("loss")), **config)
