"""Issue #11's metrics against Keras 3 (torch backend) on the same predictions: standalone
update_state/result on arrays, and in evaluate and fit (the C kernels in the epoch call), with and
without sample weights."""

import numpy as np
import pytest

import pytrainc
from pytrainc import metrics, testing

keras = testing.keras_torch()
N = 61


def f32(x):
    return np.asarray(x, np.float32)


def data(kind, seed=0, n=N):
    r = np.random.default_rng(seed)
    if kind == "binary":
        p = f32(r.random((n, 3)))
        p[:4] = [0.0, 0.5, 1.0]  # exact thresholds and ends
        return f32(r.random((n, 3)) < p), p
    if kind == "logits":
        return f32(r.random((n, 3)) < 0.4), f32(r.normal(size=(n, 3)) * 2)
    if kind in ("onehot", "sparse", "sorted_ids"):
        logits = r.normal(size=(n, 4))
        p = f32(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
        ids = r.integers(0, 4, n)
        if kind == "onehot":
            return f32(np.eye(4)[ids]), p
        if kind == "sorted_ids":
            return f32(ids), f32(np.argsort(-p, axis=1))
        return f32(ids), p
    if kind == "regression":
        y = f32(r.normal(size=(n, 3)))
        return y, f32(y * 0.7 + r.normal(size=(n, 3)) * 0.5)
    if kind == "integers":
        return f32(r.integers(0, 3, (n, 3))), f32(r.integers(0, 3, (n, 3)))
    if kind == "class_ids":  # IoU: a true and a predicted class per element, some out of range
        return f32(r.integers(0, 4, (n, 2))), f32(r.integers(-1, 4, (n, 2)))
    raise AssertionError(kind)


def weights(seed=1, n=N):
    return f32(np.random.default_rng(seed).uniform(0.1, 3.0, n))


# name: (pytrainc metric, Keras metric, data kind)
CASES = {
    "accuracy": (lambda: metrics.Accuracy(), lambda: keras.metrics.Accuracy(), "integers"),
    "binary_accuracy": (
        lambda: metrics.BinaryAccuracy(threshold=0.4),
        lambda: keras.metrics.BinaryAccuracy(threshold=0.4),
        "binary",
    ),
    "sparse_top_k_ids": (
        lambda: metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
        lambda: keras.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
        "sorted_ids",
    ),
    "r2_uniform": (lambda: metrics.R2Score(), lambda: keras.metrics.R2Score(), "regression"),
    "r2_variance": (
        lambda: metrics.R2Score("variance_weighted_average", num_regressors=2),
        lambda: keras.metrics.R2Score("variance_weighted_average", num_regressors=2),
        "regression",
    ),
    "r2_none": (lambda: metrics.R2Score(None), lambda: keras.metrics.R2Score(None), "regression"),
    "pearson": (lambda: metrics.PearsonCorrelation(), lambda: keras.metrics.PearsonCorrelation(), "regression"),
    "concordance": (
        lambda: metrics.ConcordanceCorrelation(),
        lambda: keras.metrics.ConcordanceCorrelation(),
        "regression",
    ),
    "precision_list": (
        lambda: metrics.Precision(thresholds=[0.2, 0.5, 0.7]),
        lambda: keras.metrics.Precision(thresholds=[0.2, 0.5, 0.7]),
        "binary",
    ),
    "recall_class": (lambda: metrics.Recall(class_id=1), lambda: keras.metrics.Recall(class_id=1), "binary"),
    "precision_top_k": (lambda: metrics.Precision(top_k=2), lambda: keras.metrics.Precision(top_k=2), "onehot"),
    "recall_top_k_class": (
        lambda: metrics.Recall(top_k=2, class_id=2, thresholds=0.1),
        lambda: keras.metrics.Recall(top_k=2, class_id=2, thresholds=0.1),
        "onehot",
    ),
    "true_positives": (
        lambda: metrics.TruePositives([0.3, 0.6]),
        lambda: keras.metrics.TruePositives([0.3, 0.6]),
        "binary",
    ),
    "false_positives": (lambda: metrics.FalsePositives(), lambda: keras.metrics.FalsePositives(), "binary"),
    "true_negatives": (lambda: metrics.TrueNegatives(0.7), lambda: keras.metrics.TrueNegatives(0.7), "binary"),
    "false_negatives": (lambda: metrics.FalseNegatives(), lambda: keras.metrics.FalseNegatives(), "binary"),
    "fbeta_macro": (
        lambda: metrics.FBetaScore("macro", beta=2.0),
        lambda: keras.metrics.FBetaScore("macro", beta=2.0),
        "onehot",
    ),
    "fbeta_none_threshold": (
        lambda: metrics.FBetaScore(None, beta=0.5, threshold=0.3),
        lambda: keras.metrics.FBetaScore(None, beta=0.5, threshold=0.3),
        "onehot",
    ),
    "fbeta_weighted": (
        lambda: metrics.FBetaScore("weighted", beta=1.5),
        lambda: keras.metrics.FBetaScore("weighted", beta=1.5),
        "onehot",
    ),
    "auc_roc": (lambda: metrics.AUC(), lambda: keras.metrics.AUC(), "binary"),
    "auc_pr": (lambda: metrics.AUC(curve="PR"), lambda: keras.metrics.AUC(curve="PR"), "binary"),
    "auc_minoring": (
        lambda: metrics.AUC(num_thresholds=50, summation_method="minoring"),
        lambda: keras.metrics.AUC(num_thresholds=50, summation_method="minoring"),
        "binary",
    ),
    "auc_pr_majoring": (
        lambda: metrics.AUC(curve="PR", summation_method="majoring"),
        lambda: keras.metrics.AUC(curve="PR", summation_method="majoring"),
        "binary",
    ),
    "auc_prgain": (lambda: metrics.AUC(curve="PRGAIN"), lambda: keras.metrics.AUC(curve="PRGAIN"), "binary"),
    "auc_multi_label": (
        lambda: metrics.AUC(multi_label=True, num_labels=3),
        lambda: keras.metrics.AUC(multi_label=True, num_labels=3),
        "binary",
    ),
    "auc_label_weights": (
        lambda: metrics.AUC(multi_label=True, label_weights=[1.0, 0.0, 2.0], curve="PR"),
        lambda: keras.metrics.AUC(multi_label=True, label_weights=[1.0, 0.0, 2.0], curve="PR"),
        "binary",
    ),
    "auc_flat_label_weights": (
        lambda: metrics.AUC(label_weights=[0.5, 1.0, 2.0]),
        lambda: keras.metrics.AUC(label_weights=[0.5, 1.0, 2.0]),
        "binary",
    ),
    "auc_logits_thresholds": (
        lambda: metrics.AUC(thresholds=[0.25, 0.5, 0.75], from_logits=True),
        lambda: keras.metrics.AUC(thresholds=[0.25, 0.5, 0.75], from_logits=True),
        "logits",
    ),
    "sensitivity_at_specificity": (
        lambda: metrics.SensitivityAtSpecificity(0.6),
        lambda: keras.metrics.SensitivityAtSpecificity(0.6),
        "binary",
    ),
    "specificity_at_sensitivity": (
        lambda: metrics.SpecificityAtSensitivity(0.7, num_thresholds=20, class_id=2),
        lambda: keras.metrics.SpecificityAtSensitivity(0.7, num_thresholds=20, class_id=2),
        "binary",
    ),
    "precision_at_recall": (
        lambda: metrics.PrecisionAtRecall(0.5, num_thresholds=1),
        lambda: keras.metrics.PrecisionAtRecall(0.5, num_thresholds=1),
        "binary",
    ),
    "recall_at_precision": (
        lambda: metrics.RecallAtPrecision(0.45, class_id=0),
        lambda: keras.metrics.RecallAtPrecision(0.45, class_id=0),
        "binary",
    ),
    "iou": (
        lambda: metrics.IoU(num_classes=4, target_class_ids=[0, 2]),
        lambda: keras.metrics.IoU(num_classes=4, target_class_ids=[0, 2]),
        "class_ids",
    ),
    "mean_iou_ignore": (
        lambda: metrics.MeanIoU(num_classes=4, ignore_class=1),
        lambda: keras.metrics.MeanIoU(num_classes=4, ignore_class=1),
        "class_ids",
    ),
    "mean_iou_float": (
        lambda: metrics.MeanIoU(num_classes=4, dtype="float32"),
        lambda: keras.metrics.MeanIoU(num_classes=4, dtype="float32"),
        "class_ids",
    ),
    "binary_iou": (
        lambda: metrics.BinaryIoU(threshold=0.4),
        lambda: keras.metrics.BinaryIoU(threshold=0.4),
        "binary",
    ),
    "one_hot_iou": (
        lambda: metrics.OneHotIoU(num_classes=4, target_class_ids=[1, 3]),
        lambda: keras.metrics.OneHotIoU(num_classes=4, target_class_ids=[1, 3]),
        "onehot",
    ),
    "one_hot_mean_iou": (
        lambda: metrics.OneHotMeanIoU(num_classes=4),
        lambda: keras.metrics.OneHotMeanIoU(num_classes=4),
        "onehot",
    ),
    "scce_ignore": (
        lambda: metrics.SparseCategoricalCrossentropy(ignore_class=0),
        lambda: keras.metrics.SparseCategoricalCrossentropy(ignore_class=0),
        "sparse",
    ),
}


def keras_value(kmetric, y, p, w):
    if w is not None and isinstance(kmetric, keras.metrics.IoU) and y.ndim == 2 and p.ndim == 2:
        if not isinstance(kmetric, (keras.metrics.OneHotIoU, keras.metrics.OneHotMeanIoU)):
            w = np.broadcast_to(w[:, None], y.shape)  # Keras's IoU takes one weight per element
    kmetric.reset_state()
    kmetric.update_state(y, p, sample_weight=w)
    return np.asarray(keras.ops.convert_to_numpy(kmetric.result()), np.float64)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_standalone_matches_keras(name, weighted):
    ours, theirs, kind = CASES[name]
    y, p = data(kind)
    w = weights() if weighted else None
    m = ours()
    m.update_state(y[: N // 2], p[: N // 2], sample_weight=None if w is None else w[: N // 2])
    m.update_state(y[N // 2 :], p[N // 2 :], sample_weight=None if w is None else w[N // 2 :])
    want = keras_value(theirs(), y, p, w)
    np.testing.assert_allclose(np.asarray(m.result(), np.float64), want, rtol=1e-6, atol=1e-6)
    m.reset_state()
    m.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(np.asarray(m.result(), np.float64), want, rtol=1e-6, atol=1e-6)


def _model(kind, width):
    testing.seed(0)
    activation = {"binary": "sigmoid", "onehot": "softmax", "sparse": "softmax"}.get(kind)
    return pytrainc.Sequential([pytrainc.layers.Input((5,)), pytrainc.layers.Dense(width, activation=activation)])


LOSSES = {
    "binary": "binary_crossentropy",
    "onehot": "categorical_crossentropy",
    "sparse": "sparse_categorical_crossentropy",
}
IN_PLAN = sorted(n for n, c in CASES.items() if c[2] in ("binary", "onehot", "sparse", "regression"))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", IN_PLAN)
def test_evaluate_and_fit_match_keras(name, weighted):
    ours, theirs, kind = CASES[name]
    y, _ = data(kind)
    x = f32(np.random.default_rng(5).normal(size=(N, 5)))
    w = weights() if weighted else None
    model = _model(kind, 4 if kind in ("onehot", "sparse") else 3)
    model.compile(
        optimizer=pytrainc.optimizers.SGD(0.0),
        loss=LOSSES.get(kind, "mse"),
        **{"weighted_metrics" if weighted else "metrics": [ours()]},
    )
    metric_name = ours().name
    got = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)[metric_name]
    want = keras_value(theirs(), y, model.predict(x, verbose=0), w)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6, atol=1e-6)
    history = model.fit(x, y, sample_weight=w, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(np.asarray(history[metric_name][0], np.float64), want, rtol=1e-6, atol=1e-6)


FUNCTIONS = {
    "binary_accuracy": "binary",
    "categorical_accuracy": "onehot",
    "sparse_categorical_accuracy": "sparse",
    "top_k_categorical_accuracy": "onehot",
    "sparse_top_k_categorical_accuracy": "sparse",
    "pearson_correlation": "regression",
    "concordance_correlation": "regression",
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_match_keras_eagerly_and_in_compile(name):
    kind = FUNCTIONS[name]
    y, p = data(kind)
    fn, kfn = getattr(metrics, name), getattr(keras.metrics, name)
    kwargs = {"k": 2} if "top_k" in name else {}
    want = keras.ops.convert_to_numpy(kfn(y, p, **kwargs))
    np.testing.assert_allclose(fn(y, p, **kwargs), want, rtol=1e-6, atol=1e-6)
    x = f32(np.random.default_rng(5).normal(size=(N, 5)))
    model = _model(kind, 4 if kind in ("onehot", "sparse") else 3)
    model.compile(optimizer=pytrainc.optimizers.SGD(0.0), loss=LOSSES.get(kind, "mse"), metrics=[fn])
    got = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)[name]
    pred = model.predict(x, verbose=0)
    if "top_k" in name:  # k=5 of 4 classes: Keras's torch top_k fails; the eager function is checked above
        want = np.mean(fn(y, pred))
    else:
        want = keras_value(keras.metrics.MeanMetricWrapper(kfn, name=name), y, pred, None)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_mean_and_sum_standalone_and_refused_in_compile():
    values, w = f32([[1, 2], [3, 4], [5, 9]]), f32([1.0, 0.5, 2.0])
    for ours, theirs in ((metrics.Mean(), keras.metrics.Mean()), (metrics.Sum(), keras.metrics.Sum())):
        ours.update_state(values, sample_weight=w)
        ours.update_state([2.0, 4.0])
        theirs.update_state(values, sample_weight=w)
        theirs.update_state([2.0, 4.0])
        assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-6)
        model = _model("regression", 3)
        model.compile(loss="mse", metrics=[ours])
        with pytest.raises(ValueError, match="reduces the values it is given"):
            model.evaluate(f32(np.zeros((4, 5))), f32(np.zeros((4, 3))), verbose=0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip_and_keras_config(name):
    ours, theirs, _ = CASES[name]
    m = ours()
    config = m.get_config()
    again = metrics.deserialize(metrics.serialize(m))
    assert type(again) is type(m) and again.get_config() == config
    kconfig = theirs().get_config()
    assert set(config) == set(kconfig) - {"name"} | {"name"}
    kconfig["name"] = config["name"]
    assert type(metrics.get({"class_name": type(m).__name__, "config": kconfig})) is type(m)


def test_metric_functions_deserialize_and_get():
    assert metrics.deserialize(
        {"class_name": "function", "config": "pearson_correlation", "module": "keras.metrics"}
    ) is (metrics.pearson_correlation)
    assert metrics.get(metrics.top_k_categorical_accuracy).name == "top_k_categorical_accuracy"
    assert metrics.get("r2_score").name == "r2_score"


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: metrics.get("no_such_metric"), "Unknown metric"),
        (lambda: metrics.Precision(thresholds=[0.2, 1.5]), r"Threshold values must be in \[0, 1\]"),
        (lambda: metrics.TruePositives(-0.1), r"Threshold values must be in \[0, 1\]"),
        (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
        (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
        (lambda: metrics.SensitivityAtSpecificity(1.5), "specificity"),
        (lambda: metrics.IoU(num_classes=3, target_class_ids=[0, 3]), "Target class id 3 is out of range"),
        (lambda: metrics.FBetaScore(beta=2), "beta"),
        (lambda: metrics.R2Score("median"), "class_aggregation"),
        (lambda: metrics.AUC(dtype="float64"), "float32"),
        (lambda: metrics.AUC(num_labels=3), "multi_label"),
    ],
)
def test_bad_arguments_raise_clearly(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "ours,theirs,activation",
    [
        (lambda: metrics.TruePositives([0.3, 0.6]), lambda: keras.metrics.TruePositives([0.3, 0.6]), "sigmoid"),
        (lambda: metrics.Precision(), lambda: keras.metrics.Precision(), "sigmoid"),
        (lambda: metrics.AUC(multi_label=True), lambda: keras.metrics.AUC(multi_label=False), "sigmoid"),
        (lambda: metrics.BinaryIoU(), lambda: keras.metrics.BinaryIoU(), "sigmoid"),
        (lambda: metrics.OneHotMeanIoU(3), lambda: keras.metrics.OneHotMeanIoU(3), "softmax"),
    ],
    ids=["true_positives", "precision", "auc", "binary_iou", "one_hot_mean_iou"],
)
def test_sequence_outputs_count_every_element(ours, theirs, activation):
    """Outputs of shape (N, T, D): counting metrics count each of the T rows whole, as Keras."""
    r = np.random.default_rng(3)
    x = f32(r.normal(size=(40, 4, 5)))
    y = f32(r.random((40, 4, 3)) < 0.4) if activation == "sigmoid" else f32(np.eye(3)[r.integers(0, 3, (40, 4))])
    testing.seed(0)
    model = pytrainc.Sequential([pytrainc.layers.Input((4, 5)), pytrainc.layers.Dense(3, activation=activation)])
    m = ours()
    model.compile(loss="binary_crossentropy" if activation == "sigmoid" else "categorical_crossentropy", metrics=[m])
    got = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)[m.name]
    pred = model.predict(x, verbose=0)
    kmetric = theirs()
    if isinstance(m, metrics.AUC):  # multi-label over (N*T, D) rows, as Keras reads 2-D labels
        kmetric = keras.metrics.AUC(multi_label=True)
        y, pred = y.reshape(-1, 3), pred.reshape(-1, 3)
    want = keras_value(kmetric, y, pred, None)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-6, atol=1e-6)
    standalone = ours()
    standalone.update_state(y.reshape(40, 4, 3) if y.ndim == 2 else y, pred.reshape(40, 4, 3))
    np.testing.assert_allclose(np.asarray(standalone.result(), np.float64), want, rtol=1e-6, atol=1e-6)
