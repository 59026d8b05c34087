"""Keras's loss metrics (cross-entropies, KL divergence, cosine similarity, log-cosh, MAPE, MSLE,
Poisson and the hinges), accumulated in C by the losses' row kernels, against keras.metrics
(torch backend) on the same predictions and sample weights."""

import numpy as np
import pytest

import pytrainc
from pytrainc import metrics, testing

keras = testing.keras_torch()

f32 = testing.f32

# name -> (pytrainc metric, keras metric, output activation, targets, compiled loss)
CASES = {
    "bce": (metrics.BinaryCrossentropy(), keras.metrics.BinaryCrossentropy(), "sigmoid", "binary", "bce"),
    "bce_smooth_logits": (
        metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
        keras.metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
        None,
        "binary",
        "mse",
    ),
    "cce": (metrics.CategoricalCrossentropy(), keras.metrics.CategoricalCrossentropy(), "softmax", "hard", "mse"),
    "cce_logits_smooth": (
        metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        keras.metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        None,
        "hard",
        "mse",
    ),
    "scce": (
        metrics.SparseCategoricalCrossentropy(),
        keras.metrics.SparseCategoricalCrossentropy(),
        "softmax",
        "ids",
        "sparse_categorical_crossentropy",
    ),
    "scce_logits": (
        metrics.SparseCategoricalCrossentropy(from_logits=True),
        keras.metrics.SparseCategoricalCrossentropy(from_logits=True),
        None,
        "ids",
        pytrainc.losses.SparseCategoricalCrossentropy(from_logits=True),
    ),
    "kld": (metrics.KLDivergence(), keras.metrics.KLDivergence(), "softmax", "soft", "mse"),
    "poisson": (metrics.Poisson(), keras.metrics.Poisson(), "softplus", "pos", "mse"),
    "hinge": (metrics.Hinge(), keras.metrics.Hinge(), "tanh", "binary", "mse"),
    "squared_hinge": (metrics.SquaredHinge(), keras.metrics.SquaredHinge(), "tanh", "binary", "mse"),
    "categorical_hinge": (metrics.CategoricalHinge(), keras.metrics.CategoricalHinge(), None, "hard", "mse"),
    "logcosh": (metrics.LogCoshError(), keras.metrics.LogCoshError(), None, "normal", "mse"),
    "mape": (metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsolutePercentageError(), None, "normal", "mse"),
    "msle": (metrics.MeanSquaredLogarithmicError(), keras.metrics.MeanSquaredLogarithmicError(), None, "pos", "mse"),
    "cosine": (metrics.CosineSimilarity(), keras.metrics.CosineSimilarity(), None, "normal", "mse"),
}


def targets(kind, r, n, d):
    return {
        "binary": lambda: f32(r.integers(0, 2, (n, d))),
        "hard": lambda: f32(np.eye(d)[r.integers(0, d, n)]),
        "soft": lambda: f32(np.eye(d)[r.integers(0, d, n)] * 0.7 + 0.3 / d),
        "ids": lambda: r.integers(0, d, n),
        "pos": lambda: f32(r.uniform(0.1, 3.0, (n, d))),
        "normal": lambda: f32(r.standard_normal((n, d))),
    }[kind]()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_metric_matches_keras(name, weighted):
    metric, kmetric, activation, kind, loss = CASES[name]
    r = testing.rng(1)
    x = f32(r.standard_normal((37, 5)))
    y = targets(kind, r, 37, 3)
    w = f32(r.uniform(0.1, 2.0, 37)) if weighted else None
    testing.seed(0)
    model = pytrainc.Sequential([pytrainc.layers.Input((5,)), pytrainc.layers.Dense(3, activation=activation)])
    # Keras weights only weighted_metrics by sample_weight (plain metrics= are unweighted).
    model.compile(loss=loss, **{"weighted_metrics" if weighted else "metrics": [metric]})
    got = model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)[metric.name]
    kmetric.reset_state()
    kmetric.update_state(y[:, None] if kind == "ids" else y, model.predict(x, verbose=0), sample_weight=w)
    assert got == pytest.approx(float(kmetric.result()), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(
    "name,cls",
    [
        ("binary_crossentropy", metrics.BinaryCrossentropy),
        ("categorical_crossentropy", metrics.CategoricalCrossentropy),
        ("kld", metrics.KLDivergence),
        ("logcosh", metrics.LogCoshError),
        ("mape", metrics.MeanAbsolutePercentageError),
        ("msle", metrics.MeanSquaredLogarithmicError),
        ("cosine_similarity", metrics.CosineSimilarity),
        ("poisson", metrics.Poisson),
        ("categorical_hinge", metrics.CategoricalHinge),
    ],
)
def test_names_resolve_and_configs_round_trip(name, cls):
    m = metrics.get(name)
    assert type(m) is cls and m.name == name
    again = metrics.get(metrics.serialize(m))
    assert type(again) is cls and again.get_config() == m.get_config()
    kcls = getattr(keras.metrics, cls.__name__)
    kcls.from_config(m.get_config())  # Keras takes pytrainc's config


def test_metric_refuses_what_it_cannot_compute():
    with pytest.raises(TypeError):
        metrics.KLDivergence(from_logits=True)  # as Keras: no such argument
    with pytest.raises(ValueError, match="axis=-1"):
        metrics.CosineSimilarity(axis=0)
    model = pytrainc.Sequential([pytrainc.layers.Input((4,)), pytrainc.layers.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=[metrics.SparseCategoricalCrossentropy()])
    with pytest.raises(ValueError):
        model.evaluate(np.zeros((4, 4), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], verbose=0)


def test_metric_during_fit_matches_keras_on_the_final_weights():
    r = testing.rng(3)
    x = f32(r.standard_normal((24, 5)))
    y = targets("hard", r, 24, 3)
    testing.seed(0)
    model = pytrainc.Sequential([pytrainc.layers.Input((5,)), pytrainc.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["kld", metrics.CosineSimilarity()])
    model.fit(x, y, epochs=2, batch_size=6, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    for key, km in (("kld", keras.metrics.KLDivergence()), ("cosine_similarity", keras.metrics.CosineSimilarity())):
        km.update_state(y, p)
        assert logs[key] == pytest.approx(float(km.result()), rel=1e-5)
