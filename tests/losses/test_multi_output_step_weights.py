"""Per-output sample weights of shape (batch, steps) on multi-output models (issue #10), against
Keras 3.15 on torch with the same initial weights.

Keras's rule (trainers/compile_utils.py CompileLoss, losses/loss.py): each output's loss takes
its own sample weights, broadcast against that output's per-step losses, so an output
(steps, units) accepts (batch, steps) weights (one per step) and another output in the same model
(batch,) weights; weighted_metrics weigh the same way. pytrainc takes the same weights as a list
in output order or a dict keyed by output name.

Tolerance 1e-5 relative, as tests/losses/test_masked_losses.py: both compute in float32 and
differ in the order of the LSTM's and the losses' sums (pytrainc sums losses in double); a step
weight read from the wrong output or step moves the loss by 1e-2 or more.
"""

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc import optimizers, testing
from pytrainc.models import Model

keras = testing.keras_torch()

T, V, D, U, C, N = 7, 13, 3, 4, 3, 6
RTOL = 1e-5


def body(lib, x, mask):
    h = lib.LSTM(U, return_sequences=True)(lib.Embedding(V, D, mask_zero=mask)(x))
    tags = lib.Dense(C, activation="softmax", name="tags")(h)
    score = lib.Dense(1, name="score")(lib.GlobalAveragePooling1D()(h))
    values = lib.Dense(2, name="values")(h)
    return [tags, score, values]


def pair(mask, seed=1):
    """The same three-output graph in pytrainc and Keras with the same random weights."""
    model, k_model = (
        cls(inp, body(lib, inp, mask))
        for cls, lib, inp in ((Model, L, L.Input((T,))), (keras.Model, keras.layers, keras.Input((T,))))
    )
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    for m in (model, k_model):
        m.set_weights(weights)
    kwargs = dict(
        loss=["sparse_categorical_crossentropy", "mse", "mae"],
        loss_weights=[1.0, 0.5, 2.0],
        weighted_metrics=[["accuracy"], ["mae"], ["mse"]],
    )
    model.compile(optimizer=optimizers.SGD(0.5), **kwargs)
    k_model.compile(optimizer=keras.optimizers.SGD(0.5), **kwargs)
    return model, k_model


def data():
    rng = np.random.default_rng(2)
    ids = rng.integers(1, V, size=(N, T)).astype(np.float32)
    ids[1, 4:] = 0
    ids[3, 2:] = 0
    y = [
        rng.integers(0, C, size=(N, T)).astype(np.float32),
        rng.normal(size=(N, 1)).astype(np.float32),
        rng.normal(size=(N, T, 2)).astype(np.float32),
    ]
    steps = rng.uniform(0.0, 2.0, size=(N, T)).astype(np.float32)
    steps2 = rng.uniform(0.0, 2.0, size=(N, T)).astype(np.float32)
    per_sample = rng.uniform(0.5, 1.5, size=N).astype(np.float32)
    return ids, y, steps, steps2, per_sample


@pytest.mark.parametrize("mask", [False, True], ids=["unmasked", "masked"])
def test_per_output_step_weights_match_keras(mask):
    ids, y, steps, steps2, per_sample = data()
    model, k_model = pair(mask)
    sw = [steps, per_sample, steps2]  # (batch, steps), (batch,), (batch, steps)
    got = [model.train_on_batch(ids, y, sample_weight=sw) for _ in range(10)]
    expected = [k_model.train_on_batch(ids.astype(np.int64), y, sample_weight=sw) for _ in range(10)]
    testing.assert_close(np.array(got), np.array(expected), RTOL, "losses and weighted metrics")
    assert expected[-1][0] < 0.98 * expected[0][0]  # a real descent
    got = model.evaluate(ids, y, sample_weight=sw, verbose=0, return_dict=True)
    expected = k_model.evaluate(ids.astype(np.int64), y, sample_weight=sw, verbose=0, return_dict=True)
    assert got.keys() == expected.keys()
    testing.assert_close(np.array(list(got.values())), np.array([expected[k] for k in got]), RTOL, "evaluate")


def test_per_output_step_weights_by_name_and_with_gaps():
    ids, y, steps, _, per_sample = data()
    model, k_model = pair(False)
    by_name = {"tags": steps, "score": per_sample, "values": None}  # None: weights of 1
    got = model.evaluate(ids, y, sample_weight=by_name, verbose=0)
    expected = k_model.evaluate(ids.astype(np.int64), y, sample_weight=[steps, per_sample, None], verbose=0)
    testing.assert_close(np.array(got), np.array(expected), RTOL, "evaluate with a dict of weights")
    # fit with one epoch of one batch applies the same step as train_on_batch
    history = model.fit(ids, y, sample_weight=[steps, per_sample, None], batch_size=N, shuffle=False, verbose=0)
    k_loss = k_model.train_on_batch(ids.astype(np.int64), y, sample_weight=[steps, per_sample, None])[0]
    testing.assert_close(np.array(history.history["loss"]), np.array([k_loss]), RTOL, "fit")


def test_bad_per_output_step_weights_are_refused():
    ids, y, steps, _, per_sample = data()
    model, _ = pair(False)
    with pytest.raises(ValueError, match=r"sample_weight\['score'\].*Received: shape=\(6, 7\)"):
        model.evaluate(ids, y, sample_weight=[steps, steps, None], verbose=0)  # (batch, steps) on a vector output
    with pytest.raises(ValueError, match=r"sample_weight\['tags'\].*Received: shape=\(6, 5\)"):
        model.evaluate(ids, y, sample_weight=[steps[:, :5], per_sample, steps], verbose=0)
    bad = steps.copy()
    bad[0, 3] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight\['values'\]"):
        model.evaluate(ids, y, sample_weight=[steps, per_sample, bad], verbose=0)
