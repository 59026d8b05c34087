"""API contract and reference tests of pytrainc.models (Sequential, Model).

The reference behaviour is Keras 3's (`keras/src/trainers/trainer.py`,
`keras/src/trainers/compile_utils.py`, `keras/src/callbacks/`): history keys,
'accuracy' resolution from shapes, validation_split taking the last fraction
before shuffling, evaluate's return forms. Numbers are checked against NumPy
(forward passes, losses) and PyTorch autograd in float64 (gradients), with the
optimizer updates written out from Keras 3's formulas.
"""

import numpy as np
import pytest
import torch

import pytrainc
from pytrainc import losses, metrics, optimizers, testing
from pytrainc.callbacks import Callback, EarlyStopping
from pytrainc.layers import Activation, Dense, Input
from pytrainc.models import Model, Sequential
from pytrainc.testing import class_data, mlp, seed

# ---------------------------------------------------------------------------
# Helpers


def regression_data(n=64, features=8, s=0):
    rng = np.random.default_rng(s)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w = rng.normal(size=(features, 1))
    y = (x @ w + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def weights_equal(a, b):
    return len(a) == len(b) and all(u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a, b))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_NP_ACT = {
    None: lambda z: z,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "softmax": _softmax,
}


def np_forward(weights, x, activation=None):
    """Float64 forward pass of mlp() from get_weights()."""
    w0, b0, w1, b1 = [np.asarray(w, dtype=np.float64) for w in weights]
    h = np.maximum(np.asarray(x, dtype=np.float64) @ w0 + b0, 0)
    return _NP_ACT[activation](h @ w1 + b1)


def fit_quiet(model, *args, **kwargs):
    kwargs.setdefault("verbose", 0)
    return model.fit(*args, **kwargs)


# ---------------------------------------------------------------------------
# Building models


def test_sequential_three_ways_give_the_same_model():
    x, y = regression_data()

    def build(way):
        if way == "input":
            return Sequential([Input((8,)), Dense(10, activation="relu"), Dense(1)])
        if way == "add":
            model = Sequential()
            model.add(Dense(10, input_dim=8, activation="relu"))
            model.add(Dense(1))
            return model
        return Sequential([Dense(10, activation="relu"), Dense(1)])

    results = []
    for way in ("input", "add", "fit"):
        seed(3)  # one RNG stream: initial weights (at build time), then the shuffles
        model = build(way)
        assert model.built == (way != "fit")
        if way == "fit":
            assert model.input_shape is None
            with pytest.raises(ValueError, match="no input shape"):
                model.count_params()
        else:
            assert model.input_shape == (None, 8) and model.output_shape == (None, 1)
        model.compile(optimizer="sgd", loss="mse")
        hist = fit_quiet(model, x, y, epochs=2, batch_size=16)
        assert model.built and model.input_shape == (None, 8) and model.output_shape == (None, 1)
        assert model.count_params() == 8 * 10 + 10 + 10 + 1
        results.append((hist.history, model.get_weights()))
    assert [w.shape for w in results[2][1]] == [(8, 10), (10,), (10, 1), (1,)]
    # The same seed draws the same initial weights whenever the layers are built.
    for other in results[1:]:
        assert other[0] == results[0][0]
        assert weights_equal(other[1], results[0][1])


def test_functional_chain_matches_sequential():
    seed(1)
    inp = Input(shape=(8,))
    h = Dense(10, activation="relu")(inp)
    out = Dense(1, activation="sigmoid")(h)
    functional = Model(inputs=inp, outputs=out)
    seq = mlp(activation="sigmoid", s=2)
    seq.set_weights(functional.get_weights())
    assert (
        len(functional.layers) == 3 and functional.count_params()
    )  # Keras's: with the InputLayer == 8 * 10 + 10 + 10 + 1
    x, labels = class_data(classes=2)
    y = labels.reshape(-1, 1).astype(np.float32)
    np.testing.assert_array_equal(functional.predict(x, verbose=0), seq.predict(x, verbose=0))
    for m in (functional, seq):
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    seed(5)
    h1 = fit_quiet(functional, x, y, epochs=3, batch_size=8)
    seed(5)
    h2 = fit_quiet(seq, x, y, epochs=3, batch_size=8)
    assert h1.history == h2.history
    assert weights_equal(functional.get_weights(), seq.get_weights())


def test_model_requires_inputs_and_outputs():
    with pytest.raises(ValueError, match="inputs and outputs"):
        Model()
    with pytest.raises(TypeError, match="KerasTensor"):
        Model(inputs=np.zeros((1, 8)), outputs=np.zeros((1, 1)))


def test_models_sharing_layers_share_weights():
    # Keras: a layer used by two models holds one set of weights; training one
    # model changes what the other computes. (Bug: each model's flat parameter
    # buffer steals the variables, so the first model trains a stale copy.)
    x, y = regression_data()
    seed(0)
    inp = Input((8,))
    d1, d2 = Dense(4, activation="relu"), Dense(1)
    m1 = Model(inputs=inp, outputs=d2(d1(inp)))
    m1.compile(optimizer="sgd", loss="mse")
    m2 = Model(inputs=inp, outputs=d2(d1(inp)))
    before = m1.get_weights()
    fit_quiet(m1, x, y, epochs=3)
    after = m1.get_weights()
    assert not weights_equal(before, after), "fit did not change the weights m1 reports"
    assert weights_equal(after, m2.get_weights())
    np.testing.assert_array_equal(m1.predict(x, verbose=0), m2.predict(x, verbose=0))
    np.testing.assert_allclose(m1.predict(x, verbose=0), np_forward(after, x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# compile: strings and objects


def test_compile_resolves_strings_with_keras_defaults():
    m = mlp()
    m.compile(loss="mse")  # Keras's default optimizer is rmsprop
    assert isinstance(m.optimizer, optimizers.RMSprop) and m.optimizer.learning_rate == pytest.approx(0.001)
    for name, cls, lr in [
        ("sgd", optimizers.SGD, 0.01),
        ("adam", optimizers.Adam, 0.001),
        ("rmsprop", optimizers.RMSprop, 0.001),
    ]:
        m.compile(optimizer=name, loss="mse")
        assert isinstance(m.optimizer, cls)
        assert m.optimizer.learning_rate == pytest.approx(lr)
    for name, cls in [
        ("mse", losses.MeanSquaredError),
        ("mae", losses.MeanAbsoluteError),
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ]:
        m.compile(optimizer="sgd", loss=name)
        assert isinstance(m.loss, cls) and not m.loss.from_logits
    opt = optimizers.Adam(learning_rate=0.02)
    loss = losses.CategoricalCrossentropy(from_logits=True)
    m.compile(optimizer=opt, loss=loss)
    assert m.optimizer is opt and m.loss is loss
    with pytest.raises(ValueError, match="needs a loss"):
        m.compile(optimizer="sgd")


def _torch_forward(tw, x, activation):
    h = torch.relu(x @ tw[0] + tw[1])
    z = h @ tw[2] + tw[3]
    act = {None: lambda t: t, "sigmoid": torch.sigmoid, "softmax": lambda t: torch.softmax(t, -1)}[activation]
    return z, act(z)


_EPS = 1e-7


def _keras_loss(kind, z, p, y):
    """Keras 3's losses in float64 torch (mean over the last axis, then the batch)."""
    if kind == "mse":
        return ((p - y) ** 2).mean()
    if kind == "mae":
        return (p - y).abs().mean()
    if kind == "bce_logits":  # also what a fused sigmoid + BCE computes
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    if kind == "bce_prob":
        q = p.clamp(_EPS, 1 - _EPS)
        return -(y * torch.log(q) + (1 - y) * torch.log(1 - q)).mean()
    if kind == "cce_logits":
        return -(y * torch.log_softmax(z, -1)).sum(-1).mean()
    if kind == "cce_prob":  # Keras normalizes the probabilities first
        q = (p / p.sum(-1, keepdim=True)).clamp(_EPS, 1 - _EPS)
        return -(y * torch.log(q)).sum(-1).mean()
    raise AssertionError(kind)


def _onehot(labels, k):
    return np.eye(k, dtype=np.float32)[labels]


# (compile loss, output units, output activation, reference kind, label format)
LOSS_CASES = {
    "mse": ("mse", 1, None, "mse", "reg"),
    "mae": ("mae", 1, None, "mae", "reg"),
    "mse_obj": (lambda: losses.MeanSquaredError(), 1, None, "mse", "reg"),
    "bce_sigmoid": ("binary_crossentropy", 1, "sigmoid", "bce_logits", "bin"),
    "bce_logits": (lambda: losses.BinaryCrossentropy(from_logits=True), 1, None, "bce_logits", "bin"),
    "bce_softmax_probs": ("binary_crossentropy", 2, "softmax", "bce_prob", "onehot"),
    "cce_softmax": ("categorical_crossentropy", 3, "softmax", "cce_logits", "onehot"),
    "cce_sigmoid_probs": ("categorical_crossentropy", 3, "sigmoid", "cce_prob", "onehot"),
    "cce_logits": (lambda: losses.CategoricalCrossentropy(from_logits=True), 3, None, "cce_logits", "onehot"),
    "sparse_softmax": ("sparse_categorical_crossentropy", 3, "softmax", "cce_logits", "sparse"),
    "sparse_logits": (lambda: losses.SparseCategoricalCrossentropy(from_logits=True), 3, None, "cce_logits", "sparse"),
}


def _labels(fmt, units, n=48):
    x, labels = class_data(n=n, classes=max(units, 2), s=4)
    if fmt == "reg":
        return x, regression_data(n=n, s=4)[1], None
    if fmt == "bin":
        return x, labels.reshape(-1, 1).astype(np.float32), None
    onehot = _onehot(labels, units)
    return x, (labels if fmt == "sparse" else onehot), onehot


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_value_and_gradient_match_keras_formulas(case):
    loss, units, activation, kind, fmt = LOSS_CASES[case]
    loss = loss() if callable(loss) else loss
    x, y, onehot = _labels(fmt, units)
    model = mlp(out=units, activation=activation, s=6)
    lr = 0.1
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss=loss)
    w0 = model.get_weights()

    tw = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    yt = torch.tensor(onehot if onehot is not None else y, dtype=torch.float64)
    z, p = _torch_forward(tw, torch.tensor(x, dtype=torch.float64), activation)
    ref = _keras_loss(kind, z, p, yt)
    ref.backward()

    got = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert isinstance(got, float)
    assert got == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)
    # train_on_batch reports the loss before its update (Keras), then steps.
    assert model.train_on_batch(x, y) == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)
    for w, t, new in zip(w0, tw, model.get_weights()):
        np.testing.assert_allclose(new, w - lr * t.grad.numpy(), rtol=1e-4, atol=1e-6)


def _keras_step(name, cfg, w, g, state, t):
    """One update with the formulas of keras/src/optimizers/{sgd,adam,rmsprop}.py."""
    lr = cfg["learning_rate"]
    if name == "sgd":
        mom = cfg.get("momentum", 0.0)
        if not mom:
            return w - lr * g
        m = state.setdefault("m", np.zeros_like(w))
        m[...] = mom * m - lr * g
        return w + (mom * m - lr * g if cfg.get("nesterov") else m)
    if name == "adam":
        b1, b2, eps = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999), cfg.get("epsilon", 1e-7)
        m = state.setdefault("m", np.zeros_like(w))
        v = state.setdefault("v", np.zeros_like(w))
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        return w - alpha * m / (np.sqrt(v) + eps)
    if name == "rmsprop":
        rho, mom, eps = cfg.get("rho", 0.9), cfg.get("momentum", 0.0), cfg.get("epsilon", 1e-7)
        v = state.setdefault("v", np.zeros_like(w))
        v[...] = rho * v + (1 - rho) * g * g
        denom = v + eps
        if cfg.get("centered"):
            a = state.setdefault("a", np.zeros_like(w))
            a[...] = rho * a + (1 - rho) * g
            denom = v - a * a + eps
        inc = lr * g / np.sqrt(denom)
        if mom:
            m = state.setdefault("m", np.zeros_like(w))
            m[...] = mom * m + inc
            return w - m
        return w - inc
    raise AssertionError(name)


OPTIMIZER_CASES = [
    ("sgd", {"learning_rate": 0.05}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True}),
]


@pytest.mark.parametrize("name,cfg", OPTIMIZER_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZER_CASES)])
def test_optimizer_objects_follow_keras_update_formulas(name, cfg):
    cls = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop}[name]
    x, y = regression_data(n=32, s=8)
    model = mlp(s=9)
    model.compile(optimizer=cls(**cfg), loss="mse")
    ref = [w.astype(np.float64) for w in model.get_weights()]
    states = [{} for _ in ref]
    for t in range(1, 6):
        tw = [torch.tensor(w, requires_grad=True) for w in ref]
        z, p = _torch_forward(tw, torch.tensor(x, dtype=torch.float64), None)
        _keras_loss("mse", z, p, torch.tensor(y, dtype=torch.float64)).backward()
        ref = [_keras_step(name, cfg, w, tv.grad.numpy(), st, t) for w, tv, st in zip(ref, tw, states)]
        model.train_on_batch(x, y)
    assert model.optimizer.iterations == 5
    for got, want in zip(model.get_weights(), ref):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)


# ---------------------------------------------------------------------------
# Metrics: 'accuracy' resolution


@pytest.mark.parametrize(
    "units,activation,loss,fmt,expected",
    [
        (1, "sigmoid", "binary_crossentropy", "bin", metrics.BinaryAccuracy),
        (1, "sigmoid", "binary_crossentropy", "bin_flat", metrics.BinaryAccuracy),
        (3, "softmax", "categorical_crossentropy", "onehot", metrics.CategoricalAccuracy),
        (3, "softmax", "sparse_categorical_crossentropy", "sparse", metrics.SparseCategoricalAccuracy),
        (3, "softmax", "sparse_categorical_crossentropy", "sparse_col", metrics.SparseCategoricalAccuracy),
        (3, None, "mse", "onehot", metrics.CategoricalAccuracy),
    ],
)
def test_accuracy_resolves_from_shapes_as_keras(units, activation, loss, fmt, expected):
    x, labels = class_data(n=60, classes=max(units, 2), s=12)
    y = {
        "bin": lambda: labels.reshape(-1, 1).astype(np.float32),
        "bin_flat": lambda: labels.astype(np.float32),
        "onehot": lambda: _onehot(labels, units),
        "sparse": lambda: labels,
        "sparse_col": lambda: labels.reshape(-1, 1),
    }[fmt]()
    model = mlp(out=units, activation=activation, s=13)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    hist = fit_quiet(model, x, y, epochs=2, batch_size=16, validation_split=0.25)
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 2 for v in hist.history.values())
    assert [type(m) for m in model.metrics] == [expected]
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3
    assert [m.name for m in model.metrics] == ["accuracy"]
    p = model.predict(x, verbose=0)
    if expected is metrics.BinaryAccuracy:
        want = np.mean((p[:, 0] > 0.5) == (labels == 1))
    else:
        want = np.mean(p.argmax(-1) == labels)
    got = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == {"loss", "accuracy"}
    assert got["accuracy"] == pytest.approx(want, abs=1e-12)


def test_acc_alias_keeps_its_name():
    x, labels = class_data(classes=2)
    model = mlp(activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    hist = fit_quiet(model, x, labels.astype(np.float32), epochs=1, validation_data=(x, labels))
    assert list(hist.history) == ["loss", "acc", "val_loss", "val_acc"]
    assert isinstance(model.metrics[0], metrics.BinaryAccuracy)


def test_regression_metrics_match_numpy():
    x, y = regression_data()
    model = mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    logs = model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    p = np_forward(model.get_weights(), x)
    assert list(logs) == ["loss", "mae", "mse"]
    assert logs["mae"] == pytest.approx(np.abs(p - y).mean(), rel=1e-5)
    assert logs["mse"] == pytest.approx(((p - y) ** 2).mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["mse"], rel=1e-6)


# ---------------------------------------------------------------------------
# fit


def test_fit_history_has_keras_keys_one_entry_per_epoch():
    x, labels = class_data(n=50, classes=3)
    model = mlp(out=3, activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = fit_quiet(model, x, labels, epochs=4, batch_size=8, validation_data=(x[:10], labels[:10]))
    assert hist is model.history
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist.epoch == [0, 1, 2, 3]
    for values in hist.history.values():
        assert len(values) == 4 and all(isinstance(v, float) and np.isfinite(v) for v in values)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    # Without validation or metrics only 'loss' is logged; epochs=0 trains nothing.
    w = model.get_weights()
    assert fit_quiet(model, x, labels, epochs=0).history == {}
    assert weights_equal(w, model.get_weights())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert list(fit_quiet(model, x, labels, epochs=2).history) == ["loss"]


def test_fit_verbose_zero_prints_nothing(capsys):
    x, y = regression_data()
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_validation_split_takes_last_fraction_before_shuffling():
    x, y = regression_data(n=80)
    base = mlp(s=21)
    w0 = base.get_weights()
    results = []
    for split in (True, False):
        model = mlp(s=21)
        model.set_weights(w0)
        model.compile(optimizer=optimizers.SGD(0.01, momentum=0.9), loss="mse", metrics=["mae"])
        seed(77)
        if split:
            hist = fit_quiet(model, x, y, epochs=3, batch_size=16, validation_split=0.25)
        else:
            hist = fit_quiet(model, x[:60], y[:60], epochs=3, batch_size=16, validation_data=(x[60:], y[60:]))
        results.append((hist.history, model.get_weights()))
    assert results[0][0] == results[1][0]
    assert weights_equal(results[0][1], results[1][1])


def test_validation_split_val_loss_is_the_loss_on_the_last_slice():
    x, y = regression_data(n=50)
    y = y.copy()
    y[40:] += 100.0  # the last 20 % is far from everything else
    model = mlp(s=5)
    model.compile(optimizer="sgd", loss="mse")
    hist = fit_quiet(model, x, y, epochs=1, batch_size=10, validation_split=0.2)
    val_loss = hist.history["val_loss"][0]
    assert val_loss > 1000 > hist.history["loss"][0]
    # Validation runs after the epoch's updates, on the final slice.
    assert val_loss == pytest.approx(model.evaluate(x[40:], y[40:], batch_size=10, verbose=0), rel=1e-9)
    p = np_forward(model.get_weights(), x[40:])
    assert val_loss == pytest.approx(((p - y[40:]) ** 2).mean(), rel=1e-5)


def test_validation_data_is_evaluated_after_each_epoch():
    x, y = regression_data(n=40)
    xv, yv = regression_data(n=15, s=1)

    class Check(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((logs["val_loss"], self.model.evaluate(xv, yv, batch_size=32, verbose=0)))

    cb = Check()
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    fit_quiet(model, x, y, epochs=3, validation_data=(xv, yv), callbacks=[cb])
    assert len(cb.seen) == 3
    for logged, direct in cb.seen:
        assert logged == pytest.approx(direct, rel=1e-9)
    assert len({a for a, _ in cb.seen}) == 3


def test_initial_epoch():
    x, y = regression_data()
    epochs_seen = []

    class Rec(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_seen.append(epoch)

    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    hist = fit_quiet(model, x, y, epochs=5, initial_epoch=3, callbacks=[Rec()])
    assert epochs_seen == [3, 4]
    assert hist.epoch == [3, 4] and len(hist.history["loss"]) == 2
    assert model.optimizer.iterations == 2 * 2  # 64 samples / 32 per batch, two epochs


def test_shuffle_false_is_deterministic_and_shuffle_true_reorders():
    x, y = regression_data(n=96)

    def run(shuffle, rng_seed):
        model = mlp(s=31)
        model.compile(optimizer=optimizers.SGD(0.02), loss="mse")
        seed(rng_seed)
        hist = fit_quiet(model, x, y, epochs=3, batch_size=16, shuffle=shuffle)
        return hist.history["loss"], model.get_weights()

    a, b = run(False, 1), run(False, 2)
    assert a[0] == b[0] and weights_equal(a[1], b[1])
    c, d = run(True, 1), run(True, 1)
    assert c[0] == d[0] and weights_equal(c[1], d[1])
    e = run(True, 2)
    assert not weights_equal(a[1], c[1])
    assert not weights_equal(c[1], e[1])


def test_shuffle_false_matches_manual_minibatch_steps():
    # fit(shuffle=False) = train_on_batch over consecutive slices, last one short.
    x, y = regression_data(n=70)
    a, b = mlp(s=3), mlp(s=3)
    for m in (a, b):
        m.compile(optimizer=optimizers.Adam(0.01), loss="mse")
    hist = fit_quiet(a, x, y, epochs=2, batch_size=32, shuffle=False)
    losses_seen = []
    for _ in range(2):
        epoch = [(b.train_on_batch(x[i : i + 32], y[i : i + 32]), len(x[i : i + 32])) for i in range(0, 70, 32)]
        losses_seen.append(sum(l * n for l, n in epoch) / 70)
    assert weights_equal(a.get_weights(), b.get_weights())
    np.testing.assert_allclose(hist.history["loss"], losses_seen, rtol=1e-6)


# ---------------------------------------------------------------------------
# evaluate, predict, *_on_batch


def test_evaluate_return_forms():
    x, labels = class_data(classes=3)
    model = mlp(out=3, activation="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss = model.evaluate(x, labels, verbose=0)
    assert isinstance(loss, float)
    assert model.evaluate(x, labels, verbose=0, return_dict=True) == {"loss": loss}
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    res = model.evaluate(x, labels, verbose=0)
    assert isinstance(res, list) and len(res) == 2 and res[0] == pytest.approx(loss, rel=1e-12)
    d = model.evaluate(x, labels, verbose=0, return_dict=True)
    assert d == {"loss": res[0], "accuracy": res[1]}
    # The result does not depend on the batch size.
    assert model.evaluate(x, labels, batch_size=7, verbose=0)[0] == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("batch_size", [None, 1, 7, 64, 1000])
def test_predict_matches_numpy_forward(batch_size):
    x, _ = class_data(n=64, classes=3)
    model = mlp(out=3, activation="softmax", hidden=12)
    p = model.predict(x, batch_size=batch_size, verbose=0)  # no compile needed
    assert p.shape == (64, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p, np_forward(model.get_weights(), x, "softmax"), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)


def test_on_batch_methods():
    x, labels = class_data(n=20, classes=3)
    model = mlp(out=3, activation="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.test_on_batch(x, labels)
    assert isinstance(before, list) and len(before) == 2
    assert before == model.evaluate(x, labels, batch_size=20, verbose=0)
    w = model.get_weights()
    trained = model.train_on_batch(x, labels)
    assert trained[0] == pytest.approx(before[0], rel=1e-6)  # the loss before the step
    assert not weights_equal(w, model.get_weights())
    assert model.optimizer.iterations == 1
    after = model.test_on_batch(x, labels, return_dict=True)
    assert set(after) == {"loss", "accuracy"} and after["loss"] < before[0]
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))
    assert model.predict_on_batch(x[:1]).shape == (1, 3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.train_on_batch(x, labels), float)
    assert isinstance(model.test_on_batch(x, labels), float)


# ---------------------------------------------------------------------------
# summary, count_params, weights


def test_summary_lists_layers_shapes_and_counts(capsys):
    seed(0)
    model = Sequential(
        [Input((8,)), Dense(10, activation="relu", name="hidden"), Dense(1, name="out")], name="my_model"
    )
    model.summary()
    text = capsys.readouterr().out
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) + "\n" == text
    assert "my_model" in text
    rows = text.splitlines()
    hidden = next(line for line in rows if line.startswith("│ hidden"))
    out = next(line for line in rows if line.startswith("│ out"))
    assert "Dense" in hidden and "(None, 10)" in hidden and hidden.split()[-2] == "90"
    assert "Dense" in out and "(None, 1)" in out and out.split()[-2] == "11"
    assert "Total params: 101" in text
    assert "Trainable params: 101" in text
    assert "Non-trainable params: 0" in text
    assert model.count_params() == 101
    unbuilt = []  # Keras 3's table for a Sequential without an input shape
    Sequential([Dense(3, name="d")]).summary(print_fn=unbuilt.append)
    assert "d (Dense)" in unbuilt[0] and "0 (unbuilt)" in unbuilt[0] and "Total params: 0 (0.00 B)" in unbuilt[0]


def test_get_weights_order_and_set_weights():
    model = Sequential([Input((8,)), Dense(10, activation="relu"), Dense(3, use_bias=False), Dense(2)])
    ws = model.get_weights()
    assert [w.shape for w in ws] == [(8, 10), (10,), (10, 3), (3, 2), (2,)]
    assert all(w.dtype == np.float32 for w in ws)
    ws[0][...] = 123.0  # copies, not views
    assert not np.any(model.get_weights()[0] == 123.0)
    new = [np.full(w.shape, i + 1, dtype=np.float64) for i, w in enumerate(ws)]
    model.set_weights(new)
    for i, w in enumerate(model.get_weights()):
        assert w.dtype == np.float32 and np.all(w == i + 1)
    assert model.layers[0].kernel.shape == (8, 10)
    np.testing.assert_array_equal(model.layers[2].get_weights()[0], new[3])


def test_set_weights_errors_leave_model_unchanged():
    model = mlp()
    w0 = model.get_weights()
    with pytest.raises(ValueError, match=r"4 arrays.*Received: 3"):
        model.set_weights(w0[:3])
    with pytest.raises(ValueError, match=r"4 arrays.*Received: 5"):
        model.set_weights(w0 + [w0[0]])
    bad = [np.zeros_like(w) for w in w0]
    bad[3] = np.zeros(2, dtype=np.float32)  # bias of shape (1,) expected; the first three are valid
    with pytest.raises(ValueError, match=r"\(1,\).*Received: shape=\(2,\)"):
        model.set_weights(bad)
    bad[3] = np.zeros(1, dtype=np.float32)
    bad[2] = np.zeros((1, 10), dtype=np.float32)  # a transposed kernel
    with pytest.raises(ValueError, match=r"\(10, 1\).*Received: shape=\(1, 10\)"):
        model.set_weights(bad)
    assert weights_equal(w0, model.get_weights())


@pytest.mark.parametrize("bad_value", [np.array(["a"]), np.array([None], dtype=object)], ids=["str", "object"])
def test_set_weights_non_numeric_raises_and_changes_nothing(bad_value):
    # Bug: only shapes are checked before writing, so a string array of the
    # right shape fails halfway (earlier weights already overwritten) and an
    # object array holding None silently writes NaN.
    model = mlp()
    w0 = model.get_weights()
    new = [np.ones_like(w) for w in w0[:3]] + [bad_value]
    with pytest.raises((TypeError, ValueError), match="(?i)dtype|number|numeric"):
        model.set_weights(new)
    assert weights_equal(w0, model.get_weights())


# ---------------------------------------------------------------------------
# Input dtypes and layouts


def _variants(base):
    """Equivalent inputs: (name, array-like) all holding the values of `base`."""
    out = [
        ("float64", base.astype(np.float64)),
        ("float16", base.astype(np.float16)),
        ("int8", base.astype(np.int8)),
        ("int32", base.astype(np.int32)),
        ("int64", base.astype(np.int64)),
        ("uint8", base.astype(np.uint8)),
        ("fortran", np.asfortranarray(base.astype(np.float32))),
        ("fortran64", np.asfortranarray(base.astype(np.float64))),
        ("list", base.tolist()),
    ]
    wide = np.zeros((base.shape[0] * 2, base.shape[1] * 2), dtype=np.float32)
    wide[::2, 1::2] = base
    out.append(("strided", wide[::2, 1::2]))
    assert not out[-1][1].flags.c_contiguous
    return out


_BASE_X = np.random.default_rng(40).integers(0, 6, size=(45, 8)).astype(np.float32)
_BASE_Y = (_BASE_X[:, :1] - 2.5).astype(np.float32)


@pytest.mark.parametrize("name,x", _variants(_BASE_X), ids=[n for n, _ in _variants(_BASE_X)])
def test_inputs_of_any_dtype_and_layout_match_float32(name, x):
    def trained(xs, ys):
        model = mlp(s=41)
        model.compile(optimizer=optimizers.SGD(0.01, momentum=0.5), loss="mse", metrics=["mae"])
        seed(42)
        hist = fit_quiet(model, xs, ys, epochs=2, batch_size=10, validation_data=(xs, ys))
        return model, hist.history

    ref_model, ref_hist = trained(_BASE_X, _BASE_Y)
    model, hist = trained(x, _BASE_Y)
    assert hist == ref_hist
    assert weights_equal(model.get_weights(), ref_model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), ref_model.predict(_BASE_X, verbose=0))
    assert model.evaluate(x, _BASE_Y, verbose=0, return_dict=True) == ref_model.evaluate(
        _BASE_X, _BASE_Y, verbose=0, return_dict=True
    )


def test_float64_inputs_are_rounded_to_float32():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 8))
    model = mlp()
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x.astype(np.float32), verbose=0))


@pytest.mark.parametrize(
    "labels",
    [
        lambda l: l,
        lambda l: l.reshape(-1, 1),
        lambda l: l.astype(np.float32),
        lambda l: l.astype(np.uint8),
        lambda l: l.tolist(),
    ],
    ids=["int64", "column", "float", "uint8", "list"],
)
def test_sparse_label_forms_match(labels):
    x, l = class_data(n=40, classes=4, s=50)

    def run(y):
        model = mlp(out=4, activation="softmax", s=51)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = fit_quiet(model, x, y, epochs=2, batch_size=8, shuffle=False)
        return hist.history, model.get_weights()

    ref, got = run(l), run(labels(l))
    assert ref[0] == got[0] and weights_equal(ref[1], got[1])


def test_bool_inputs_work_as_zeros_and_ones():
    x = np.random.default_rng(0).random((20, 8)) > 0.5
    model = mlp()
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x.astype(np.float32), verbose=0))


# ---------------------------------------------------------------------------
# Callbacks inside fit


class Recorder(Callback):
    def __init__(self, tag, log):
        super().__init__()
        self.tag = tag
        self.log = log

    def on_train_begin(self, logs=None):
        self.log.append((self.tag, "train_begin", None, None))

    def on_epoch_begin(self, epoch, logs=None):
        self.log.append((self.tag, "epoch_begin", epoch, None))

    def on_epoch_end(self, epoch, logs=None):
        self.log.append((self.tag, "epoch_end", epoch, logs))
        logs[f"seen_by_{self.tag}"] = epoch

    def on_train_end(self, logs=None):
        self.log.append((self.tag, "train_end", None, logs))


def test_callbacks_run_in_order_and_share_the_logs_dict():
    x, y = regression_data()
    log = []
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    hist = fit_quiet(model, x, y, epochs=2, validation_split=0.25, callbacks=[Recorder("a", log), Recorder("b", log)])
    assert [(t, e, ep) for t, e, ep, _ in log] == [
        ("a", "train_begin", None),
        ("b", "train_begin", None),
        ("a", "epoch_begin", 0),
        ("b", "epoch_begin", 0),
        ("a", "epoch_end", 0),
        ("b", "epoch_end", 0),
        ("a", "epoch_begin", 1),
        ("b", "epoch_begin", 1),
        ("a", "epoch_end", 1),
        ("b", "epoch_end", 1),
        ("a", "train_end", None),
        ("b", "train_end", None),
    ]
    ends = [logs for t, e, _, logs in log if e == "epoch_end"]
    assert ends[0] is ends[1] and ends[2] is ends[3]
    # 'b' saw what 'a' added, and History (after them) recorded both.
    assert ends[0]["seen_by_a"] == 0 and ends[0]["seen_by_b"] == 0
    assert hist.history["seen_by_a"] == [0, 1] and hist.history["seen_by_b"] == [0, 1]
    assert hist.history["val_loss"] == [ends[0]["val_loss"], ends[2]["val_loss"]]


def test_stop_training_from_on_epoch_end():
    x, y = regression_data()

    class StopAt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                self.model.stop_training = True

    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    assert len(fit_quiet(model, x, y, epochs=10, callbacks=[StopAt()]).history["loss"]) == 3
    # The flag is reset at the start of the next fit.
    assert len(fit_quiet(model, x, y, epochs=4).history["loss"]) == 4


def test_stop_training_from_on_train_batch_end_ends_the_epoch():
    x, y = regression_data(n=100)
    batches = []

    class StopAtBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True

    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    hist = fit_quiet(model, x, y, epochs=5, batch_size=10, callbacks=[StopAtBatch()])
    assert batches == [0, 1]
    assert len(hist.history["loss"]) == 1
    assert model.optimizer.iterations == 2


class Boom(Exception):
    pass


@pytest.mark.parametrize("hook", ["on_epoch_end", "on_train_batch_end", "on_train_begin"])
def test_exception_in_callback_propagates_and_model_stays_usable(hook):
    x, y = regression_data()

    def explode(self, *args, **kwargs):
        if self.model.optimizer.iterations >= 2 or hook == "on_train_begin":
            raise Boom(hook)

    cb = type("Exploding", (Callback,), {hook: explode})()
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(Boom, match=hook):
        fit_quiet(model, x, y, epochs=5, batch_size=16, callbacks=[cb])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    hist = fit_quiet(model, x, y, epochs=2)
    assert len(hist.history["loss"]) == 2
    np.testing.assert_allclose(model.predict(x, verbose=0), np_forward(model.get_weights(), x), rtol=1e-5, atol=1e-5)


def test_batch_hook_called_once_per_batch_with_running_logs_and_same_result():
    x, labels = class_data(n=100, classes=3, s=60)
    calls = []

    class PerBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            calls.append((batch, dict(logs)))

    def run(callbacks):
        model = mlp(out=3, activation="softmax", s=61)
        model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        first_batch_loss = model.evaluate(x[:32], labels[:32], batch_size=32, verbose=0, return_dict=True)
        hist = fit_quiet(model, x, labels, epochs=3, batch_size=32, shuffle=False, callbacks=callbacks)
        return model, hist.history, first_batch_loss

    plain_model, plain_hist, _ = run([])
    hooked_model, hooked_hist, first = run([PerBatch()])
    assert [b for b, _ in calls] == [0, 1, 2, 3] * 3
    assert all(set(logs) == {"loss", "accuracy"} for _, logs in calls)
    # Batch 0's logs are the loss of the first batch before its update.
    assert calls[0][1]["loss"] == pytest.approx(first["loss"], rel=1e-6)
    assert calls[0][1]["accuracy"] == pytest.approx(first["accuracy"], abs=1e-12)
    # Running averages: the last batch's logs are the epoch's logs.
    for epoch in range(3):
        last = calls[4 * epoch + 3][1]
        assert last["loss"] == pytest.approx(plain_hist["loss"][epoch], rel=1e-12)
        assert last["accuracy"] == pytest.approx(plain_hist["accuracy"][epoch], rel=1e-12)
    assert len({logs["loss"] for _, logs in calls[:4]}) > 1
    # Per-batch mode computes bit for bit what one C call per epoch computes.
    assert weights_equal(plain_model.get_weights(), hooked_model.get_weights())
    assert plain_hist == hooked_hist


def test_on_batch_end_alias_is_called_per_batch():
    x, y = regression_data(n=50)
    seen = []

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    fit_quiet(model, x, y, epochs=2, batch_size=20, callbacks=[Legacy()])
    assert seen == [0, 1, 2, 0, 1, 2]


def _diverging_problem():
    """Training makes val_loss rise after a few epochs (validation targets are negated)."""
    rng = np.random.default_rng(70)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    w = rng.normal(size=(8, 1))
    y = (x @ w).astype(np.float32)
    xv = rng.normal(size=(50, 8)).astype(np.float32)
    yv = (-(xv @ w) * 0.3).astype(np.float32)
    return x, y, xv, yv


def test_early_stopping_patience_in_fit():
    x, y, xv, yv = _diverging_problem()
    model = mlp(hidden=16, s=71)
    model.compile(optimizer=optimizers.SGD(0.01), loss="mse")
    es = EarlyStopping(monitor="val_loss", patience=3)
    hist = fit_quiet(model, x, y, epochs=200, batch_size=20, validation_data=(xv, yv), callbacks=[es])
    val = hist.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 200
    # Keras: stops `patience` epochs after the last improvement.
    assert len(val) == best + 3 + 1
    assert es.stopped_epoch == len(val) - 1
    assert es.best == pytest.approx(val[best], rel=1e-12)


def test_early_stopping_restore_best_weights_restores_the_model():
    x, y, xv, yv = _diverging_problem()
    snapshots = {}

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = self.model.get_weights()

    model = mlp(hidden=16, s=72)
    model.compile(optimizer=optimizers.Adam(0.01), loss="mse")
    es = EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True)
    hist = fit_quiet(model, x, y, epochs=200, batch_size=20, validation_data=(xv, yv), callbacks=[Snapshot(), es])
    val = hist.history["val_loss"]
    best = int(np.argmin(val))
    last = len(val) - 1
    assert last < 199 and best < last
    assert es.best_epoch == best
    assert weights_equal(model.get_weights(), snapshots[best])
    assert not weights_equal(model.get_weights(), snapshots[last])
    # The restored weights are the ones the model computes with.
    assert model.evaluate(xv, yv, batch_size=20, verbose=0) == pytest.approx(val[best], rel=1e-12)


# ---------------------------------------------------------------------------
# Bad input: clear exceptions, nothing trained


@pytest.fixture
def reg_model():
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    return model


X20, Y20 = regression_data(n=20)


def _with(arr, index, value):
    arr = arr.copy()
    arr[index] = value
    return arr


@pytest.mark.parametrize(
    "x,y,exc,match",
    [
        (X20[:, :7], Y20, ValueError, r"expects input of shape \(None, 8\).*\(20, 7\)"),
        (X20.reshape(20, 2, 4), Y20, ValueError, r"expects input of shape \(None, 8\).*\(20, 2, 4\)"),
        (X20[:, 0], Y20, ValueError, r"expects input of shape \(None, 8\).*\(20,\)"),
        (X20, Y20[:19], ValueError, r"same number of samples.*20.*19"),
        (X20[:0], Y20[:0], ValueError, r"empty"),
        (_with(X20, (3, 2), np.nan), Y20, ValueError, r"x contains 1 NaN or infinite"),
        (_with(X20, (0, 0), -np.inf), Y20, ValueError, r"x contains 1 NaN or infinite"),
        (X20, _with(Y20, (5, 0), np.nan), ValueError, r"y contains 1 NaN or infinite"),
        (X20, _with(Y20, (5, 0), np.inf), ValueError, r"y contains 1 NaN or infinite"),
        (X20.astype(str), Y20, TypeError, r"x must hold numbers.*dtype=<U"),
        (X20, Y20.astype(str), TypeError, r"y must hold numbers"),
        (X20.astype(object), Y20, TypeError, r"dtype=object"),
        ([[1.0] * 8, [1.0] * 7], Y20[:2], ValueError, r"rectangular"),
        (X20, None, ValueError, r"y is required"),
        # (20, k) targets broadcast against the (None, 1) output as in Keras; targets of higher rank do not
        (X20, np.zeros((20, 2, 3)), ValueError, r"y must have shape \(None, 1\).*\(20, 2, 3\)"),
    ],
    ids=[
        "features",
        "rank3",
        "rank1",
        "count",
        "empty",
        "nan_x",
        "inf_x",
        "nan_y",
        "inf_y",
        "str_x",
        "str_y",
        "object_x",
        "ragged",
        "no_y",
        "y_width",
    ],
)
def test_fit_rejects_bad_data_without_training(reg_model, x, y, exc, match):
    w0 = reg_model.get_weights()
    with pytest.raises(exc, match=match):
        reg_model.fit(x, y, verbose=0)
    assert weights_equal(w0, reg_model.get_weights())
    assert reg_model.optimizer.iterations == 0


def test_float64_values_beyond_float32_range_are_rejected(reg_model):
    # Bug: the finiteness check runs on the caller's float64 array, before the
    # cast to float32 turns 1e39 into inf, so training silently yields NaN.
    x = _with(X20.astype(np.float64), (0, 0), 1e39)
    w0 = reg_model.get_weights()
    with pytest.raises(ValueError, match=r"(?i)inf|float32|range"):
        reg_model.fit(x, Y20, verbose=0)
    assert weights_equal(w0, reg_model.get_weights())


def test_predict_and_evaluate_reject_bad_data(reg_model):
    with pytest.raises(ValueError, match=r"\(None, 8\).*\(20, 5\)"):
        reg_model.predict(X20[:, :5], verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        reg_model.predict(_with(X20, (1, 1), np.nan), verbose=0)
    with pytest.raises(TypeError, match="must hold numbers"):
        reg_model.predict(np.array([["a"] * 8]), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        reg_model.evaluate(X20, Y20[:3], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        reg_model.predict(np.zeros((0, 8)), verbose=0)


def test_integer_labels_with_categorical_crossentropy_suggest_the_fix():
    model = mlp(out=3, activation="softmax")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, labels = class_data(n=20, classes=3)
    for y in (labels, labels.reshape(-1, 1)):
        with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical"):
            model.fit(x, y, verbose=0)
    fit_quiet(model, x, pytrainc.utils.to_categorical(labels, 3))  # the suggested fix works


@pytest.mark.parametrize(
    "y,match",
    [
        (np.full(20, 3), r"class ids in \[0, 3\).*\[3, 3\]"),
        (np.full(20, -1), r"class ids in \[0, 3\)"),
        (np.full(20, 1.5), r"integer class ids"),
        (np.zeros((20, 2)), r"integer labels of shape"),
    ],
)
def test_sparse_labels_out_of_range_or_not_integer(y, match):
    model = mlp(out=3, activation="softmax")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=match):
        model.fit(X20, y, verbose=0)


def test_unknown_names_are_rejected():
    model = mlp()
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'adamw2'.*'sgd'"):
        model.compile(optimizer="adamw2", loss="mse")
    with pytest.raises(ValueError, match=r"Unknown loss: 'msee'.*'mse'"):
        model.compile(optimizer="sgd", loss="msee")
    with pytest.raises(ValueError, match=r"Unknown metric: 'accuracyy'.*'accuracy'"):
        model.compile(optimizer="sgd", loss="mse", metrics=["accuracyy"])
    with pytest.raises(ValueError, match=r"Unknown activation: 'relux'.*'relu'"):
        Dense(3, activation="relux")
    with pytest.raises(ValueError, match=r"Unknown activation"):
        Activation("gelu_fast")
    with pytest.raises(ValueError, match=r"Unknown initializer: 'glorot'.*'glorot_uniform'"):
        Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match=r"Unknown initializer"):
        Dense(3, bias_initializer="zero_point")
    assert not model.compiled


def test_fit_evaluate_before_compile_raise_runtime_error():
    model = mlp()
    for call in (
        lambda: model.fit(X20, Y20, verbose=0),
        lambda: model.evaluate(X20, Y20, verbose=0),
        lambda: model.train_on_batch(X20, Y20),
        lambda: model.test_on_batch(X20, Y20),
    ):
        with pytest.raises(RuntimeError, match="compile"):
            call()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"batch_size": 0}, r"batch_size must be a positive int.*0"),
        ({"batch_size": -4}, r"batch_size must be a positive int.*-4"),
        ({"batch_size": 2.5}, r"batch_size must be a positive int"),
        ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\).*1.0"),
        ({"validation_split": -0.1}, r"validation_split must be in \[0, 1\)"),
        ({"validation_split": 1.5}, r"validation_split must be in \[0, 1\)"),
        ({"validation_data": (X20,)}, r"validation_data must be a tuple \(x_val, y_val\)"),
        ({"validation_data": (X20, Y20, Y20, Y20)}, r"validation_data must be a tuple"),
        ({"validation_data": X20}, r"validation_data must be a tuple"),
        ({"validation_data": (X20[:, :7], Y20)}, r"\(None, 8\).*x_val.shape=\(20, 7\)"),
        ({"validation_data": (X20, Y20[:5])}, r"same number of samples.*5"),
        ({"validation_data": (_with(X20, (0, 0), np.nan), Y20)}, r"x_val contains 1 NaN"),
        ({"validation_data": (X20, _with(Y20, (0, 0), np.inf))}, r"y_val contains 1 NaN"),
        ({"epochs": -1}, r"epochs must be a non-negative int"),
    ],
    ids=[
        "bs0",
        "bs_neg",
        "bs_float",
        "vs1",
        "vs_neg",
        "vs_big",
        "vd1",
        "vd3",
        "vd_array",
        "vd_shape",
        "vd_count",
        "vd_nan_x",
        "vd_inf_y",
        "epochs",
    ],
)
def test_bad_fit_arguments(reg_model, kwargs, match):
    w0 = reg_model.get_weights()
    with pytest.raises(ValueError, match=match):
        reg_model.fit(X20, Y20, verbose=0, **kwargs)
    assert weights_equal(w0, reg_model.get_weights())


def test_bad_batch_size_in_evaluate_and_predict(reg_model):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        reg_model.evaluate(X20, Y20, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        reg_model.predict(X20, batch_size=-1, verbose=0)


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match=r"units.*positive integer.*Received: units="):
        Dense(units)


def test_metrics_names_as_keras_3():
    keras = testing.keras_torch()

    def names(lib):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
        seen = [list(model.metrics_names)]
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        seen.append(list(model.metrics_names))
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
        seen.append(list(model.metrics_names))
        return seen

    assert names(pytrainc) == names(keras) == [[], ["loss"], ["loss", "compile_metrics"]]
