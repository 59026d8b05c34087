"""F1Score / FBetaScore accumulated in C against Keras 3's own metric (torch backend), including one
output column (the positive class), all-zero and tied rows, and thresholds."""

import numpy as np
import pytest

from pytrainc import _C, metrics, testing

keras = testing.keras_torch()
RNG = np.random.default_rng(11)


def ours(metric, pred, y):
    acc = _C.metric_accumulate(
        metric._kind,
        metric._k,
        metric._threshold,
        np.ascontiguousarray(pred, np.float32),
        np.ascontiguousarray(y, np.float32),
        None,
    )
    return np.asarray(metric._result(acc, len(pred)), dtype=np.float64)


def theirs(average, threshold, pred, y):
    metric = keras.metrics.F1Score(average=average, threshold=threshold)
    metric.update_state(y.astype(np.float32), pred.astype(np.float32))
    return np.asarray(keras.ops.convert_to_numpy(metric.result()), dtype=np.float64)


def cases():
    one = RNG.random((40, 1)).astype(np.float32)
    y_one = (RNG.random((40, 1)) < 0.5).astype(np.float32)
    many = RNG.random((60, 4)).astype(np.float32)
    many[:5] = 0.0  # all-zero rows predict no class in Keras
    many[5:10, 1:3] = 0.9  # ties: every class at the maximum is predicted
    y_many = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 60)]
    return {"one column": (one, y_one), "four classes": (many, y_many)}


CASES = cases()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.5])
def test_f1_equals_keras(case, average, threshold):
    pred, y = CASES[case]
    got = ours(metrics.F1Score(average=average, threshold=threshold), pred, y)
    want = theirs(average, threshold, pred, y)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_one_column_is_the_positive_class():
    pred = np.array([[0.9], [0.8], [0.7], [0.0]], np.float32)
    y = np.array([[1.0], [1.0], [0.0], [1.0]], np.float32)
    # Without a threshold every non-zero value is predicted: TP 2, FP 1, FN 1, so F1 = 4 / 6.
    assert ours(metrics.F1Score(), pred, y) == pytest.approx([2 / 3])
