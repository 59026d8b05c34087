"""`pytrainc.ops` formulas of the built-in losses whose C kernels read targets and predictions of
one shape but that Keras 3 computes on shapes that broadcast, reducing or normalizing each of them
alone first (keras/src/losses/losses.py): the plan traces the formula for such targets, so the
loss sees them as Keras's does. The same-shape case keeps the kernel."""

from pytrainc import ops

EPSILON = 1e-7  # keras.backend.epsilon()


def _l2_normalize(x):
    """keras.ops.normalize(x, order=2): x * min(rsqrt(sum(x**2)), 1 / epsilon) over the last axis."""
    return x * ops.minimum(ops.rsqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)), 1.0 / EPSILON)


def _cosine_similarity(loss):
    return lambda y_true, y_pred: -ops.sum(_l2_normalize(y_true) * _l2_normalize(y_pred), axis=-1)


def _dice(loss):
    if loss.axis is None:  # one value over the whole batch: no per-sample formula
        return None

    def dice(y_true, y_pred):
        both = ops.sum(y_true, axis=-1) + ops.sum(y_pred, axis=-1) + EPSILON
        return 1.0 - 2.0 * ops.sum(y_true * y_pred, axis=-1) / both

    return dice


def _categorical_focal_crossentropy(loss):
    def focal(y_true, y_pred):
        if loss.label_smoothing:
            y_true = y_true * (1.0 - loss.label_smoothing) + loss.label_smoothing / y_true.shape[-1]
        if loss.from_logits:
            y_pred = ops.softmax(y_pred, axis=-1)
        out = ops.clip(y_pred / ops.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return ops.sum(ops.power(1.0 - out, loss.gamma) * loss.alpha * (-y_true * ops.log(out)), axis=-1)

    return focal


_FORMULAS = {
    "CosineSimilarity": _cosine_similarity,
    "Dice": _dice,
    "CategoricalFocalCrossentropy": _categorical_focal_crossentropy,
}


def formula(loss):
    """`fn(y_true, y_pred)` with Keras's per-sample values of built-in `loss`, or None."""
    make = _FORMULAS.get(type(loss).__name__)
    return None if make is None else make(loss)
