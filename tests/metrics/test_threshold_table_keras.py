"""Threshold tables in C (issue #11): AUC, Precision/Recall (with top_k) and the confusion counts
over unevenly spaced threshold lists of any length and order, against Keras 3.15.1 on the torch
backend, through update_state over several batches and inside fit/evaluate.

Tolerance: the counts are sums of float32 sample weights, accumulated in float64 here and in
float32 by Keras, and AUC's result is a sum of up to a few hundred trapezoids; the two differ by
float32 rounding of the counts (about 1e-7 relative each), so rtol=1e-5 on the value.
"""

import numpy as np
import pytest

import pytrainc
from pytrainc.testing import keras_torch

UNEVEN_40 = sorted({round(float(t), 6) for t in np.random.default_rng(7).random(40) ** 2})  # 40 > 16 plan rows


def _data(seed, logits=False):
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 4)) > 0.6).astype("float32")
    p = (rng.random((60, 4)) * 1.4 - 0.2).astype("float32")
    if logits:
        p = (rng.normal(size=(60, 4)) * 2).astype("float32")
    p[:7, 0] = p[7:14, 1] = [0.7, 0.1, 0.5, 0.93, 0.0, 1.0, UNEVEN_40[3]]  # exactly at thresholds: not above
    w = rng.random(60).astype("float32")
    return y, p, w


def _batches(metric, y, p, w):
    metric.update_state(y[:25], p[:25])
    metric.update_state(y[25:45], p[25:45], sample_weight=w[25:45])
    metric.update_state(y[45:], p[45:], sample_weight=w[45:])
    return np.asarray(metric.result(), np.float64)


AUCS = {
    "roc-40": dict(thresholds=UNEVEN_40),
    "pr-40-minoring": dict(thresholds=UNEVEN_40, curve="PR", summation_method="minoring"),
    "pr-40-majoring": dict(thresholds=UNEVEN_40, curve="PR", summation_method="majoring"),
    "pr-interp-multi": dict(thresholds=UNEVEN_40, curve="PR", multi_label=True, num_labels=4),
    "roc-multi-weights": dict(thresholds=UNEVEN_40, multi_label=True, label_weights=[1.0, 0.0, 2.0, 0.5]),
    "roc-weights": dict(thresholds=[0.05, 0.3, 0.31, 0.9], label_weights=[1.0, 0.2, 2.0, 0.5]),
    "pr-logits-multi": dict(thresholds=UNEVEN_40, curve="PR", from_logits=True, multi_label=True),
    "roc-logits-majoring": dict(thresholds=UNEVEN_40, from_logits=True, summation_method="majoring"),
    "roc-200-multi-logits": dict(multi_label=True, from_logits=True, summation_method="minoring"),
}


@pytest.mark.parametrize("case", sorted(AUCS))
def test_auc_over_threshold_tables_matches_keras(case):
    K = keras_torch()
    kwargs = AUCS[case]
    y, p, w = _data(3, logits=kwargs.get("from_logits", False))
    ours, theirs = _batches(pytrainc.metrics.AUC(**kwargs), y, p, w), _batches(K.metrics.AUC(**kwargs), y, p, w)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


LISTS = {"uneven-40": UNEVEN_40, "unsorted-dup": [0.7, 0.1, 0.5, 0.1, 0.93, 0.0, 1.0]}
PRECISIONS = [
    ("Precision", {}),
    ("Recall", {"class_id": 2}),
    ("Precision", {"top_k": 2}),
    ("Recall", {"top_k": 1}),
    ("Precision", {"top_k": 2, "class_id": 1}),
    ("TruePositives", {}),
    ("FalsePositives", {}),
    ("TrueNegatives", {}),
    ("FalseNegatives", {}),
]


@pytest.mark.parametrize("thresholds", sorted(LISTS))
@pytest.mark.parametrize("kind", PRECISIONS, ids=[f"{k}-{'-'.join(map(str, a.values()))}" for k, a in PRECISIONS])
def test_threshold_tables_match_keras(thresholds, kind):
    K = keras_torch()
    name, kwargs = kind
    y, p, w = _data(5)
    ours = _batches(getattr(pytrainc.metrics, name)(thresholds=LISTS[thresholds], **kwargs), y, p, w)
    theirs = _batches(getattr(K.metrics, name)(thresholds=LISTS[thresholds], **kwargs), y, p, w)
    assert ours.shape == theirs.shape == (len(LISTS[thresholds]),)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_tables_in_fit_and_evaluate_match_keras():
    K = keras_torch()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 5)).astype("float32"), (rng.random((96, 3)) > 0.5).astype("float32")
    weights = [rng.normal(size=(5, 3)).astype("float32"), np.array([0.5, -0.2, 0.1], "float32")]
    results = []
    for M in (K, pytrainc):
        model = M.Sequential([M.Input((5,)), M.layers.Dense(3)])
        model.set_weights(weights)
        model.compile(
            optimizer="sgd",
            loss="mse",
            metrics=[
                M.metrics.AUC(thresholds=UNEVEN_40, multi_label=True, from_logits=True, curve="PR", name="auc"),
                M.metrics.AUC(thresholds=UNEVEN_40, label_weights=[1.0, 2.0, 0.5], name="auc_w"),
                M.metrics.Precision(thresholds=[0.9, 0.2, 0.4], top_k=2, name="p"),
                M.metrics.Recall(thresholds=UNEVEN_40, name="r"),
            ],
        )
        h = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        e = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
        results.append((h, e))
    (kh, ke), (ph, pe) = results
    for name in ("auc", "auc_w", "p", "r"):
        np.testing.assert_allclose(np.asarray(ph[name]), np.asarray(kh[name]), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(np.asarray(pe[name]), np.asarray(ke[name]), rtol=1e-5, atol=1e-6, err_msg=name)


def test_get_config_round_trips_the_table():
    m = pytrainc.metrics.AUC(thresholds=UNEVEN_40, multi_label=True, from_logits=True)
    again = pytrainc.metrics.AUC.from_config(m.get_config())
    assert again.thresholds == m.thresholds and again.multi_label and again.get_config() == m.get_config()
