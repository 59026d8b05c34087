"""Intersection-over-union metrics, as keras/src/metrics/iou_metrics.py: a num_classes x
num_classes confusion matrix (rows: true class, columns: predicted class) accumulated in C
(csrc/metrics_confusion.c), its IoU per target class read once per epoch."""

import math

import numpy as np

from pytrainc import _C
from pytrainc.metrics.base import _Builtin

_ONEHOT_TRUE, _ONEHOT_PRED, _INT_WEIGHTS, _BINARY = 1, 2, 4, 8  # CONFUSION_MATRIX flags
_EPS = 1e-7


def _iou_dtype(dtype):
    # Keras's IoU metrics default to dtype "int": class ids and sample weights are truncated.
    if dtype in (None, "int", "int32", "int64"):
        return "int32"
    if dtype in ("float32", np.float32):
        return "float32"
    raise ValueError(f"pytrainc's IoU metrics take dtype None/'int' or 'float32'. Received: dtype={dtype!r}")


class IoU(_Builtin):
    """Intersection over union of the target classes, averaged, as keras.metrics.IoU.

    Args:
        num_classes: The number of classes (the confusion matrix is num_classes^2).
        target_class_ids: The classes whose IoU is averaged.
        name: Defaults to None ("io_u").
        dtype: None or 'int' (Keras's default: sample weights are truncated to integers), or
            'float32'. Defaults to None.
        ignore_class: A true class id that is skipped. Defaults to None.
        sparse_y_true: Whether y_true holds class ids (else one-hot: argmax). Defaults to True.
        sparse_y_pred: Whether y_pred holds class ids (else scores: argmax). Defaults to True.
        axis: Only -1. Defaults to -1.
    """

    _kind = _C.METRICS["confusion_matrix"]
    _counts = True

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        _Builtin.__init__(self, name=name)
        self.dtype = _iou_dtype(dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 1 <= num_classes <= 4096:
            raise ValueError(f"num_classes must be an int in [1, 4096]. Received: num_classes={num_classes!r}")
        ids = list(target_class_ids)
        if not ids or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in ids):
            raise ValueError(f"target_class_ids must be a non-empty list of ints. Received: {target_class_ids!r}")
        if max(ids) >= num_classes or min(ids) < 0:
            bad = max(ids) if max(ids) >= num_classes else min(ids)
            raise ValueError(f"Target class id {bad} is out of range, which is [0, {num_classes}).")
        if axis != -1 or isinstance(axis, bool):
            raise ValueError(f"pytrainc's IoU metrics take the class axis last: axis=-1. Received: axis={axis!r}")
        self.num_classes = num_classes
        self.target_class_ids = [int(i) for i in ids]
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = bool(sparse_y_true), bool(sparse_y_pred), axis

    def _flags(self):
        flags = (0 if self.sparse_y_true else _ONEHOT_TRUE) | (0 if self.sparse_y_pred else _ONEHOT_PRED)
        return flags | (_INT_WEIGHTS if self.dtype == "int32" else 0)

    def _plan_rows(self):
        threshold = math.nan if self.ignore_class is None else float(self.ignore_class)
        return [(self._kind, self.num_classes | (self._flags() << 32), threshold)]

    def _slots(self, width):
        return self.num_classes**2

    def _result(self, acc, weight_sum):
        cm = np.asarray(acc, np.float64).reshape(self.num_classes, self.num_classes)
        tp = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + _EPS), 0.0)
        return float(np.sum(iou) / (np.sum(valid) + _EPS))

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class BinaryIoU(IoU):
    """IoU of the classes 0 and 1 with predictions y_pred >= threshold, as keras.metrics.BinaryIoU.

    Args:
        target_class_ids: Defaults to (0, 1).
        threshold: Defaults to 0.5.
        name: Defaults to None ("binary_io_u").
        dtype: As IoU. Defaults to None.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def _plan_rows(self):
        return [(self._kind, 2 | ((self._flags() | _BINARY) << 32), self.threshold)]

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


class MeanIoU(IoU):
    """The mean IoU over every class, as keras.metrics.MeanIoU. Args as IoU, without target_class_ids."""

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1
    ):
        super().__init__(
            num_classes, list(range(num_classes)) if isinstance(num_classes, int) else [0], name, dtype,
            ignore_class, sparse_y_true, sparse_y_pred, axis,
        )  # fmt: skip

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """IoU with one-hot labels (and scores unless sparse_y_pred), as keras.metrics.OneHotIoU.

    Args:
        num_classes: The number of classes.
        target_class_ids: The classes whose IoU is averaged.
        name: Defaults to None ("one_hot_io_u").
        dtype: As IoU. Defaults to None.
        ignore_class: Defaults to None.
        sparse_y_pred: Defaults to False.
        axis: Only -1. Defaults to -1.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):  # fmt: skip
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """The mean IoU with one-hot labels, as keras.metrics.OneHotMeanIoU. Args as OneHotIoU,
    without target_class_ids."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
