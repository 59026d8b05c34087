"""Losses and metrics on outputs that carry a mask (issue #10), against Keras 3.15 on torch.

Keras's rule (losses/loss.py `apply_mask`, metrics/reduction_metrics.py): the mask of y_pred
becomes (a factor of) the sample weights. The loss weighs an entry by `sample_weight * mask`,
rescaled by total / valid for sum_over_batch_size (the mean over the entries that count; 0, not
NaN, when none does: divide_no_nan); "sum" and "mean_with_sample_weight" take the mask as is.
MeanMetricWrapper metrics (accuracy, mae, crossentropy, function metrics) take the mask as
sample weights, also under `metrics=` (which ignore the user's sample weights); the other metrics
(RootMeanSquaredError, confusion counts, AUC...) never see it.

Keras takes sample weights of the mask's shape (batch, steps) with a masked sequence output: a
(batch,) array fails in its apply_mask (`sample_weight *= float_mask`), or, when batch == steps,
broadcasts against the steps axis (step t weighs by sample t's weight). pytrainc takes Keras's
(batch, steps) weights, and per-sample weights (batch,) too, weighing every step of a sample by its
weight: Keras given those weights repeated over the steps.

Tolerance 1e-5 relative: both compute in float32 and differ only in the order of the LSTM's and
the loss's float32 sums (pytrainc sums losses in double); measured differences are at most 2.4e-7
over 20 steps, a masked step that counted would move the loss by 1e-2 or more.
"""

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import losses, metrics, ops, optimizers, testing
from pytrainc.models import Model

keras = testing.keras_torch()

T, V, D, U, C = 7, 13, 3, 4, 3
RTOL = 1e-5


def padded_ids(n=6, seed=0):
    """Ids (n, T) padded with 0 after lengths T, 4, 1, 5, 2, 6, one hole in the last row."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(n, T)).astype(np.float32)
    for row, length in enumerate([T, 4, 1, 5, 2, 6][:n]):
        ids[row, length:] = 0
    ids[n - 1, 2] = 0
    return ids


def classify(lib, x):
    h = lib.Embedding(V, D, mask_zero=True)(x)
    h = lib.LSTM(U, return_sequences=True)(h)
    return lib.Dense(C, activation="softmax")(h)


def regress(lib, x):
    h = lib.Masking(mask_value=0.0)(x)
    h = lib.LSTM(U, return_sequences=True)(h)
    return lib.TimeDistributed(lib.Dense(2))(h)


def pair(body, input_shape, seed=1):
    """The same graph in pytrainc and Keras with the same random weights."""
    model, k_model = (
        cls(inp, body(lib, inp))
        for cls, lib, inp in ((Model, L, L.Input(input_shape)), (keras.Model, keras.layers, keras.Input(input_shape)))
    )
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    for m in (model, k_model):
        m.set_weights(weights)
    return model, k_model


def compile_both(model, k_model, loss, k_loss=None, lr=0.5, **kwargs):
    model.compile(optimizer=optimizers.SGD(lr), loss=loss, **kwargs)
    k_model.compile(optimizer=keras.optimizers.SGD(lr), loss=k_loss or loss, **kwargs)


def k_weights(sw):
    """Keras's sample weights of a masked sequence output: the per-sample weights on every step."""
    return None if sw is None else np.repeat(sw[:, None], T, axis=1)


def class_data():
    ids = padded_ids()
    y = np.random.default_rng(2).integers(0, C, size=(len(ids), T)).astype(np.float32)
    return ids, y


def sequence_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, T, 2)).astype(np.float32)
    for row, length in enumerate([T, 3, 5, 1, 6, 2]):
        x[row, length:] = 0.0
    return x, rng.normal(size=(6, T, 2)).astype(np.float32)


SW = np.array([0.5, 2.0, 1.0, 0.25, 1.5, 0.75], np.float32)


@pytest.mark.parametrize("sw", [None, SW], ids=["unweighted", "sample_weight"])
def test_sparse_crossentropy_and_accuracy_over_twenty_steps_match_keras(sw):
    ids, y = class_data()
    model, k_model = pair(classify, (T,))
    compile_both(model, k_model, "sparse_categorical_crossentropy", metrics=["accuracy"])
    got = [model.train_on_batch(ids, y, sample_weight=sw) for _ in range(20)]
    expected = [k_model.train_on_batch(ids.astype(np.int64), y, sample_weight=k_weights(sw)) for _ in range(20)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, "loss and accuracy")
    assert expected[-1][0] < 0.98 * expected[0][0]  # a real descent


@pytest.mark.parametrize("sw", [None, SW], ids=["unweighted", "sample_weight"])
def test_mse_on_masked_time_distributed_output_over_twenty_steps_matches_keras(sw):
    x, y = sequence_data()
    model, k_model = pair(regress, (T, 2))
    compile_both(model, k_model, "mse", lr=0.1, metrics=["mae"])
    got = [model.train_on_batch(x, y, sample_weight=sw) for _ in range(20)]
    expected = [k_model.train_on_batch(x, y, sample_weight=k_weights(sw)) for _ in range(20)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, "loss and mae")
    assert expected[-1][0] < 0.95 * expected[0][0]


def test_the_mask_changes_the_loss():
    """The same model without the mask: every padded step counts and the loss moves by far more."""
    ids, y = class_data()
    model, _ = pair(classify, (T,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    masked = model.evaluate(ids, y, verbose=0)
    pred = model.predict(ids, verbose=0)
    everything = float(losses.SparseCategoricalCrossentropy()(y, pred))
    assert abs(masked - everything) > 1e-2
    mask = ids != 0  # the standalone loss with the mask as Keras's weights: total / valid on each kept step
    weights = np.where(mask, mask.size / mask.sum(), 0.0).astype(np.float32)
    testing.assert_close(masked, float(losses.SparseCategoricalCrossentropy()(y, pred, sample_weight=weights)), 1e-6)


def test_fit_evaluate_and_test_on_batch_with_accuracy_match_keras():
    ids, y = class_data()
    model, k_model = pair(classify, (T,))
    compile_both(model, k_model, "sparse_categorical_crossentropy", metrics=["accuracy"])
    kw = dict(epochs=3, batch_size=4, shuffle=False, verbose=0)
    hist = model.fit(ids, y, sample_weight=SW, **kw).history
    k_hist = k_model.fit(ids.astype(np.int64), y, sample_weight=k_weights(SW), **kw).history
    assert sorted(hist) == sorted(k_hist)
    for key in k_hist:
        testing.assert_close(np.array(hist[key]), np.array(k_hist[key]), RTOL, key)
    got = model.evaluate(ids, y, sample_weight=SW, batch_size=4, verbose=0, return_dict=True)
    expected = k_model.evaluate(
        ids.astype(np.int64), y, sample_weight=k_weights(SW), batch_size=4, verbose=0, return_dict=True
    )
    assert sorted(got) == sorted(expected)
    for key in expected:
        testing.assert_close(got[key], expected[key], RTOL, key)
    got = model.test_on_batch(ids, y, return_dict=True)
    expected = k_model.test_on_batch(ids.astype(np.int64), y, return_dict=True)
    for key in expected:
        testing.assert_close(got[key], expected[key], RTOL, key)
    # evaluate of one batch is test_on_batch, and the loss Keras's Loss gives on y_pred with its mask
    testing.assert_close(model.evaluate(ids, y, verbose=0)[0], got["loss"], 1e-6, "evaluate")
    pred = torch.tensor(model.predict(ids, verbose=0))
    pred._keras_mask = torch.tensor(ids != 0)
    standalone = float(keras.losses.SparseCategoricalCrossentropy()(torch.tensor(y), pred))
    testing.assert_close(got["loss"], standalone, RTOL, "standalone Keras loss")


def test_weighted_metrics_weigh_by_sample_weight_times_mask():
    """Keras's rule: a weighted MeanMetricWrapper weighs an entry by sample_weight * mask. (Keras 3.15's
    torch backend, in evaluate and fit, hands weighted metrics the loss's rescaled weights instead:
    apply_mask's `sample_weight *= float_mask` changes the batch's weight tensor in place, so each
    batch counts times its total / valid. Its other backends and its standalone metrics do not; the
    reference here is the standalone Keras metric over the same batches.)"""
    ids, y = class_data()
    model, k_model = pair(classify, (T,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    got = model.evaluate(ids, y, sample_weight=SW, batch_size=4, verbose=0, return_dict=True)
    pred, mask, sw = model.predict(ids, verbose=0), ids != 0, k_weights(SW)
    metric = keras.metrics.SparseCategoricalAccuracy()
    for s in (slice(0, 4), slice(4, 6)):
        p = torch.tensor(pred[s])
        p._keras_mask = torch.tensor(mask[s])
        metric.update_state(torch.tensor(y[s]), p, sample_weight=torch.tensor(sw[s]))
    testing.assert_close(got["accuracy"], float(metric.result()), RTOL, "weighted accuracy")
    # with one batch Keras's compiled metric agrees (its rescaling is the same for every entry)
    k_model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    k_logs = k_model.evaluate(ids.astype(np.int64), y, sample_weight=sw, verbose=0, return_dict=True)
    testing.assert_close(got["accuracy"], k_logs["accuracy"], RTOL, "one batch")
    acc = (pred.argmax(-1) == y) * mask * SW[:, None]
    testing.assert_close(got["accuracy"], acc.sum() / (mask * SW[:, None]).sum(), RTOL, "formula")


def test_a_fully_masked_batch_gives_zero_loss_not_nan_as_keras():
    ids, y = class_data()
    ids[:3] = 0  # the first batch of 3 has no step that counts
    model, k_model = pair(classify, (T,))
    compile_both(model, k_model, "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    got = model.train_on_batch(ids[:3], y[:3])
    expected = k_model.train_on_batch(ids[:3].astype(np.int64), y[:3])
    np.testing.assert_array_equal(got, [0.0, 0.0])
    np.testing.assert_array_equal(expected, [0.0, 0.0])
    for w0, w1 in zip(before, model.get_weights()):  # a zero gradient: SGD moves nothing
        np.testing.assert_array_equal(w0, w1)
    logs = model.evaluate(ids, y, batch_size=3, verbose=0, return_dict=True)
    k_logs = k_model.evaluate(ids.astype(np.int64), y, batch_size=3, verbose=0, return_dict=True)
    for key in k_logs:
        assert np.isfinite(logs[key])
        testing.assert_close(logs[key], k_logs[key], RTOL, key)


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "mean"])
def test_reductions_take_the_mask_as_keras(reduction):
    """sum and mean_with_sample_weight: the mask as is; mean (sum_over_batch_size): total / valid."""
    ids, y = class_data()
    model, k_model = pair(classify, (T,))
    compile_both(
        model,
        k_model,
        losses.SparseCategoricalCrossentropy(reduction=reduction),
        keras.losses.SparseCategoricalCrossentropy(reduction=reduction),
        lr=0.05,
    )
    got = [model.train_on_batch(ids, y, sample_weight=SW) for _ in range(5)]
    expected = [k_model.train_on_batch(ids.astype(np.int64), y, sample_weight=k_weights(SW)) for _ in range(5)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, reduction)


def test_metrics_keras_does_not_mask_see_every_step():
    """RootMeanSquaredError is a Mean with its own update_state in Keras: the mask never reaches it,
    while mae (a MeanMetricWrapper) and a function metric are masked."""

    def function_metric(lib):
        def mean_abs(y_true, y_pred):
            return lib.mean(lib.abs(y_true - y_pred), axis=-1)

        return mean_abs

    x, y = sequence_data()
    model, k_model = pair(regress, (T, 2))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", metrics.RootMeanSquaredError(), function_metric(ops)])
    k_model.compile(
        optimizer="sgd", loss="mse", metrics=["mae", keras.metrics.RootMeanSquaredError(), function_metric(keras.ops)]
    )
    got = model.evaluate(x, y, sample_weight=SW, verbose=0, return_dict=True)
    expected = k_model.evaluate(x, y, sample_weight=k_weights(SW), verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected)
    for key in expected:
        testing.assert_close(got[key], expected[key], RTOL, key)
    testing.assert_close(got["mean_abs"], got["mae"], 1e-6, "function metric")


def test_a_traced_loss_function_is_masked_as_keras():
    def loss_fn(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    def k_loss_fn(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    x, y = sequence_data()
    model, k_model = pair(regress, (T, 2))
    compile_both(model, k_model, loss_fn, k_loss_fn, lr=0.1)
    got = [model.train_on_batch(x, y, sample_weight=SW) for _ in range(10)]
    expected = [k_model.train_on_batch(x, y, sample_weight=k_weights(SW)) for _ in range(10)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, "traced loss")


def test_a_masked_head_beside_an_unmasked_one_matches_keras():
    def two(lib, x):
        h = lib.Embedding(V, D, mask_zero=True, name="embed")(x)
        seq = lib.LSTM(U, return_sequences=True, name="seq")(h)
        tags = lib.Dense(C, activation="softmax", name="tags")(seq)
        last = lib.Dense(1, name="score")(lib.LSTM(U, name="last")(h))
        return [tags, last]

    ids, y = class_data()
    score = np.random.default_rng(7).normal(size=(len(ids), 1)).astype(np.float32)
    model = Model(inp := L.Input((T,)), two(L, inp))
    k_model = keras.Model(k_inp := keras.Input((T,)), two(keras.layers, k_inp))
    rng = np.random.default_rng(1)
    for layer in model.layers:  # layer by layer: the two frameworks order a graph's weights differently
        weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in layer.get_weights()]
        if weights:
            layer.set_weights(weights)
            k_model.get_layer(layer.name).set_weights(weights)
    kw = dict(loss=["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])
    model.compile(optimizer=optimizers.SGD(0.3), **kw)
    k_model.compile(optimizer=keras.optimizers.SGD(0.3), **kw)
    got = [model.train_on_batch(ids, [y, score], return_dict=True) for _ in range(10)]
    expected = [k_model.train_on_batch(ids.astype(np.int64), [y, score], return_dict=True) for _ in range(10)]
    for key in expected[0]:
        testing.assert_close(np.array([g[key] for g in got]), np.array([e[key] for e in expected]), RTOL, key)


def test_masked_training_is_bitwise_reproducible():
    ids, y = class_data()
    runs = []
    for _ in range(2):
        model, _ = pair(classify, (T,))
        model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(ids, y, sample_weight=SW, epochs=2, batch_size=4, shuffle=False, verbose=0).history
        runs.append((hist, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_ignore_class_on_a_masked_output_is_refused():
    ids, y = class_data()
    model, _ = pair(classify, (T,))
    model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(ignore_class=0))
    with pytest.raises(ValueError, match="ignore_class on a masked output"):
        model.evaluate(ids, y, verbose=0)


def test_functions_that_do_not_give_one_value_per_step_are_refused():
    """Keras fails on them too (a (batch,) value against a (batch, steps) mask)."""

    def per_sample(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=(1, 2))

    x, y = sequence_data()
    model, _ = pair(regress, (T, 2))
    model.compile(optimizer="sgd", loss=per_sample)
    with pytest.raises(ValueError, match=r"loss 'per_sample' by the mask.*one value per step \(7\). Received: 1"):
        model.evaluate(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="mse", metrics=[per_sample])
    with pytest.raises(ValueError, match=r"metric 'per_sample' by the mask.*Received: 1 values"):
        model.evaluate(x, y, verbose=0)


@pytest.mark.parametrize("mask", [True, False], ids=["masked", "unmasked"])
def test_temporal_sample_weights_one_per_step_match_keras(mask):
    """Keras's (batch, steps) sample weights on a sequence output: each step weighs by its own weight
    (times the mask when there is one), in the loss and in weighted metrics."""

    def body(lib, x):
        h = lib.Embedding(V, D, mask_zero=mask)(x)
        return lib.Dense(C, activation="softmax")(lib.LSTM(U, return_sequences=True)(h))

    ids, y = class_data()
    steps_w = np.random.default_rng(9).uniform(0.0, 2.0, size=(len(ids), T)).astype(np.float32)
    model, k_model = pair(body, (T,))
    compile_both(model, k_model, "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    got = [model.train_on_batch(ids, y, sample_weight=steps_w) for _ in range(10)]
    expected = [k_model.train_on_batch(ids.astype(np.int64), y, sample_weight=steps_w) for _ in range(10)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, "loss and weighted accuracy")
    got = model.evaluate(ids, y, sample_weight=steps_w, verbose=0)
    expected = k_model.evaluate(ids.astype(np.int64), y, sample_weight=steps_w, verbose=0)
    testing.assert_close(np.array(got), np.array(expected), RTOL, "evaluate")
    with pytest.raises(ValueError, match="class_weight cannot be combined"):
        model.fit(ids, y, sample_weight=steps_w, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"must have shape \(6,\), one weight per sample. Received: shape=\(6, 5\)"):
        model.evaluate(ids, y, sample_weight=steps_w[:, :5], verbose=0)
