"""The metric functions keras.metrics exports, eager on arrays (NumPy, float32), as
keras/src/metrics/accuracy_metrics.py and correlation_metrics.py; in `compile(metrics=[fn])`
each one runs as its metric class's C kernel (pytrainc.metrics.get)."""

import numpy as np


def _pair(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank for float32 arrays."""
    y_pred = np.asarray(y_pred, np.float32)
    y_true = np.asarray(y_true, np.float32)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


def _argmax(x):
    return np.argmax(x, axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Elementwise 1.0 where (y_pred > threshold) equals y_true, else 0.0."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ((y_pred > threshold).astype(np.float32) == y_true).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where argmax(y_pred) equals argmax(y_true)."""
    return (_argmax(np.asarray(y_true)) == _argmax(np.asarray(y_pred, np.float32))).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample 1.0 where argmax(y_pred) equals the integer label y_true."""
    y_pred = np.asarray(y_pred, np.float32)
    y_true = np.asarray(y_true, np.float32)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (_argmax(y_pred).astype(np.float32) == y_true).astype(np.float32)


def _in_top_k(target, y_pred, k):
    """tf.math.in_top_k: fewer than k classes score strictly higher than the target."""
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    target = target.reshape(-1).astype(np.int64)
    valid = (target >= 0) & (target < y_pred.shape[-1])
    score = y_pred[np.arange(len(target)), np.where(valid, target, 0)]
    higher = (y_pred > score[:, None]).sum(axis=-1)
    return (valid & (higher < k) & ~np.isnan(score)).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample 1.0 where the one-hot label's class is among the k highest predictions."""
    y_pred = np.asarray(y_pred, np.float32)
    target = _argmax(np.asarray(y_true))
    return _in_top_k(target, y_pred, k).reshape(target.shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample 1.0 where the integer label is among the k highest predictions (or, with
    from_sorted_ids, among the first k ids of y_pred)."""
    y_pred = np.asarray(y_pred, np.float32)
    y_true = np.asarray(y_true, np.float32)
    shape = y_true.shape
    if from_sorted_ids:
        ids = y_pred.reshape(-1, y_pred.shape[-1])[:, :k]
        return np.any(ids == y_true.reshape(-1, 1), axis=1).astype(np.float32).reshape(shape)
    return _in_top_k(y_true.astype(np.int64), y_pred, k).reshape(shape)


def _std(x, axis):
    return np.sqrt(np.mean(np.square(x - np.mean(x, axis=axis, keepdims=True)), axis=axis, keepdims=True))


def pearson_correlation(y_true, y_pred, axis=-1):
    """The Pearson correlation of y_true and y_pred along `axis` (Keras's formula)."""
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - np.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - np.mean(y_pred, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean((t / _std(t, axis)) * (p / _std(p, axis)), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """The concordance correlation coefficient along `axis`, with Keras's covariance term
    (y_true - mean(y_pred)) * (y_pred - mean(y_pred)) and epsilon."""
    y_true, y_pred = _pair(y_true, y_pred)
    mt = np.mean(y_true, axis=axis, keepdims=True)
    mp = np.mean(y_pred, axis=axis, keepdims=True)
    vt = np.var(y_true - mt, axis=axis, keepdims=True)
    vp = np.var(y_pred - mp, axis=axis, keepdims=True)
    covar = (y_true - mp) * (y_pred - mp)
    return np.mean(2 * covar / (vt + vp + np.square(mt - mp) + 1e-7), axis=axis)
