"""Accuracy metrics, as keras/src/metrics/accuracy_metrics.py: the sample-weighted mean of each
sample's match, accumulated in C (csrc/metrics.c)."""

from pytrainc import _C
from pytrainc._checks import number
from pytrainc.metrics.base import _Builtin


def _positive_k(k):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int. Received: k={k!r}")
    return k


class Accuracy(_Builtin):
    """Share of elements where y_true equals y_pred exactly (keras.metrics.Accuracy).

    Args:
        name: Defaults to "accuracy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["accuracy"]

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class BinaryAccuracy(_Builtin):
    """Share of predictions equal to binary labels after thresholding (p > threshold).

    Args:
        name: Defaults to "binary_accuracy".
        dtype: Only float32 (or None). Defaults to None.
        threshold: Defaults to 0.5.
    """

    _kind = _C.METRICS["binary_accuracy"]

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name=name, dtype=dtype)
        self.threshold = number("threshold", threshold, low=0.0, high=1.0)
        self._threshold = self.threshold

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_Builtin):
    """Share of samples whose argmax matches the one-hot label's argmax.

    Args:
        name: Defaults to "categorical_accuracy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["categorical_accuracy"]

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SparseCategoricalAccuracy(_Builtin):
    """Share of samples whose argmax equals the integer label.

    Args:
        name: Defaults to "sparse_categorical_accuracy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["sparse_categorical_accuracy"]

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class TopKCategoricalAccuracy(_Builtin):
    """Share of samples whose one-hot label is among the k highest predictions.

    Args:
        k: Defaults to 5.
        name: Defaults to "top_k_categorical_accuracy".
        dtype: Only float32 (or None). Defaults to None.
    """

    _kind = _C.METRICS["top_k"]

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.k = self._k = _positive_k(k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(_Builtin):
    """Share of samples whose integer label is among the k highest predictions.

    Args:
        k: Defaults to 5.
        name: Defaults to "sparse_top_k_categorical_accuracy".
        dtype: Only float32 (or None). Defaults to None.
        from_sorted_ids: Whether y_pred holds class ids sorted best first (e.g. from
            ops.top_k) rather than scores. Defaults to False.
    """

    _kind = _C.METRICS["sparse_top_k"]

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name=name, dtype=dtype)
        self.k = self._k = _positive_k(k)
        self.from_sorted_ids = bool(from_sorted_ids)
        if self.from_sorted_ids:
            self._kind = _C.METRICS["sparse_top_k_ids"]

    def get_config(self):
        config = {**super().get_config(), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


class _AutoAccuracy(_Builtin):
    """'accuracy' / 'acc': resolved to binary, categorical or sparse categorical
    accuracy from the shapes of labels and predictions at fit time, as Keras does."""

    def __init__(self, name="accuracy"):
        super().__init__(name=name)

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
