"""The constraint kernels (csrc/constraints.c): the optimized kernel against its naive reference and
a NumPy transcription of Keras 3's formulas, and the eager `Constraint.__call__` against Keras 3
(torch backend) on arrays of every rank and sets of axes."""

import numpy as np
import pytest

from pytrainc import _C, constraints, testing

EPS = 1e-7  # Keras's backend.epsilon()

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _keras_formula(kind, w, axis, min_value=0.0, max_value=2.0, rate=1.0):
    """keras/src/constraints/constraints.py in NumPy (float32 as Keras computes)."""
    w = w.astype(np.float32)
    if kind == "non_neg":
        return np.maximum(w, np.float32(0))
    axis = tuple(range(w.ndim)) if axis is None else axis
    norms = np.sqrt(np.sum(np.square(w, dtype=np.float64), axis=axis, keepdims=True)).astype(np.float32)
    if kind == "unit_norm":
        return w / (np.float32(EPS) + norms)
    if kind == "max_norm":
        desired = np.clip(norms, 0, np.float32(max_value))
    else:
        desired = (
            np.float32(rate) * np.clip(norms, np.float32(min_value), np.float32(max_value))
            + np.float32(1 - rate) * norms
        )
    return w * (desired / (np.float32(EPS) + norms))


def _make(kind, axis, min_value=0.3, max_value=0.8, rate=0.7):
    if kind == "max_norm":
        return constraints.MaxNorm(max_value, axis=axis)
    if kind == "min_max_norm":
        return constraints.MinMaxNorm(min_value, max_value, rate, axis=axis)
    if kind == "unit_norm":
        return constraints.UnitNorm(axis=axis)
    return constraints.NonNeg()


CASES = [
    ((7,), 0),
    ((5, 4), 0),
    ((5, 4), 1),
    ((5, 4), -1),
    ((5, 4), None),
    ((3, 3, 2, 70), [0, 1, 2]),  # a Conv2D kernel's filters, more columns than one chunk
    ((3, 3, 2, 4), 0),
    ((2, 3, 4, 5), [0, 2]),  # not contiguous: the strided path
    ((2, 3, 4, 5), [1, 3]),
    ((2, 2, 3, 2, 2, 3), [0, 3, 5]),
    ((4, 6), []),  # no axis: each weight its own norm
]


@pytest.mark.parametrize("kind", sorted(_C.CONSTRAINTS))
@pytest.mark.parametrize("shape,axis", CASES)
def test_kernel_matches_naive_reference_and_keras_formula(kind, shape, axis):
    w = testing.normal(testing.rng(3), shape)
    c = _make(kind, axis)
    row, values = c._row(shape, 0, "w")
    rows, vals = np.array([row], dtype=np.int64), np.array([values], dtype=np.float64)
    fast, naive = w.copy(), w.copy()
    _C.constraint_apply(rows, vals, fast)
    _C.constraint_apply(rows, vals, naive, True)
    np.testing.assert_allclose(fast, naive, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(c(w), fast)  # the eager call is the same kernel
    np_axis = None if axis is None else tuple(axis) if isinstance(axis, list) else (axis,)
    bounds = (getattr(c, "min_value", 0.0), getattr(c, "max_value", 2.0), getattr(c, "rate", 1.0))
    ref = _keras_formula(kind, w, np_axis, *bounds)
    np.testing.assert_allclose(fast, ref, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("kind", sorted(_C.CONSTRAINTS))
@pytest.mark.parametrize("shape,axis", [((5, 4), 0), ((3, 3, 2, 4), [0, 1, 2]), ((2, 3, 4, 5), [0, 2]), ((6,), 0)])
def test_eager_call_matches_keras(kind, shape, axis):
    keras = testing.keras_torch()
    w = testing.normal(testing.rng(5), shape) * 0.6
    ours = _make(kind, axis)
    theirs = keras.constraints.get({"class_name": type(ours).__name__, "config": ours.get_config()})
    expected = keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(ours(w), expected, rtol=2e-6, atol=1e-7)


def test_eager_call_takes_lists_and_variables_and_leaves_its_input():
    w = np.array([[3.0, -4.0], [4.0, 3.0]], dtype=np.float64)
    out = constraints.UnitNorm(axis=1)(w)
    assert out.dtype == np.float32 and w[0, 0] == 3.0
    np.testing.assert_allclose(out, w / 5.0, rtol=1e-6)
    assert constraints.NonNeg()([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert constraints.Constraint()(w) is w  # the base class is the identity
    np.testing.assert_array_equal(constraints.NonNeg()(np.float32(-2.0)), np.float32(0.0))


def test_bad_rows_and_axes_are_refused():
    with pytest.raises(ValueError, match="axis 2 is out of bounds for a weight of rank 2"):
        constraints.MaxNorm(axis=2)(np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="rank 6 at most"):
        constraints.MaxNorm()(np.ones((1,) * 7, np.float32))
    with pytest.raises(ValueError, match="`axis` must be an int, a list of ints or None"):
        constraints.UnitNorm(axis="0")
    with pytest.raises(ValueError, match="`max_value` must be a finite number"):
        constraints.MaxNorm(max_value=float("nan"))
    good, values = constraints.MaxNorm()._row((4,), 0, "w")
    good, values = np.array([good], dtype=np.int64), np.array([values])
    bad = good.copy()
    bad[0, 1] = len(_C.CONSTRAINTS)  # a kind past the list
    with pytest.raises(ValueError, match="constraint row 0: a bad kind"):
        _C.constraint_apply(bad, values, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="one row for the whole of w"):
        _C.constraint_apply(good, values, np.ones(5, np.float32))
    width = _C.CONSTRAINT_ROW["width"]
    with pytest.raises(ValueError, match=rf"constraint rows must be \(n, {width}\)"):
        _C.constraint_apply(good[:, :4], values, np.ones(4, np.float32))
