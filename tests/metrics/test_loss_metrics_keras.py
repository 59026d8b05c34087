"""A custom `Loss` given as a metric (issue #9), as Keras 3 wraps it (MeanMetricWrapper of the
loss): named as the loss, with Keras's automatic names ('my_loss', 'my_loss_1', ...) so repeated
ones get `_1` suffixes in History, and averaged over batches (each batch's reduced value counts
once, the last smaller batch too), against Keras 3 on the torch backend.
"""

import numpy as np

import pytrainc
from pytrainc.testing import keras_torch


def _losses(K):
    class MyLoss(K.losses.Loss):
        def call(self, y_true, y_pred):
            return K.ops.mean(K.ops.square(y_true - y_pred), axis=-1)

    class Total(K.losses.Loss):
        def __init__(self, **kwargs):
            super().__init__(reduction="sum", **kwargs)

        def call(self, y_true, y_pred):
            return K.ops.abs(y_true - y_pred)

    return MyLoss, Total


def _run(K):
    K.utils.clear_session()
    MyLoss, Total = _losses(K)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)).astype("float32"), rng.normal(size=(50, 2)).astype("float32")
    model = K.Sequential([K.Input((3,)), K.layers.Dense(2)])
    model.set_weights([rng.normal(size=(3, 2)).astype("float32"), np.array([0.5, 0.2], "float32")])
    model.compile(optimizer="sgd", loss=MyLoss(), metrics=[MyLoss(), MyLoss(), Total()])
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history  # batches 16, 16, 16, 2
    return history, model.evaluate(x, y, batch_size=16, verbose=0)


def test_custom_losses_as_metrics_match_keras():
    K = keras_torch()
    want, want_eval = _run(K)
    got, got_eval = _run(pytrainc)
    assert sorted(got) == sorted(want) == ["loss", "my_loss_1", "my_loss_2", "total"]
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
    np.testing.assert_allclose(got_eval, want_eval, rtol=1e-5)


def test_automatic_loss_names_are_unique_as_keras():
    K = keras_torch()
    for M in (K, pytrainc):
        M.utils.clear_session()
        MyLoss, _ = _losses(M)
        assert [MyLoss().name for _ in range(3)] == ["my_loss", "my_loss_1", "my_loss_2"]
        assert MyLoss(name="mine").name == "mine"


def test_a_built_in_loss_instance_as_a_metric_equals_the_metric_when_batches_are_equal():
    """Per batch (tests/metrics/test_builtin_loss_metrics_keras.py) equals per sample when every
    batch has the same size."""
    model = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=[pytrainc.losses.MeanAbsoluteError(name="l1"), "mae"])
    x, y = np.random.default_rng(0).normal(size=(8, 3)), np.random.default_rng(1).normal(size=(8, 2))
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["l1"], logs["mae"], rtol=1e-6)
