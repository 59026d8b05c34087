"""A built-in Loss instance in metrics= (Keras's MeanMetricWrapper of it): the loss's value per
batch, averaged over the batches (the last, smaller batch counting once), in C. Against Keras
3.15.1 on the torch backend."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3)).astype("float32")
Y = RNG.normal(size=(10, 2)).astype("float32")
LABELS = (RNG.random((10, 2)) > 0.5).astype("float32")
W = RNG.random(10).astype("float32")


def _history(lib, metrics, y, activation=None):
    inp = lib.Input((3,))
    model = lib.Model(inp, lib.layers.Dense(2, kernel_initializer="ones", activation=activation)(inp))
    model.compile(optimizer="sgd", loss="mse", metrics=metrics(lib))
    history = model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0, sample_weight=W).history
    return history, model.evaluate(X, y, batch_size=4, verbose=0, return_dict=True)


CASES = {
    "regression": (
        lambda lib: [
            lib.losses.MeanAbsoluteError(),
            lib.losses.MeanSquaredError(reduction="sum"),
            lib.losses.LogCosh(reduction="none"),
        ],
        Y,
        None,
    ),
    "cross_entropy": (
        lambda lib: [
            lib.losses.BinaryCrossentropy(),
            lib.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce_logits"),
            lib.losses.Hinge(),
        ],
        LABELS,
        "sigmoid",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_instances_as_metrics_equal_keras_in_fit_and_evaluate(case):
    metrics, y, activation = CASES[case]
    (got, got_eval), (want, want_eval) = (
        _history(pytrainc, metrics, y, activation),
        _history(keras, metrics, y, activation),
    )
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    for key in want_eval:
        np.testing.assert_allclose(got_eval[key], want_eval[key], rtol=1e-5, err_msg=key)


def test_each_batch_counts_once_not_each_sample():
    """Batches of 4, 4 and 2: the mean of the three batch values, not of the ten samples."""
    metric = pytrainc.metrics.get(pytrainc.losses.MeanAbsoluteError())
    values = []
    for start in (0, 4, 8):
        p, t = X[start : start + 4, :2], Y[start : start + 4]
        metric.update_state(t, p)
        values.append(np.abs(p - t).mean())
    np.testing.assert_allclose(metric.result(), np.mean(values), rtol=1e-6)
    assert not np.isclose(np.mean(values), np.abs(X[:, :2] - Y).mean(), rtol=1e-4)


def test_a_loss_with_other_parameters_is_refused_by_name():
    with pytest.raises(
        ValueError, match=r"Loss 'huber_loss' \(Huber\) as a metric is not supported yet with \['delta'\]"
    ):
        pytrainc.metrics.get(pytrainc.losses.Huber())
