"""Metrics accumulated in C and sample/class weights, against NumPy
implementations of Keras 3's definitions (keras/src/metrics/*.py) and torch."""

import numpy as np
import pytest

import pytrainc
from pytrainc import metrics
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

RNG = np.random.default_rng(7)


def _model(out, activation, loss, mets, n_in=6):
    pytrainc.utils.set_random_seed(3)
    m = Sequential([Input((n_in,)), Dense(8, activation="tanh"), Dense(out, activation=activation)])
    m.compile(optimizer=pytrainc.optimizers.SGD(0.0 + 1e-12), loss=loss, metrics=mets)
    return m


def _kernel(metric, pred, y, w=None):
    return np.concatenate(
        [
            pytrainc._C.metric_accumulate(
                kind,
                k,
                threshold,
                np.ascontiguousarray(pred, np.float32),
                np.ascontiguousarray(y, np.float32),
                None if w is None else np.ascontiguousarray(w, np.float32),
            )
            for kind, k, threshold in metric._plan_rows()
        ]
    )


def keras_auc_roc(pred, y, n=200):
    """Keras's AUC(curve='ROC', summation_method='interpolation'), in NumPy."""
    eps = 1e-7
    thr = np.array([-eps] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + eps], dtype=np.float32)
    p, t = pred.reshape(-1).astype(np.float32), y.reshape(-1) != 0
    tp = np.array([(p[t] > th).sum() for th in thr], dtype=np.float64)
    fp = np.array([(p[~t] > th).sum() for th in thr], dtype=np.float64)
    fn, tn = t.sum() - tp, (~t).sum() - fp
    rec = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0)
    fpr = np.where(fp + tn > 0, fp / np.maximum(fp + tn, 1), 0)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (rec[:-1] + rec[1:]) / 2))


def exact_auc(pred, y):
    p, t = pred.reshape(-1), y.reshape(-1) != 0
    pos, neg = p[t], p[~t]
    return float(
        ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    )


def test_binary_metrics_in_fit_match_numpy():
    x = RNG.normal(size=(300, 6))
    y = (RNG.random((300, 1)) < 0.4).astype(np.float32)
    mets = [
        metrics.Precision(),
        metrics.Recall(),
        metrics.AUC(),
        metrics.Precision(thresholds=0.3, name="p3"),
        "binary_accuracy",
    ]
    m = _model(1, "sigmoid", "binary_crossentropy", mets)
    logs = m.evaluate(x, y, batch_size=64, return_dict=True, verbose=0)
    pred = m.predict(x, verbose=0)
    pp, tt = pred > 0.5, y != 0
    tp, fp, fn = (pp & tt).sum(), (pp & ~tt).sum(), (~pp & tt).sum()
    assert logs["precision"] == pytest.approx(tp / (tp + fp), rel=1e-12)
    assert logs["recall"] == pytest.approx(tp / (tp + fn), rel=1e-12)
    pp3 = pred > 0.3
    assert logs["p3"] == pytest.approx((pp3 & tt).sum() / pp3.sum(), rel=1e-12)
    assert logs["auc"] == pytest.approx(keras_auc_roc(pred, y), abs=1e-9)
    assert logs["auc"] == pytest.approx(exact_auc(pred, y), abs=0.02)  # 200 thresholds vs exact ranks
    assert logs["binary_accuracy"] == pytest.approx(np.mean(pp == tt), rel=1e-12)


def test_pr_auc_close_to_average_precision():
    pred = RNG.random((2000, 1)).astype(np.float32)
    y = (RNG.random((2000, 1)) < pred).astype(np.float32)
    acc = _kernel(metrics.AUC(curve="PR"), pred, y)
    got = metrics.AUC(curve="PR")._result(acc, 0)
    order = np.argsort(-pred[:, 0])
    hits = y[order, 0]
    ap = np.sum(np.cumsum(hits) / np.arange(1, len(hits) + 1) * hits) / hits.sum()
    assert got == pytest.approx(ap, abs=0.02)


def test_multiclass_metrics_match_numpy():
    x = RNG.normal(size=(240, 6))
    ids = RNG.integers(0, 5, 240)
    y = pytrainc.utils.to_categorical(ids, 5)
    mets = [
        metrics.F1Score(average="macro", name="f1m"),
        metrics.F1Score(average="micro", name="f1u"),
        metrics.F1Score(average="weighted", name="f1w"),
        metrics.F1Score(),
        metrics.TopKCategoricalAccuracy(k=2),
        "categorical_accuracy",
    ]
    m = _model(5, "softmax", "categorical_crossentropy", mets)
    logs = m.evaluate(x, y, batch_size=50, return_dict=True, verbose=0)
    pred = m.predict(x, verbose=0)
    pa = np.argmax(pred, 1)
    f1 = []
    for c in range(5):
        tp, fp, fn = np.sum((pa == c) & (ids == c)), np.sum((pa == c) & (ids != c)), np.sum((pa != c) & (ids == c))
        f1.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    f1 = np.array(f1)
    support = np.bincount(ids, minlength=5)
    assert logs["f1m"] == pytest.approx(f1.mean(), rel=1e-6)  # Keras adds epsilons
    assert logs["f1w"] == pytest.approx((f1 * support).sum() / support.sum(), rel=1e-6)
    assert logs["f1u"] == pytest.approx(np.mean(pa == ids), rel=1e-6)  # micro F1 = accuracy here
    np.testing.assert_allclose(logs["f1_score"], f1, rtol=1e-6)
    top2 = np.argsort(-pred, 1)[:, :2]
    assert logs["top_k_categorical_accuracy"] == pytest.approx(np.mean([ids[i] in top2[i] for i in range(240)]))
    assert logs["categorical_accuracy"] == pytest.approx(np.mean(pa == ids))


def test_sparse_top_k_and_rmse():
    pred = RNG.random((50, 6)).astype(np.float32)
    ids = RNG.integers(0, 6, (50, 1)).astype(np.float32)
    m = metrics.SparseTopKCategoricalAccuracy(k=3)
    got = m._result(_kernel(m, pred, ids), 50)
    top3 = np.argsort(-pred, 1)[:, :3]
    assert got == pytest.approx(np.mean([ids[i, 0] in top3[i] for i in range(50)]))
    r = metrics.RootMeanSquaredError()
    y = RNG.random((50, 6)).astype(np.float32)
    assert r._result(_kernel(r, pred, y), 50) == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)), rel=1e-6)


def test_sample_weight_loss_and_metrics_follow_keras():
    """Keras 3: loss = sum(w * loss_i) / batch size; `weighted_metrics` are weighted means and
    `metrics` ignore the sample weights (trainers/compile_utils.py)."""
    x = RNG.normal(size=(40, 6))
    y = (RNG.random((40, 1)) < 0.5).astype(np.float32)
    w = RNG.random(40).astype(np.float32) * 2
    m = _model(1, "sigmoid", "binary_crossentropy", ["accuracy"])
    m.compile(optimizer=m.optimizer, loss="binary_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = m.evaluate(x, y, batch_size=40, sample_weight=w, return_dict=True, verbose=0)
    p = m.predict(x, verbose=0).astype(np.float64)[:, 0]
    li = -(y[:, 0] * np.log(p) + (1 - y[:, 0]) * np.log(1 - p))
    assert logs["loss"] == pytest.approx(np.sum(w * li) / 40, rel=1e-5)
    w64 = w.astype(np.float64)
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(w64 * ((p > 0.5) == y[:, 0])) / w64.sum(), rel=1e-9)
    assert logs["accuracy"] == pytest.approx(np.mean((p > 0.5) == y[:, 0]), rel=1e-9)


def test_sample_weight_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(16, 6)).astype(np.float32)
    ids = RNG.integers(0, 3, 16)
    w = RNG.random(16).astype(np.float32)
    pytrainc.utils.set_random_seed(5)
    m = Sequential([Input((6,)), Dense(3, activation="softmax")])
    m.compile(optimizer=pytrainc.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    k, b = [torch.tensor(a, requires_grad=True) for a in m.get_weights()]
    loss = (
        torch.nn.functional.cross_entropy(torch.tensor(x) @ k + b, torch.tensor(ids), reduction="none")
        * torch.tensor(w)
    ).sum() / 16
    loss.backward()
    got = m.train_on_batch(x, ids, sample_weight=w)
    assert got == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(m.get_weights()[0], (k - 0.5 * k.grad).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_class_weight_equals_sample_weight():
    x = RNG.normal(size=(60, 6))
    ids = RNG.integers(0, 3, 60)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a = _model(3, "softmax", "sparse_categorical_crossentropy", ["accuracy"])
    b = _model(3, "softmax", "sparse_categorical_crossentropy", ["accuracy"])
    for mdl in (a, b):
        mdl.compile(
            optimizer=pytrainc.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
    ha = a.fit(x, ids, batch_size=20, epochs=2, shuffle=False, class_weight=cw, verbose=0)
    hb = b.fit(x, ids, batch_size=20, epochs=2, shuffle=False, sample_weight=np.array([cw[i] for i in ids]), verbose=0)
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    plain = _model(3, "softmax", "sparse_categorical_crossentropy", ["accuracy"])
    plain.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    plain.fit(x, ids, batch_size=20, epochs=2, shuffle=False, verbose=0)
    assert not np.array_equal(plain.get_weights()[0], a.get_weights()[0])


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"sample_weight": np.ones(5)}, ValueError, r"shape \(60,\)"),
        ({"sample_weight": -np.ones(60)}, ValueError, ">= 0"),
        ({"sample_weight": np.full(60, np.nan)}, ValueError, "NaN"),
        ({"class_weight": [1, 2, 3]}, TypeError, "dict"),
        ({"class_weight": {"a": 1.0}}, ValueError, "class indices"),
    ],
)
def test_bad_weights(kwargs, exc, match):
    m = _model(3, "softmax", "sparse_categorical_crossentropy", [])
    with pytest.raises(exc, match=match):
        m.fit(RNG.normal(size=(60, 6)), RNG.integers(0, 3, 60), verbose=0, **kwargs)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
        (lambda: metrics.AUC(curve="XY"), "curve"),
        (lambda: metrics.F1Score(average="mean"), "average"),
        (lambda: metrics.Precision(thresholds=1.5), r"\[0, 1\]"),
        (lambda: metrics.TopKCategoricalAccuracy(k=0), "positive"),
        (lambda: metrics.get("nope"), "Unknown metric"),
    ],
)
def test_bad_metric_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_metric_names_in_history_follow_keras():
    x = RNG.normal(size=(30, 6))
    y = (RNG.random((30, 1)) < 0.5).astype(np.float32)
    m = _model(1, "sigmoid", "binary_crossentropy", ["precision", "recall", "auc"])
    h = m.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    assert set(h.history) == {
        "loss",
        "precision",
        "recall",
        "auc",
        "val_loss",
        "val_precision",
        "val_recall",
        "val_auc",
    }
