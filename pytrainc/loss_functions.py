"""Keras's loss functions, for code such as `loss=keras.losses.categorical_crossentropy` or a
custom loss that calls one: per-sample losses computed in NumPy (float64), eagerly. Inside a
model the C kernels of `pytrainc.losses` run instead; `pytrainc.losses` exports these names."""

import numpy as np


def _last_axis(cls, axis):
    if isinstance(axis, bool) or axis != -1:
        raise ValueError(f"pytrainc's {cls} reduces over the last axis: axis=-1. Received: axis={axis!r}")
    return -1


def _overlap_axis(cls, axis):
    if axis is None or (not isinstance(axis, bool) and axis == -1):
        return axis
    raise ValueError(
        f"pytrainc's {cls} reduces over the whole batch (axis=None) or the last axis (axis=-1). Received: axis={axis!r}"
    )


def _probs(y_pred):
    import numpy as np

    return np.clip(np.asarray(y_pred, dtype=np.float64), 1e-7, 1 - 1e-7)


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of (y_true - y_pred)**2."""
    import numpy as np

    return np.mean(np.square(np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of |y_true - y_pred|."""
    import numpy as np

    return np.mean(np.abs(np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over the last axis of the binary cross-entropy of clipped probabilities (or logits)."""
    _last_axis("binary_crossentropy", axis)
    t = np.asarray(y_true, np.float64) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    z = np.asarray(y_pred, np.float64)
    if from_logits:
        return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))), axis=-1)
    p = _probs(z)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def _class_probs(y_pred, from_logits):
    p = np.asarray(y_pred, np.float64)
    if from_logits:
        p = np.exp(p - p.max(axis=-1, keepdims=True))
    return _probs(p / p.sum(axis=-1, keepdims=True))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(y_pred)) over the last axis, predictions normalized and clipped (or logits)."""
    _last_axis("categorical_crossentropy", axis)
    t = np.asarray(y_true, np.float64)
    t = t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:  # log_softmax, unclipped, as Keras's from_logits=True
        z = np.asarray(y_pred, np.float64)
        m = z.max(axis=-1, keepdims=True)
        return -np.sum(t * (z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))), axis=-1)
    return -np.sum(t * np.log(_class_probs(y_pred, False)), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical cross-entropy with integer labels; labels equal to ignore_class give 0."""
    _last_axis("sparse_categorical_crossentropy", axis)
    z = np.asarray(y_pred, np.float64)
    ids = np.asarray(y_true).astype(np.int64).reshape(z.shape[:-1])
    keep = np.ones(ids.shape, bool) if ignore_class is None else ids != ignore_class
    ids = np.where(keep, ids, 0)
    if from_logits:
        m = z.max(axis=-1, keepdims=True)
        logp = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    else:
        logp = np.log(_class_probs(z, False))
    return np.where(keep, -np.take_along_axis(logp, ids[..., None], axis=-1)[..., 0], 0.0)


def _pair(y_true, y_pred):
    return np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of 0.5 e**2 (|e| <= delta) or delta * (|e| - delta / 2)."""
    t, p = _pair(y_true, y_pred)
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), axis=-1)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of log(cosh(y_pred - y_true))."""
    t, p = _pair(y_true, y_pred)
    x = p - t
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    t, p = _pair(y_true, y_pred)
    t, p = np.clip(t, 1e-7, 1), np.clip(p, 1e-7, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of y_pred - y_true * log(y_pred + 1e-7)."""
    t, p = _pair(y_true, y_pred)
    return np.mean(p - t * np.log(p + 1e-7), axis=-1)


def _hinge_targets(t):
    return 2.0 * t - 1.0 if np.all((t == 0) | (t == 1)) else t


def hinge(y_true, y_pred):
    """Mean over the last axis of max(1 - y_true * y_pred, 0); 0/1 targets are read as -1/1."""
    t, p = _pair(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_targets(t) * p, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of max(1 - y_true * y_pred, 0)**2; 0/1 targets are read as -1/1."""
    t, p = _pair(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_targets(t) * p, 0.0) ** 2, axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return np.maximum(np.max((1.0 - t) * p, axis=-1) - np.sum(t * p, axis=-1) + 1.0, 0.0)


def _normalize(x):
    return x * np.minimum(1.0 / np.sqrt(np.sum(x * x, axis=-1, keepdims=True)), 1e7)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over the last axis."""
    _last_axis("cosine_similarity", axis)
    t, p = _pair(y_true, y_pred)
    with np.errstate(divide="ignore"):
        return -np.sum(_normalize(t) * _normalize(p), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""
    t, p = _pair(y_true, y_pred)
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), 1e-7)), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of (log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))**2."""
    t, p = _pair(y_true, y_pred)
    return np.mean((np.log(np.maximum(p, 1e-7) + 1.0) - np.log(np.maximum(t, 1e-7) + 1.0)) ** 2, axis=-1)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def binary_focal_crossentropy(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Mean over the last axis of (1 - p_t)**gamma * bce, as keras.losses.binary_focal_crossentropy."""
    _last_axis("binary_focal_crossentropy", axis)
    t, p = _pair(y_true, y_pred)
    t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = _sigmoid(p) if from_logits else p
    o = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -(t * np.log(o) + (1 - t) * np.log(1 - o))
    focal = (1.0 - (t * p + (1 - t) * (1 - p))) ** gamma * bce
    if apply_class_balancing:
        focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
    return np.mean(focal, axis=-1)


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """sum(alpha * (1 - p)**gamma * -y_true * log(p)) over the last axis, p normalized and clipped."""
    _last_axis("categorical_focal_crossentropy", axis)
    t, p = _pair(y_true, y_pred)
    t = t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        p = np.exp(p - p.max(axis=-1, keepdims=True))
    p = np.clip(p / p.sum(axis=-1, keepdims=True), 1e-7, 1 - 1e-7)
    return np.sum(alpha * (1.0 - p) ** gamma * -t * np.log(p), axis=-1)


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7), over all axes (None) or the last."""
    t, p = _pair(y_true, y_pred)
    axis = _overlap_axis("dice", axis)
    return 1.0 - 2.0 * np.sum(t * p, axis=axis) / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + 1e-7)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha FP + beta FN + 1e-7), with Keras's FP = sum((1 - y_pred) y_true)."""
    t, p = _pair(y_true, y_pred)
    axis = _overlap_axis("tversky", axis)
    tp = np.sum(t * p, axis=axis)
    fp, fn = np.sum((1 - p) * t, axis=axis), np.sum(p * (1 - t), axis=axis)
    return 1.0 - tp / (tp + alpha * fp + beta * fn + 1e-7)
