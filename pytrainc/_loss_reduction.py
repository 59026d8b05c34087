"""Keras 3's loss reductions and rank rule (keras/src/losses/loss.py), on NumPy arrays for a
standalone `loss(y_true, y_pred, sample_weight)`; in a plan the C loss applies the same
reduction (csrc/losses.c `ptc_loss_divisor`, its REDUCTION parameter)."""

import numpy as np

from pytrainc import _C

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")
# How the plan's C loss reduces (kinds.def's PTC_LOSS_REDUCTIONS); "mean" is sum_over_batch_size.
_IDS = {
    "sum_over_batch_size": _C.LOSS_REDUCTIONS["sum_over_batch_size"],
    "mean": _C.LOSS_REDUCTIONS["sum_over_batch_size"],
    "sum": _C.LOSS_REDUCTIONS["sum"],
    "mean_with_sample_weight": _C.LOSS_REDUCTIONS["mean_with_sample_weight"],
}


def standardize_reduction(reduction):
    """Keras's check: one of REDUCTIONS, returned as given."""
    if isinstance(reduction, str) or reduction is None:
        if reduction in REDUCTIONS:
            return reduction
    raise ValueError(
        f"Invalid value for argument `reduction`. Expected one of {set(REDUCTIONS)}. Received: reduction={reduction!r}"
    )


def reduction_id(loss):
    """The C reduction of a loss inside a model, which needs a single value: 'none' is refused."""
    if loss.reduction not in _IDS:
        raise ValueError(
            f"Loss {loss.name!r} has reduction={loss.reduction!r}: it returns per-sample values, and training "
            "needs one loss value per batch (Keras's torch backend fails on it too). Use 'sum_over_batch_size', "
            "'sum', 'mean' or 'mean_with_sample_weight' in compile, and 'none' for standalone calls"
        )
    return float(_IDS[loss.reduction])


def same_rank(x1, x2, expand_rank_1=True):
    """Keras's squeeze_or_expand_to_same_rank: squeeze or expand a last axis of 1 when the ranks
    differ by one (numpy broadcasting does the rest, as the backend's)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's reduce_weighted_values (apply_mask, then reduce_values) in float64."""
    values = np.asarray(values, np.float64)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, np.float64)
    if mask is not None:
        mask = np.asarray(mask, bool)
        if reduction in ("mean", "sum_over_batch_size"):  # valid entries weigh total / valid
            valid = mask.sum()
            float_mask = np.where(mask, mask.size / valid if valid else 0.0, 0.0)
        else:
            float_mask = mask.astype(np.float64)
        if sample_weight is not None:
            float_mask, sample_weight = same_rank(float_mask, sample_weight)
            sample_weight = sample_weight * float_mask
        else:
            sample_weight = float_mask
    if sample_weight is not None:
        values, sample_weight = same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction is None or reduction == "none" or values.shape in ((), (0,)):
        return values.astype(np.float32)
    loss = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = sample_weight.sum()
        else:
            divisor = float(values.size)
        loss = loss / divisor if divisor != 0 else 0.0
    return np.float32(loss)


def evaluate(loss, y_true, y_pred, sample_weight=None):
    """`loss(y_true, y_pred, sample_weight)` on arrays, as Keras's Loss.__call__."""
    y_true = np.asarray(y_true, np.float32)
    y_pred = np.asarray(y_pred, np.float32)
    values, mask = loss._values(y_true, y_pred)
    return reduce_weighted_values(values, sample_weight, mask, loss.reduction)
