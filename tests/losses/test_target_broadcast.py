"""Targets whose shape broadcasts against the predictions' (Keras 3's squeeze_or_expand_to_same_rank,
then NumPy broadcasting inside the loss): wider targets (N, k) with predictions (N, 1), which the
plan repeats to the targets' shape before the loss, and the reverse; built-in losses, traced loss
and metric functions, sample weights and evaluate, against Keras 3 (torch backend)."""

import numpy as np
import pytest

import pytrainc
from pytrainc import losses, testing

keras = testing.keras_torch()

f32 = testing.f32
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# Losses Keras computes element-wise before their reduction over the last axis: class -> final activation
ELEMENTWISE = {
    "MeanSquaredError": None,
    "MeanAbsoluteError": None,
    "MeanAbsolutePercentageError": None,
    "MeanSquaredLogarithmicError": "softplus",
    "Huber": None,
    "LogCosh": None,
    "Hinge": None,
    "SquaredHinge": None,
    "CategoricalHinge": None,
    "Poisson": "softplus",
    "KLDivergence": "sigmoid",
}


def _both(lib, in_shape, units, activation):
    inp = lib.Input(in_shape)
    out = lib.layers.Dense(units, activation=activation)(lib.layers.Dense(4, activation="tanh")(inp))
    return lib.Model(inp, out)


def _fit_both(make_loss, y, units, activation=None, in_shape=(3,), metrics=("mae", "mse"), weights=True, lr=0.1):
    """pytrainc's fit histories and evaluate results equal Keras's for the same initial weights."""
    pytrainc.utils.set_random_seed(2)
    m, k = _both(pytrainc, in_shape, units, activation), _both(keras, in_shape, units, activation)
    k.set_weights(m.get_weights())
    r = testing.rng(4)
    x = f32(r.standard_normal((y.shape[0],) + in_shape))
    w = f32(r.uniform(0.5, 2.0, y.shape[0])) if weights else None
    m.compile(optimizer=pytrainc.optimizers.SGD(lr), loss=make_loss(pytrainc), metrics=list(metrics))
    k.compile(optimizer=keras.optimizers.SGD(lr), loss=make_loss(keras), metrics=list(metrics))
    fit = {"batch_size": 4, "epochs": 4, "shuffle": False, "verbose": 0, "sample_weight": w}
    got, want = m.fit(x, y, **fit).history, k.fit(x, y, **fit).history
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)
    ev = {"batch_size": 4, "verbose": 0, "sample_weight": w}
    np.testing.assert_allclose(m.evaluate(x, y, **ev), k.evaluate(x, y, **ev), rtol=1e-5, atol=1e-5)
    return m


def _targets(n, shape, seed=1):
    return f32(testing.rng(seed).uniform(0.1, 0.9, (n,) + shape))


@pytest.mark.parametrize("cls", sorted(ELEMENTWISE))
@pytest.mark.parametrize("direction", ["wider_targets", "wider_predictions"])
def test_builtin_losses_broadcast_as_keras(cls, direction):
    units, y_shape = (1, (4,)) if direction == "wider_targets" else (4, (1,))
    lr = 1e-3 if cls == "MeanAbsolutePercentageError" else 0.1  # its values are percents: SGD(0.1) diverges
    _fit_both(lambda lib: getattr(lib.losses, cls)(), _targets(10, y_shape), units, ELEMENTWISE[cls], lr=lr)


@pytest.mark.parametrize("direction", ["wider_targets", "wider_predictions"])
def test_per_step_outputs_broadcast_on_their_last_axis(direction):
    """Outputs (N, 3, 1) with targets (N, 3, 4), and (N, 3, 4) with (N, 3, 1); without sample weights,
    which Keras 3.15.1 on torch fails to broadcast against per-step losses of rank-3 outputs."""
    units, y_shape = (1, (3, 4)) if direction == "wider_targets" else (4, (3, 1))
    _fit_both(lambda lib: lib.losses.Huber(), _targets(8, y_shape), units, in_shape=(3, 2), weights=False)


def test_the_issue_example_trains_and_predicts_the_output_shape():
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(1)])
    m.compile("sgd", "mse")
    x, y = _targets(8, (3,)), _targets(8, (4,))
    assert np.isfinite(m.fit(x, y, epochs=1, verbose=0).history["loss"][0])
    pred = m.predict(x, verbose=0)
    assert pred.shape == (8, 1)
    assert m.evaluate(x, y, verbose=0) == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-6)
    # targets of the output's shape again: the plan without the repeat
    assert m.evaluate(x, y[:, :1], verbose=0) == pytest.approx(float(np.mean((pred - y[:, :1]) ** 2)), rel=1e-6)


def test_same_shape_targets_add_no_op(monkeypatch):
    """The common case is the plan it was: the repeat exists only for wider targets."""
    from pytrainc.trainers import plan_compiler

    calls = []
    repeat = plan_compiler._repeat_to
    monkeypatch.setattr(plan_compiler, "_repeat_to", lambda *a: calls.append(a[2:]) or repeat(*a))
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(1)])
    m.compile("sgd", "mse", metrics=["mae"])
    x = _targets(8, (3,))
    for y_shape in ((1,), (), (4,), (1,)):
        m.fit(x, _targets(8, y_shape), verbose=0)
    assert calls == [((1,), (4,))]


def _mean_sq(lib):
    def my_loss(y_true, y_pred):
        return lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)

    return my_loss


@pytest.mark.parametrize("direction", ["wider_targets", "wider_predictions"])
def test_traced_loss_functions_see_the_shapes_keras_passes(direction):
    units, y_shape = (1, (4,)) if direction == "wider_targets" else (4, (1,))
    seen = []

    def make(lib):
        def spy(y_true, y_pred):
            if lib is pytrainc:
                seen.append((tuple(y_true.shape[1:]), tuple(y_pred.shape[1:])))
            return _mean_sq(lib)(y_true, y_pred)

        return spy

    _fit_both(make, _targets(10, y_shape), units)  # with the C metrics mae and mse beside it
    assert seen and set(seen) == {(y_shape, (units,))}


# Built-in losses that reduce or normalize a side alone: traced from Keras's formula for such targets
FORMULAS = {
    "CosineSimilarity": ({}, None),
    "Dice": ({"axis": -1}, "sigmoid"),
    "Dice_batch": ({}, "sigmoid"),  # axis=None: wider targets only (predictions repeated, summed once)
    "Tversky": ({"axis": -1, "alpha": 0.3, "beta": 0.7}, "sigmoid"),
    "Tversky_batch": ({"alpha": 0.3, "beta": 0.7}, "sigmoid"),  # axis=None: sums of products only
    "CategoricalFocalCrossentropy": ({"gamma": 1.5, "label_smoothing": 0.1}, "softmax"),
    "CategoricalFocalCrossentropy_logits": ({"from_logits": True}, None),
}


@pytest.mark.parametrize(
    "case,direction",
    [
        (case, direction)
        for case in sorted(FORMULAS)
        for direction in ("wider_targets", "wider_predictions")
        if (case, direction) != ("Dice_batch", "wider_predictions")  # refused, tested below
    ],
)
def test_losses_that_reduce_one_side_broadcast_as_keras(case, direction):
    cls, (kw, act) = case.split("_")[0], FORMULAS[case]
    units, y_shape = (1, (4,)) if direction == "wider_targets" else (4, (1,))
    _fit_both(lambda lib: getattr(lib.losses, cls)(**kw), _targets(10, y_shape), units, act)


def test_dice_over_the_whole_batch_takes_only_wider_targets():
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(4, activation="sigmoid")])
    m.compile("sgd", "dice")
    with pytest.raises(ValueError, match=r"y.shape=\(8, 1\).*or wider.*axis=None.*axis=-1 takes them"):
        m.fit(_targets(8, (3,)), _targets(8, (1,)), verbose=0)


@pytest.mark.parametrize("axis", [None, -1])
def test_dice_counts_repeated_predictions_once_per_step(axis):
    """Outputs (N, 3, 1) against targets (N, 3, 4): the repeat spans the last axis of every step."""
    units, y = 1, _targets(8, (3, 4))
    _fit_both(lambda lib: lib.losses.Dice(axis=axis), y, units, "sigmoid", in_shape=(3, 2), weights=False)


def test_traced_metric_functions_broadcast_too():
    def metric(lib):
        def abs_err(y_true, y_pred):
            return lib.ops.mean(lib.ops.abs(y_true - y_pred), axis=-1)

        return abs_err

    pytrainc.utils.set_random_seed(2)
    for units, y_shape in ((1, (4,)), (4, (1,))):
        y = _targets(10, y_shape)
        m, k = _both(pytrainc, (3,), units, None), _both(keras, (3,), units, None)
        k.set_weights(m.get_weights())
        x = f32(testing.rng(5).standard_normal((10, 3)))
        m.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse", metrics=[metric(pytrainc)])
        k.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=[metric(keras)])
        fit = {"batch_size": 5, "epochs": 3, "shuffle": False, "verbose": 0}
        got, want = m.fit(x, y, **fit).history, k.fit(x, y, **fit).history
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_standalone_loss_calls_broadcast_as_keras():
    r = testing.rng(7)
    y, p = f32(r.uniform(0.1, 0.9, (6, 4))), f32(r.uniform(0.1, 0.9, (6, 1)))
    for cls in sorted(ELEMENTWISE):
        for yt, yp in ((y, p), (p, y)):
            got = float(getattr(losses, cls)()(yt, yp))
            want = float(getattr(keras.losses, cls)()(yt, yp))
            assert got == pytest.approx(want, rel=2e-5, abs=1e-6), (cls, yt.shape, yp.shape)


def test_what_keras_cannot_broadcast_is_refused_with_both_shapes():
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(3)])
    x = np.zeros((6, 3), np.float32)
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"\(None, 3\).*y.shape=\(6, 4\).*do not broadcast"):
        m.fit(x, np.zeros((6, 4)), verbose=0)
    m.compile(optimizer="sgd", loss=_mean_sq(pytrainc))
    with pytest.raises(ValueError, match=r"\(None, 3\).*y.shape=\(6, 2\).*do not broadcast"):
        m.fit(x, np.zeros((6, 2)), verbose=0)
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    k.compile(optimizer="sgd", loss="mse")
    with pytest.raises(Exception):
        k.fit(x, np.zeros((6, 4)), verbose=0)


def test_the_cross_entropies_keep_one_shape_as_keras_on_torch():
    m = _both(pytrainc, (3,), 1, "sigmoid")
    k = _both(keras, (3,), 1, "sigmoid")
    x, y = _targets(6, (3,)), _targets(6, (4,))
    for name in ("binary_crossentropy", "binary_focal_crossentropy"):
        m.compile(optimizer="sgd", loss=name)
        with pytest.raises(ValueError, match=r"y.shape=\(6, 4\).*only targets of the output's shape"):
            m.fit(x, y, verbose=0)
        k.compile(optimizer="sgd", loss=name)
        with pytest.raises(ValueError, match="must have the same shape"):
            k.fit(x, y, verbose=0)


def test_validation_targets_must_broadcast_as_the_training_targets():
    m = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(1)])
    m.compile("sgd", "mse")
    x = _targets(8, (3,))
    with pytest.raises(ValueError, match=r"y_val.*\(None, 4\).*\(None, 1\)"):
        m.fit(x, _targets(8, (4,)), validation_data=(x, _targets(8, (1,))), verbose=0)


def _compare_fits(build, x, y, **kw):
    pytrainc.utils.set_random_seed(1)
    m, k = build(pytrainc), build(keras)
    k.set_weights(m.get_weights())
    histories = []
    for lib, model in ((pytrainc, m), (keras, k)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
        histories.append(model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, **kw).history)
    for key in histories[1]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-5, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("weights", ["none", "per_step"])
def test_a_masked_sequence_output_broadcasts_per_step(weights):
    """An LSTM's (T, 1) sequence output under a Masking mask with (T, 4) targets, with Keras's
    per-step sample weights or none."""

    def build(lib):
        inp = lib.Input((5, 3))
        return lib.Model(inp, lib.layers.LSTM(1, return_sequences=True)(lib.layers.Masking(0.0)(inp)))

    r = testing.rng(8)
    x = f32(r.standard_normal((8, 5, 3)))
    x[:, 3:] = 0.0
    kw = {"sample_weight": f32(r.uniform(0.5, 2.0, (8, 5)))} if weights == "per_step" else {}
    _compare_fits(build, x, _targets(8, (5, 4)), **kw)


@pytest.mark.parametrize("y_shape", [(4, 1), (4, 3)])
def test_both_sides_broadcast_on_different_axes(y_shape):
    """Outputs (1, 3) with targets (4, 1): both repeat to (4, 3); with (4, 3) the loss has 4 rows."""

    def build(lib):
        inp = lib.Input((1, 2))
        return lib.Model(inp, lib.layers.Dense(3)(inp))

    _compare_fits(build, f32(testing.rng(9).standard_normal((8, 1, 2))), _targets(8, y_shape))
