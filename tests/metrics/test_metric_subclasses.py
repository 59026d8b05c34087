"""`Metric` subclasses with state (issue #9): Keras's guide examples (CategoricalTruePositives
from "Training & evaluation with the built-in methods", BinaryTruePositives from the metrics
API docs) traced into the plan, against Keras 3 on the torch backend with the same weights and
data: fit history (per epoch) and evaluate.
"""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops
from pytrainc.testing import data, keras_torch


def guide_metrics(K):
    """The guide's two metrics written against `K` (pytrainc or Keras)."""

    class CategoricalTruePositives(K.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = K.ops.reshape(K.ops.argmax(y_pred, axis=1), (-1, 1))
            values = K.ops.cast(y_true, "int32") == K.ops.cast(y_pred, "int32")
            values = K.ops.cast(values, "float32")
            if sample_weight is not None:
                sample_weight = K.ops.cast(sample_weight, "float32")
                values = K.ops.multiply(values, sample_weight)
            self.true_positives.assign_add(K.ops.sum(values))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0.0)

    class BinaryTruePositives(K.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = K.ops.cast(y_true, "bool")
            y_pred = K.ops.cast(K.ops.greater(y_pred, 0.0), "bool")
            values = K.ops.logical_and(K.ops.equal(y_true, True), K.ops.equal(y_pred, True))
            values = K.ops.cast(values, "float32")
            self.true_positives.assign_add(K.ops.sum(values))
            self.count.assign_add(K.ops.sum(K.ops.ones_like(values)))

        def result(self):
            return self.true_positives / self.count  # the true-positive rate per prediction

    return CategoricalTruePositives, BinaryTruePositives


def _pair(K, build, metric, loss, weights=None):
    model = build(K)
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=K.optimizers.SGD(0.01), loss=loss(K) if callable(loss) else loss, metrics=[metric])
    return model


def _classifier(K):
    inp = K.Input((6,))
    return K.Model(inp, K.layers.Dense(4)(K.layers.Dense(8, activation="relu")(inp)))


def _binary(K):
    inp = K.Input((6,))
    return K.Model(inp, K.layers.Dense(3)(inp))


def _compare(build, which, loss, y):
    Kt = keras_torch()
    keras.utils.set_random_seed(0)
    x = data(96, (6,), 0)
    ours_cls, theirs_cls = guide_metrics(keras)[which], guide_metrics(Kt)[which]
    ours = _pair(keras, build, ours_cls(), loss)
    theirs = _pair(Kt, build, theirs_cls(), loss, ours.get_weights())
    name = ours_cls().name
    h1 = ours.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1[name], h2[name], rtol=1e-6)
    e1 = ours.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    e2 = theirs.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    np.testing.assert_allclose(e1[name], e2[name], rtol=1e-6)
    return h1[name], e1[name]


def test_categorical_true_positives_as_keras():
    y = np.random.default_rng(1).integers(0, 4, size=(96, 1)).astype(np.float32)
    history, evaluated = _compare(_classifier, 0, "sparse_categorical_crossentropy", y)
    assert all(0 < v < 96 for v in history) and evaluated > 0  # counts over the epoch's 96 samples


def test_binary_true_positives_as_keras():
    y = (np.random.default_rng(2).random((96, 3)) < 0.5).astype(np.float32)
    _compare(_binary, 1, lambda K: K.losses.BinaryCrossentropy(from_logits=True), y)


def test_result_runs_eagerly_after_fit_and_errors_are_clear():
    cls = guide_metrics(keras)[0]
    metric = cls()
    model = _pair(keras, _classifier, metric, "sparse_categorical_crossentropy")
    x, y = data(40, (6,), 3), np.zeros((40, 1), np.float32)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert float(metric.result()) == logs["categorical_true_positives"]
    pred = model.predict(x, verbose=0)
    assert logs["categorical_true_positives"] == float((pred.argmax(1) == 0).sum())

    class Averaged(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="averaged")
            self.total = self.add_variable(shape=(), name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(ops.mean(y_pred))  # a mean over the batch: not a running sum

        def result(self):
            return self.total

    model = _pair(keras, _classifier, Averaged(), "sparse_categorical_crossentropy")
    with pytest.raises(
        ValueError, match=r"ops.mean \(in metric 'averaged'\) reduces over the batch axis.*only ops.sum may"
    ):
        model.evaluate(x, y, verbose=0)

    class Assigns(Averaged):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign(ops.sum(y_pred))

    model = _pair(keras, _classifier, Assigns(), "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="can only accumulate .assign_add."):
        model.evaluate(x, y, verbose=0)

    class PerSample(Averaged):
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(ops.sum(y_pred, axis=-1))

    model = _pair(keras, _classifier, PerSample(), "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"total.assign_add takes a sum over the batch, e.g. ops.sum\(values\)"):
        model.evaluate(x, y, verbose=0)


def test_vector_state_and_a_sum_over_the_batch_axis_only():
    class PerClass(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="per_class")
            self.counts = self.add_variable(shape=(4,), name="counts")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.counts.assign_add(ops.sum(ops.one_hot(ops.argmax(y_pred, axis=-1), 4), axis=0))

        def result(self):
            return self.counts[2]  # NumPy indexing on the state

    model = _pair(keras, _classifier, PerClass(), "sparse_categorical_crossentropy")
    x, y = data(50, (6,), 4), np.zeros((50, 1), np.float32)
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    counts = np.bincount(model.predict(x, verbose=0).argmax(1), minlength=4)
    np.testing.assert_array_equal(model.metrics[0].counts.numpy(), counts)
    assert logs["per_class"] == counts[2]
