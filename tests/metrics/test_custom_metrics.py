"""Metric functions traced into the plan (Keras's MeanMetricWrapper): per-sample values averaged
over trailing axes, then the sample-weighted mean over the epoch, accumulated in C."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops


def xy(n=40, s=0):
    r = np.random.default_rng(s)
    return r.normal(size=(n, 4)).astype(np.float32), r.normal(size=(n, 3)).astype(np.float32)


def model():
    keras.utils.set_random_seed(2)
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(3)(inp))


def max_error(y_true, y_pred):
    return ops.max(ops.abs(y_true - y_pred), axis=-1)


def squared(y_true, y_pred):
    return ops.square(y_true - y_pred)  # per-sample (3,): averaged over the trailing axis


@pytest.mark.parametrize("loss", ["mse", lambda t, p: ops.mean(ops.square(t - p), axis=-1)], ids=["builtin", "traced"])
def test_metric_functions_match_numpy_and_the_builtin_metric(loss):
    x, y = xy()
    w = np.random.default_rng(1).uniform(0.2, 2.0, size=40).astype(np.float32)
    m = model()
    m.compile(optimizer="sgd", loss=loss, weighted_metrics=[max_error, squared, "mse"])
    logs = m.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    p = m.predict(x, verbose=0)
    np.testing.assert_allclose(logs["max_error"], np.sum(w * np.abs(y - p).max(-1)) / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(logs["squared"], logs["mse"], rtol=1e-5)
    h = m.fit(x, y, batch_size=16, epochs=2, verbose=0).history
    assert set(h) == {"loss", "max_error", "squared", "mse"}
    np.testing.assert_allclose(h["squared"], h["mse"], rtol=1e-5)


def test_bad_metric_functions_are_refused_with_their_name():
    x, y = xy(n=8)

    def scalar(y_true, y_pred):
        return 0.5

    m = model()
    m.compile(optimizer="sgd", loss="mse", metrics=[scalar])
    with pytest.raises(TypeError, match="Metric 'scalar' must return per-sample values.*Received: float"):
        m.evaluate(x, y, verbose=0)

    def whole_batch(y_true, y_pred):
        return ops.mean(y_pred)

    m.compile(optimizer="sgd", loss="mse", metrics=[whole_batch])
    with pytest.raises(ValueError, match=r"ops.mean \(in metric 'whole_batch'\) reduces over the batch axis"):
        m.evaluate(x, y, verbose=0)


def test_function_wrappers_do_not_load_code():
    with pytest.raises(ValueError, match="Metrics 'max_error' is a Python function: loading never runs code"):
        keras.metrics.MeanMetricWrapper.from_config(keras.metrics.MeanMetricWrapper(max_error).get_config())
    with pytest.raises(ValueError, match="Loss 'squared' is a Python function: loading never runs code"):
        keras.losses.LossFunctionWrapper.from_config(keras.losses.get(squared).get_config())
