"""The built-in losses of issue #11 against Keras 3 (torch backend): the C kernel's value and
gradient (csrc/losses.c through _C.loss) on the same data, Keras's gradient from torch autograd,
finite differences, configs, string names and training end to end."""

import numpy as np
import pytest

import pytrainc
from pytrainc import _C, losses, testing

keras = testing.keras_torch()
import torch  # noqa: E402  (after keras_torch, which sets the backend)

f32 = testing.f32


def probs(r, shape):
    return f32(r.uniform(0.05, 0.95, shape))


def onehot(r, n, d, soft=False):
    y = np.eye(d)[r.integers(0, d, n)]
    return f32(y * 0.8 + 0.2 / d) if soft else f32(y)


# name -> (pytrainc loss, keras loss, prediction maker, target maker); both makers take (rng, N, D).
def _cases():
    normal = lambda r, n, d: f32(r.standard_normal((n, d)) * 1.5)  # noqa: E731
    pos = lambda r, n, d: f32(r.uniform(0.1, 3.0, (n, d)))  # noqa: E731
    binary = lambda r, n, d: f32(r.integers(0, 2, (n, d)))  # noqa: E731
    pm1 = lambda r, n, d: f32(r.integers(0, 2, (n, d)) * 2 - 1)  # noqa: E731
    prob = lambda r, n, d: probs(r, (n, d))  # noqa: E731
    soft = lambda r, n, d: onehot(r, n, d, soft=True)  # noqa: E731
    hard = lambda r, n, d: onehot(r, n, d)  # noqa: E731
    k = keras.losses
    return {
        "huber": (losses.Huber(), k.Huber(), normal, normal),
        "huber_delta": (losses.Huber(delta=0.4), k.Huber(delta=0.4), normal, normal),
        "log_cosh": (losses.LogCosh(), k.LogCosh(), normal, normal),
        "kld": (losses.KLDivergence(), k.KLDivergence(), prob, soft),
        "poisson": (losses.Poisson(), k.Poisson(), pos, pos),
        "hinge": (losses.Hinge(), k.Hinge(), normal, binary),
        "hinge_pm1": (losses.Hinge(), k.Hinge(), normal, pm1),
        "squared_hinge": (losses.SquaredHinge(), k.SquaredHinge(), normal, binary),
        "categorical_hinge": (losses.CategoricalHinge(), k.CategoricalHinge(), normal, hard),
        "cosine": (losses.CosineSimilarity(), k.CosineSimilarity(), normal, normal),
        "mape": (losses.MeanAbsolutePercentageError(), k.MeanAbsolutePercentageError(), normal, normal),
        "msle": (losses.MeanSquaredLogarithmicError(), k.MeanSquaredLogarithmicError(), pos, pos),
        "bfce": (losses.BinaryFocalCrossentropy(), k.BinaryFocalCrossentropy(), prob, binary),
        "bfce_balanced": (
            losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5, label_smoothing=0.1),
            k.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5, label_smoothing=0.1),
            prob,
            binary,
        ),
        "bfce_logits": (
            losses.BinaryFocalCrossentropy(from_logits=True, gamma=3.0),
            k.BinaryFocalCrossentropy(from_logits=True, gamma=3.0),
            normal,
            binary,
        ),
        "cfce": (losses.CategoricalFocalCrossentropy(), k.CategoricalFocalCrossentropy(), prob, hard),
        "cfce_logits": (
            losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.0, from_logits=True, label_smoothing=0.2),
            k.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.0, from_logits=True, label_smoothing=0.2),
            normal,
            hard,
        ),
        "bce_smooth": (
            losses.BinaryCrossentropy(label_smoothing=0.2),
            k.BinaryCrossentropy(label_smoothing=0.2),
            prob,
            binary,
        ),
        "bce_logits_smooth": (
            losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.3),
            k.BinaryCrossentropy(from_logits=True, label_smoothing=0.3),
            normal,
            binary,
        ),
        "cce_smooth": (
            losses.CategoricalCrossentropy(label_smoothing=0.1),
            k.CategoricalCrossentropy(label_smoothing=0.1),
            prob,
            hard,
        ),
        "cce_logits_smooth": (
            losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.25),
            k.CategoricalCrossentropy(from_logits=True, label_smoothing=0.25),
            normal,
            hard,
        ),
        "dice": (losses.Dice(), k.Dice(), prob, binary),
        "dice_rows": (losses.Dice(axis=-1), k.Dice(axis=-1), prob, binary),
        "tversky": (losses.Tversky(alpha=0.3, beta=0.7), k.Tversky(alpha=0.3, beta=0.7), prob, binary),
        "tversky_rows": (losses.Tversky(alpha=0.6, axis=-1), k.Tversky(alpha=0.6, axis=-1), prob, binary),
    }


CASES = _cases()


def c_kind(loss):
    return loss._fused if loss.from_logits else loss._kind


def c_loss(loss, pred, y, w=None):
    return _C.loss(c_kind(loss), pred, y, w, loss._param_array())


def keras_value_and_grad(kloss, pred, y, w=None):
    p = torch.tensor(pred, requires_grad=True)
    value = kloss(torch.tensor(y), p, None if w is None else torch.tensor(w))
    value.backward()
    return float(value.detach()), p.grad.numpy()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_value_and_gradient_match_keras(name, weighted):
    loss, kloss, make_pred, make_y = CASES[name]
    r = testing.rng(3)
    pred, y = make_pred(r, 7, 5), make_y(r, 7, 5)
    w = f32(r.uniform(0.2, 2.0, 7)) if weighted else None
    got, dpred = c_loss(loss, pred, y, w)
    want, grad = keras_value_and_grad(kloss, pred, y, w)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6), name
    np.testing.assert_allclose(dpred, grad, rtol=1e-4, atol=1e-5 * max(np.abs(grad).max(), 1e-3), err_msg=name)


def numpy_loss(loss, pred, y):
    """The batch loss from pytrainc's NumPy function of the same name, in float64."""
    cfg = {k: v for k, v in loss.get_config().items() if k not in ("name", "reduction")}
    fn = losses.get(type(loss).__name__)
    fn = {v: k for k, v in losses._FUNCTIONS.items()}[next(n for n, c in losses._BY_NAME.items() if c is type(fn))]
    return float(np.mean(fn(y, pred, **cfg)))


@pytest.mark.parametrize(
    "name", [n for n in sorted(CASES) if n not in ("mape", "hinge", "hinge_pm1", "squared_hinge", "categorical_hinge")]
)
def test_loss_gradient_against_finite_differences(name):
    # The piecewise-linear losses (MAPE, the hinges) have kinks; Keras's gradient test covers them.
    loss, _, make_pred, make_y = CASES[name]
    r = testing.rng(8)
    pred, y = make_pred(r, 3, 4), make_y(r, 3, 4)
    _, dpred = c_loss(loss, pred, y)
    p64, h = pred.astype(np.float64), 1e-4
    fd = np.zeros_like(p64)
    for idx in np.ndindex(p64.shape):
        pp, pm = p64.copy(), p64.copy()
        pp[idx] += h
        pm[idx] -= h
        fd[idx] = (numpy_loss(loss, pp, y) - numpy_loss(loss, pm, y)) / (2 * h)
    np.testing.assert_allclose(dpred, fd, rtol=2e-3, atol=2e-5 * max(np.abs(fd).max(), 1.0), err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_functions_match_keras(name):
    loss, kloss, make_pred, make_y = CASES[name]
    r = testing.rng(4)
    pred, y = make_pred(r, 6, 3), make_y(r, 6, 3)
    want, _ = keras_value_and_grad(kloss, pred, y)
    assert numpy_loss(loss, pred, y) == pytest.approx(want, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_cce_ignore_class_matches_keras(from_logits, weighted):
    r = testing.rng(5)
    pred = f32(r.standard_normal((9, 4))) if from_logits else probs(r, (9, 4))
    labels = r.integers(0, 4, 9).astype(np.float32)
    labels[[1, 4, 5]] = -1
    w = f32(r.uniform(0.5, 2.0, 9)) if weighted else None
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1)
    got, d = c_loss(loss, pred, f32(labels[:, None]), w)
    kloss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=-1)
    want, grad = keras_value_and_grad(kloss, pred, f32(labels[:, None]), w)
    assert got == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(d, grad, rtol=1e-4, atol=1e-6)
    assert np.all(d[[1, 4, 5]] == 0)
    # Every label ignored: Keras's divide_no_nan gives 0.
    got, d = c_loss(loss, pred, f32(np.full((9, 1), -1)))
    assert got == 0.0 and np.all(d == 0)


def test_ignore_class_still_refuses_other_bad_labels():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=255)
    with pytest.raises(ValueError):
        c_loss(loss, probs(testing.rng(0), (2, 3)), f32([[255], [7]]))


@pytest.mark.parametrize(
    "name,extra",
    [
        ("Huber", {"delta": 2.5}),
        ("LogCosh", {}),
        ("KLDivergence", {}),
        ("Poisson", {}),
        ("Hinge", {}),
        ("SquaredHinge", {}),
        ("CategoricalHinge", {}),
        ("CosineSimilarity", {"axis": -1}),
        ("MeanAbsolutePercentageError", {}),
        ("MeanSquaredLogarithmicError", {}),
        ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.0}),
        ("CategoricalFocalCrossentropy", {"alpha": 0.3, "gamma": 0.5, "label_smoothing": 0.1}),
        ("SparseCategoricalCrossentropy", {"ignore_class": 3}),
        ("BinaryCrossentropy", {"label_smoothing": 0.2}),
        ("CategoricalCrossentropy", {"label_smoothing": 0.2, "from_logits": True}),
        ("Dice", {"axis": -1}),
        ("Tversky", {"alpha": 0.2, "beta": 0.8}),
    ],
)
def test_config_round_trip_and_keras_accepts_it(name, extra):
    loss = getattr(losses, name)(**extra)
    config = loss.get_config()
    again = losses.get({"class_name": name, "config": config})
    assert type(again) is type(loss) and again.get_config() == config
    np.testing.assert_array_equal(again._param_array(), loss._param_array())
    kconfig = getattr(keras.losses, name)(**extra).get_config()
    assert set(config) - {"from_logits"} <= set(kconfig) | set(extra) | {"axis", "delta"}
    getattr(keras.losses, name).from_config(config)  # Keras takes pytrainc's config as is


@pytest.mark.parametrize(
    "name,cls",
    [
        ("huber", losses.Huber),
        ("log_cosh", losses.LogCosh),
        ("kl_divergence", losses.KLDivergence),
        ("kld", losses.KLDivergence),
        ("poisson", losses.Poisson),
        ("hinge", losses.Hinge),
        ("squared_hinge", losses.SquaredHinge),
        ("categorical_hinge", losses.CategoricalHinge),
        ("cosine_similarity", losses.CosineSimilarity),
        ("mape", losses.MeanAbsolutePercentageError),
        ("msle", losses.MeanSquaredLogarithmicError),
        ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
        ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy),
        ("dice", losses.Dice),
        ("tversky", losses.Tversky),
    ],
)
def test_names_and_functions_resolve_to_the_built_in_loss(name, cls):
    assert type(losses.get(name)) is cls
    fn = {v: k for k, v in losses._FUNCTIONS.items()}.get(name)
    if fn is not None:
        assert type(losses.get(fn)) is cls
        assert callable(getattr(keras.losses, fn.__name__))  # Keras's function of that name


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: losses.CosineSimilarity(axis=1), "axis=-1"),
        (lambda: losses.Dice(axis=(1, 2)), "axis=None"),
        (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "label_smoothing"),
        (lambda: losses.Huber(delta=-1.0), "delta"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.8]), "one float alpha"),
        (lambda: losses.SparseCategoricalCrossentropy(ignore_class=1.5), "ignore_class"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _model(out, activation):
    testing.seed(0)
    m = pytrainc.Sequential(
        [
            pytrainc.layers.Input((6,)),
            pytrainc.layers.Dense(8, activation="tanh"),
            pytrainc.layers.Dense(out, activation),
        ]
    )
    return m


def _keras_model(model, out, activation):
    km = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(out, activation=activation)]
    )
    km.set_weights(model.get_weights())
    return km


@pytest.mark.parametrize(
    "name,activation,out,targets",
    [
        ("huber", None, 2, "normal"),
        ("log_cosh", None, 2, "normal"),
        ("kld", "softmax", 3, "soft"),
        ("poisson", "softplus", 2, "pos"),
        ("hinge", "tanh", 2, "binary"),
        ("cosine", None, 3, "normal"),
        ("bfce", "sigmoid", 2, "binary"),
        ("cfce", "softmax", 3, "hard"),
        ("cce_smooth", "softmax", 3, "hard"),
        ("dice", "sigmoid", 2, "binary"),
    ],
)
def test_training_matches_keras(name, activation, out, targets):
    """Five epochs of SGD on the same data and weights: the losses per epoch and the weights agree."""
    loss, kloss, _, _ = CASES[name]
    r = testing.rng(2)
    x = f32(r.standard_normal((40, 6)))
    y = {
        "normal": lambda: f32(r.standard_normal((40, out))),
        "soft": lambda: onehot(r, 40, out, soft=True),
        "hard": lambda: onehot(r, 40, out),
        "pos": lambda: f32(r.uniform(0.1, 3.0, (40, out))),
        "binary": lambda: f32(r.integers(0, 2, (40, out))),
    }[targets]()
    model = _model(out, activation)
    km = _keras_model(model, out, activation)
    model.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss=loss)
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss=kloss)
    h = model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0).history["loss"]
    kh = km.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, kh, rtol=1e-4, atol=1e-6)
    for a, b in zip(model.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_training_with_ignore_class_matches_keras():
    r = testing.rng(6)
    x = f32(r.standard_normal((30, 6)))
    y = r.integers(0, 3, 30)
    y[::4] = 7
    model = _model(3, "softmax")
    km = _keras_model(model, 3, "softmax")
    model.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss=losses.SparseCategoricalCrossentropy(ignore_class=7))
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=7))
    h = model.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history["loss"]
    kh = km.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, kh, rtol=1e-4)
    with pytest.raises(ValueError, match="ignore_class=7"):
        model.fit(x, np.full(30, 5), verbose=0)


@pytest.mark.parametrize("fmt", ["ptc", "keras"])
def test_loss_options_survive_saving(tmp_path, fmt):
    model = _model(2, "sigmoid")
    model.compile(loss=losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, label_smoothing=0.1))
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    loaded = pytrainc.models.load_model(path)
    assert loaded.loss.get_config() == model.loss.get_config()
