"""Data checks for fit/evaluate/predict: once per call, never per batch.

Inputs become C-contiguous float32 arrays the engine reads directly; NaN, inf,
empty data and mismatched lengths are refused here with a clear ValueError.
"""

import math
import threading

import numpy as np

from pytrainc import losses
from pytrainc.trainers import pandas_data


def _as_array(data, what):
    if data is None:
        raise ValueError(f"{what} is required. Received: None")
    # -- pandas (issue #12): a DataFrame or Series gives its values, a view when it can --
    if pandas_data.is_pandas(data):
        data = pandas_data.to_numpy(data, what)
    # -- end of pandas --
    if isinstance(data, (list, tuple)):
        try:
            data = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"{what} must be a rectangular array. Received a ragged list ({exc})") from None
    if not isinstance(data, np.ndarray):
        if hasattr(data, "__array__"):
            data = np.asarray(data)
        else:
            raise TypeError(f"{what} must be a NumPy array or a list. Received: {type(data).__name__}")
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold numbers (a float, int or bool dtype). Received: dtype={data.dtype}")
    if data.ndim == 0:
        raise ValueError(f"{what} must have a batch axis. Received a scalar")
    if data.shape[0] == 0:
        raise ValueError(f"{what} is empty: expected at least one sample. Received: shape={data.shape}")
    return data


def _adjust_input_rank(x, expected):
    """x with Keras 3's rank adjustment for an input of sample shape `expected`
    (`Functional._adjust_input_rank`): a last axis of size 1 that the input lacks is
    dropped, and one that the input has is added, so that a pandas Series or any
    (n,) array feeds a one-column input. Other shapes are left for the caller to refuse."""
    shape, expected = tuple(x.shape[1:]), tuple(expected)
    if len(shape) == len(expected) + 1 and shape == expected + (1,):
        return x.reshape(x.shape[:-1])
    if expected and expected[-1] == 1 and shape == expected[:-1]:
        return x.reshape(x.shape + (1,))
    return x


def _check_finite(arr, what):
    """Refuse NaN and inf, checking a block of rows at a time so that the
    boolean temporary stays small (a whole-array isfinite doubles peak memory)."""
    if arr.dtype.kind != "f":
        return
    flat = arr.reshape(arr.shape[0], -1)
    rows = max(1, (1 << 20) // max(1, flat.shape[1]))
    for start in range(0, flat.shape[0], rows):
        block = flat[start : start + rows]
        if not np.isfinite(block).all():
            bad = int(np.size(arr) - sum(np.isfinite(flat[i : i + rows]).sum() for i in range(0, flat.shape[0], rows)))
            raise ValueError(f"{what} contains {bad} NaN or infinite value(s); expected finite numbers")


def _to_float32(arr, what, checked=False):
    """C-contiguous float32 copy (or view) of arr, refusing NaN, inf (unless the
    caller already checked) and values that overflow float32."""
    if not checked:
        _check_finite(arr, what)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if out.dtype.kind == "f" and arr.dtype.itemsize > 4 and not np.isfinite(out).all():
        raise ValueError(f"{what} holds values outside the float32 range (|x| > 3.4e38); pytrainc computes in float32")
    return out


def _check_validation_split(value):
    """fit's validation_split: a number in [0, 1)."""
    ok = (
        not isinstance(value, (bool, np.bool_))
        and isinstance(value, (int, float, np.integer, np.floating))
        and 0.0 <= float(value) < 1.0
    )
    if not ok:
        raise ValueError(
            f"validation_split must be in [0, 1), a fraction of the samples. Received: validation_split={value!r}"
        )


def _check_probability_targets(loss, y, what):
    """Binary and categorical cross-entropy read targets as probabilities: refuse any
    outside [0, 1], which would give a loss with no minimum. Once per call, on the
    (already finite) targets."""
    if isinstance(loss, (losses.BinaryCrossentropy, losses.CategoricalCrossentropy)) and y.size:
        low, high = y.min(), y.max()
        if low < 0 or high > 1:
            raise ValueError(f"{loss.name} expects targets in [0, 1]. Received: {what} with values in [{low}, {high}]")


def _class_ids(y32, what="y"):
    """Class index per sample for class_weight: argmax of one-hot rows, or the value of
    a single column, which must then hold integer class ids >= 0."""
    if y32.shape[1] > 1:
        return np.argmax(y32, axis=1)
    col = y32[:, 0]
    if not np.all(col == np.round(col)):
        raise ValueError(
            "class_weight needs class targets: one-hot rows or integer class ids. "
            f"Received: {what} with non-integer values (regression targets?)"
        )
    if col.min() < 0:
        raise ValueError(
            "class_weight needs class targets: one-hot rows or integer class ids >= 0. "
            f"Received: {what} with values in [{col.min()}, {col.max()}]"
        )
    return col.astype(np.int64)


def _prepare_weights(sample_weight, class_weight, y32, n, what="sample_weight"):
    """Per-sample float32 weights from sample_weight and/or class_weight (Keras's
    rules: a missing class weighs 1, both multiply), or None."""
    w = None
    if sample_weight is not None:
        w = _as_array(sample_weight, what)
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(f"{what} must have shape ({n},), one weight per sample. Received: shape={w.shape}")
        w = _to_float32(w, what)
        if (w < 0).any():
            raise ValueError(f"{what} must be >= 0. Received a minimum of {w.min()}")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"class_weight must be a dict {{class index: weight}}. Received: {type(class_weight).__name__}"
            )
        for k, v in class_weight.items():
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
                raise ValueError(f"class_weight keys must be class indices (ints). Received: {k!r}")
            is_number = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            if not is_number or not math.isfinite(float(v)) or float(v) < 0:
                raise ValueError(f"class_weight values must be finite and >= 0. Received: {k}: {v!r}")
        ids = _class_ids(y32)
        cw = np.array([class_weight.get(int(c), 1.0) for c in range(int(ids.max()) + 1)], dtype=np.float32)
        cw = cw[ids]
        w = cw if w is None else w * cw
    return None if w is None else np.ascontiguousarray(w, dtype=np.float32)


def _engine_batch(batch_size, n):
    """The rows the engine reserves for a batch: never more than the n samples present."""
    return max(1, min(int(batch_size), int(n)))


def _interruptible():
    return threading.current_thread() is threading.main_thread()
