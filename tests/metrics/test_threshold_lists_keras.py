"""Precision, Recall and the confusion counts over a list of thresholds (issue #11), against Keras
3 on the torch backend: evenly distributed lists (0, 1/(n-1), ..., 1) take Keras's optimized
update, which clips predictions to [0, 1] and takes any number of thresholds (one plan row of
histograms); other lists compare each prediction with each threshold, unclipped.
"""

import numpy as np
import pytest

import pytrainc
from pytrainc.testing import keras_torch

LISTS = {
    "even-21": list(np.linspace(0.0, 1.0, 21)),
    "even-3": [0.0, 0.5, 1.0],
    "uneven": [0.3, 0.99, 1.0],
}
KINDS = [
    ("Precision", {}),
    ("Recall", {"class_id": 1}),
    ("TruePositives", {}),
    ("FalseNegatives", {}),
    ("TrueNegatives", {}),
    ("FalsePositives", {}),
]


@pytest.mark.parametrize("thresholds", sorted(LISTS))
@pytest.mark.parametrize("kind", KINDS, ids=[k for k, _ in KINDS])
def test_threshold_lists_match_keras(thresholds, kind):
    K = keras_torch()
    name, kwargs = kind
    rng = np.random.default_rng(0)
    y = (rng.random((50, 3)) > 0.5).astype("float32")
    p = (rng.random((50, 3)) * 1.6 - 0.3).astype("float32")  # beyond [0, 1] on both sides
    p[:5] = 1.0  # exactly at the last threshold
    w = rng.random(50).astype("float32")
    ours = getattr(pytrainc.metrics, name)(thresholds=LISTS[thresholds], **kwargs)
    theirs = getattr(K.metrics, name)(thresholds=LISTS[thresholds], **kwargs)
    for metric in (ours, theirs):
        metric.update_state(y[:30], p[:30])
        metric.update_state(y[30:], p[30:], sample_weight=w[30:])
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation_method", ["interpolation", "majoring", "minoring"])
def test_auc_over_unevenly_spaced_thresholds_matches_keras(curve, summation_method):
    K = keras_torch()
    rng = np.random.default_rng(1)
    y = (rng.random((50, 3)) > 0.5).astype("float32")
    p = (rng.random((50, 3)) * 1.6 - 0.3).astype("float32")
    w = rng.random(50).astype("float32")
    kwargs = dict(thresholds=[0.1, 0.25, 0.3, 0.7, 0.95], curve=curve, summation_method=summation_method)
    ours, theirs = pytrainc.metrics.AUC(**kwargs), K.metrics.AUC(**kwargs)
    for metric in (ours, theirs):
        metric.update_state(y[:30], p[:30])
        metric.update_state(y[30:], p[30:], sample_weight=w[30:])
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    np.testing.assert_allclose(ours.thresholds, theirs.thresholds, rtol=1e-7)


def test_a_long_even_list_trains_in_fit_as_keras():
    K = keras_torch()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), (rng.random((64, 2)) > 0.5).astype("float32")
    weights = [rng.normal(size=(3, 2)).astype("float32"), np.array([0.5, 0.2], "float32")]
    thresholds = list(np.linspace(0.0, 1.0, 41))  # more thresholds than a plan has metric rows
    histories = []
    for M in (K, pytrainc):
        model = M.Sequential([M.Input((3,)), M.layers.Dense(2)])
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss="mse", metrics=[M.metrics.Precision(thresholds=thresholds, name="p")])
        histories.append(model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["p"])
    np.testing.assert_allclose(np.asarray(histories[1]), np.asarray(histories[0]), rtol=1e-6)
