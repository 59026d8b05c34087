"""Issue #11's optimizers in C (Adamax, Adadelta, Lion, Ftrl, Lamb, Adafactor) and the options of
every optimizer (exclude_from_weight_decay) against Keras 3 (torch backend): 50 steps of the same
gradients on variables of ranks 0 to 3, a model trained by both, configs, names and the state
saved with the model."""

import numpy as np
import pytest

import pytrainc
from pytrainc import _C, optimizers, testing

keras = testing.keras_torch()

f32 = testing.f32
SHAPES = [(4, 3), (3,), (2, 3, 2), (1, 5), (5, 1), ()]

CASES = [
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-5}),
    ("Adamax", {"learning_rate": 0.01, "weight_decay": 0.1, "clipnorm": 0.5}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-6, "clipvalue": 0.3}),
    ("Lion", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.003, "beta_1": 0.95, "beta_2": 0.9, "weight_decay": 0.05}),
    ("Ftrl", {"learning_rate": 0.1}),
    (
        "Ftrl",
        {
            "learning_rate": 0.05,
            "learning_rate_power": -0.7,
            "initial_accumulator_value": 0.3,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "l2_shrinkage_regularization_strength": 0.03,
            "beta": 0.5,
        },
    ),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": 0.0}),
    ("Lamb", {"learning_rate": 0.01}),
    ("Lamb", {"learning_rate": 0.02, "beta_1": 0.85, "epsilon": 1e-6, "global_clipnorm": 1.0}),
    ("Lamb", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.05}),
    ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_2": 1e-2, "clip_threshold": 0.5}),
    ("Adafactor", {"learning_rate": 0.05, "epsilon_1": 1e-3, "relative_step": False, "weight_decay": 0.1}),
    ("Adafactor", {"learning_rate": 0.05, "clipnorm": 0.5}),
    ("Adafactor", {"learning_rate": 0.05, "global_clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.2}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.3}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "use_ema": True, "ema_overwrite_frequency": 7}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}),
    ("Nadam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "clipnorm": 0.5}),
    ("Adafactor", {"learning_rate": 0.05, "gradient_accumulation_steps": 4, "use_ema": True}),
]


def case_id(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


def _slices(shapes, no_decay=()):
    """The rows `Model._trainable_slices` builds: [offset, size, R, C, flags]."""
    rows, off = [], 0
    for i, s in enumerate(shapes):
        n = int(np.prod(s))
        r, c = s[-2:] if len(s) >= 2 else (0, 0)
        rows.append((off, n, r, c, _C.OPTIMIZER_SLICE["no_decay"] if i in no_decay else 0))
        off += n
    return np.array(rows, dtype=np.int64)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_fifty_steps_match_keras(case):
    name, cfg = case
    r = testing.rng(7)
    weights = [f32(r.standard_normal(s)) for s in SHAPES]
    grads = [[f32(r.standard_normal(s) * 0.5) for s in SHAPES] for _ in range(50)]
    grads[3][1][:] = 0.0
    kvars = [keras.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(weights)]
    kopt = getattr(keras.optimizers, name)(**cfg)
    opt = getattr(optimizers, name)(**cfg)
    excluded = ()
    if "weight_decay" in cfg:  # w1 by object, w2 by name, as Keras's exclude_from_weight_decay
        kopt.exclude_from_weight_decay(var_list=[kvars[1]], var_names=["w2"])
        excluded = (1, 2)
    w = np.concatenate([x.ravel() for x in weights])
    opt._build(w.size)
    slices = _slices(SHAPES, excluded)
    for step in grads:
        kopt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in step], kvars))
        g = np.concatenate([x.ravel() for x in step])
        _C.optimizer_step(
            opt._kind, opt._hyper_array(), w, g, *opt._engine_slots(), opt._iterations, slices, *opt._base_slots()
        )
    want = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in kvars])
    np.testing.assert_allclose(w, want, rtol=1e-5, atol=1e-6)
    assert opt.iterations == 50 // cfg.get("gradient_accumulation_steps", 1) == int(kopt.iterations)
    if cfg.get("use_ema"):
        kema = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in kopt._model_variables_moving_average])
        np.testing.assert_allclose(opt._state["ema"], kema, rtol=1e-5, atol=1e-6)
    if name == "Adafactor":  # the factored moments, at each weight's offset
        off = 0
        for i, s in enumerate(SHAPES):
            n = int(np.prod(s))
            if len(s) >= 2:
                kr, kc = (keras.ops.convert_to_numpy(x).ravel() for x in (kopt._r[i], kopt._c[i]))
                np.testing.assert_allclose(opt._state["m"][off : off + kr.size], kr, rtol=1e-5)
                np.testing.assert_allclose(opt._state["u"][off : off + kc.size], kc, rtol=1e-5)
            kv = keras.ops.convert_to_numpy(kopt._v[i]).ravel()
            np.testing.assert_allclose(opt._state["v"][off : off + n], kv, rtol=1e-5)
            off += n


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_config_round_trip_and_keras_defaults(case):
    name, cfg = case
    opt = getattr(optimizers, name)(**cfg)
    config = opt.get_config()
    again = optimizers.get(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config
    kconfig = getattr(keras.optimizers, name)(**cfg).get_config()
    for key, value in config.items():
        if key != "name":
            assert kconfig[key] == pytest.approx(value), key
    assert type(optimizers.get(name.lower())) is type(opt)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: optimizers.Lion(beta_1=0.0), "beta_1"),
        (lambda: optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
        (lambda: optimizers.Ftrl(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (lambda: optimizers.Adadelta(rho=1.5), "rho"),
        (lambda: optimizers.Adamax(beta_2=1.0), "beta_2"),
        (lambda: optimizers.Adafactor(clip_threshold=0.0), "clip_threshold"),
        (lambda: optimizers.Adafactor(epsilon_2=-1.0), "epsilon_2"),
        (lambda: optimizers.Adafactor(beta_2_decay=float("nan")), "beta_2_decay"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Lion", "Ftrl", "Lamb", "Adafactor"])
def test_state_is_saved_with_the_model_and_resumes_exactly(tmp_path, name):
    r = testing.rng(2)
    x, y = f32(r.standard_normal((24, 4))), f32(r.standard_normal((24, 1)))

    def make():
        testing.seed(0)
        m = pytrainc.Sequential([pytrainc.layers.Input((4,)), pytrainc.layers.Dense(1)])
        m.compile(optimizer=getattr(optimizers, name)(learning_rate=0.05), loss="mse")
        return m

    straight = make()
    straight.fit(x, y, batch_size=6, epochs=4, shuffle=False, verbose=0)
    half = make()
    half.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    half.save(tmp_path / "m.ptc")
    resumed = pytrainc.models.load_model(tmp_path / "m.ptc")
    assert set(resumed.optimizer.variables()) == set(half.optimizer.variables())
    resumed.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_callable_learning_rate_is_taken_as_keras():
    # tests/optimizers/test_callable_learning_rate.py trains with it against Keras
    assert optimizers.Adamax(learning_rate=lambda: 0.01).learning_rate == 0.01
    opt = optimizers.Lion()
    opt.learning_rate = lambda: 0.02
    assert opt.learning_rate == 0.02
    with pytest.raises(TypeError, match="LearningRateSchedule or a callable"):
        opt.learning_rate = "0.1"


def _models(name, cfg, exclude=None):
    r = testing.rng(1)
    x, y = f32(r.standard_normal((32, 5))), f32(r.standard_normal((32, 2)))
    testing.seed(0)
    model = pytrainc.Sequential(
        [pytrainc.layers.Input((5,)), pytrainc.layers.Dense(6, activation="tanh"), pytrainc.layers.Dense(2)]
    )
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)])
    km.set_weights(model.get_weights())
    opt, kopt = getattr(optimizers, name)(**cfg), getattr(keras.optimizers, name)(**cfg)
    if exclude:
        opt.exclude_from_weight_decay(var_names=exclude)
        kopt.exclude_from_weight_decay(var_names=exclude)
    model.compile(optimizer=opt, loss="mse")
    km.compile(optimizer=kopt, loss="mse")
    return model, km, x, y


@pytest.mark.parametrize(
    "name,cfg,exclude",
    [
        ("Adamax", {"learning_rate": 0.01}, None),
        ("Adadelta", {"learning_rate": 1.0}, None),
        ("Lion", {"learning_rate": 0.01}, None),
        ("Ftrl", {"learning_rate": 0.1}, None),
        ("Lamb", {"learning_rate": 0.01}, None),
        ("Adafactor", {"learning_rate": 0.05}, None),
        ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.5}, ["bias"]),
        ("Adafactor", {"learning_rate": 0.05, "weight_decay": 0.2}, ["kernel"]),
        ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.8}, None),
        ("SGD", {"learning_rate": 0.05, "gradient_accumulation_steps": 3, "use_ema": True}, None),
    ],
)
def test_training_a_model_matches_keras(name, cfg, exclude):
    model, km, x, y = _models(name, cfg, exclude)
    h = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    kh = km.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, kh, rtol=1e-4)
    for a, b in zip(model.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_excluding_a_variable_changes_only_its_decay():
    model, _, x, y = _models("AdamW", {"learning_rate": 0.01, "weight_decay": 0.5}, ["bias"])
    plain, _, _, _ = _models("AdamW", {"learning_rate": 0.01, "weight_decay": 0.5})
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert not np.array_equal(model.get_weights()[1], plain.get_weights()[1])  # a bias: its decay is off
    with pytest.raises(ValueError, match="before the optimizer is built"):
        model.optimizer.exclude_from_weight_decay(var_names=["kernel"])


def test_bad_slice_rows_are_refused():
    opt = optimizers.Adafactor()
    opt._build(6)
    w, g = np.zeros(6, np.float32), np.ones(6, np.float32)
    bad = np.array([[0, 6, 4, 2, 0]], dtype=np.int64)  # 4 x 2 does not divide 6
    with pytest.raises(ValueError, match="do not divide"):
        _C.optimizer_step(opt._kind, opt._hyper_array(), w, g, *opt._engine_slots(), opt._iterations, bad)
    with pytest.raises(ValueError, match="shape"):
        _C.optimizer_step(opt._kind, opt._hyper_array(), w, g, *opt._engine_slots(), opt._iterations, bad[:, :3])


@pytest.mark.parametrize(
    "cfg,match",
    [
        ({"gradient_accumulation_steps": 1}, "gradient_accumulation_steps"),
        ({"ema_overwrite_frequency": 0.5}, "ema_overwrite_frequency"),
        ({"use_ema": True, "ema_momentum": 1.5}, "ema_momentum"),
    ],
)
def test_bad_base_options_are_refused(cfg, match):
    with pytest.raises(ValueError, match=match):
        optimizers.Adam(**cfg)


def test_accumulation_and_ema_state_resume_exactly(tmp_path):
    r = testing.rng(3)
    x, y = f32(r.standard_normal((28, 4))), f32(r.standard_normal((28, 2)))

    def make():
        testing.seed(0)
        m = pytrainc.Sequential([pytrainc.layers.Input((4,)), pytrainc.layers.Dense(2)])
        opt = optimizers.Adam(learning_rate=0.05, gradient_accumulation_steps=3, use_ema=True)
        m.compile(optimizer=opt, loss="mse")
        return m

    straight = make()
    straight.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 7 batches: 2 updates and 1 pending
    straight.optimizer.use_ema = False  # compare the raw weights, not the end-of-fit average
    straight.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    half = make()
    half.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    half.save(tmp_path / "m.ptc")
    resumed = pytrainc.models.load_model(tmp_path / "m.ptc")
    assert {"ema", "acc"} <= set(resumed.optimizer.variables())
    np.testing.assert_array_equal(resumed.optimizer.variables()["acc"], half.optimizer.variables()["acc"])
    resumed.optimizer.use_ema = False
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
