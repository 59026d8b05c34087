"""Issue #11's optimizers in C (Adamax, Adadelta, Lion, Ftrl, Lamb) against Keras 3 (torch
backend): 50 steps of the same gradients on several variables, a model trained by both, configs,
names and the state saved with the model."""

import numpy as np
import pytest

import pytrainc
from pytrainc import _C, optimizers, testing

keras = testing.keras_torch()

f32 = testing.f32
SHAPES = [(4, 3), (3,), (3, 2), (2,)]

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
]


def case_id(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_fifty_steps_match_keras(case):
    name, cfg = case
    r = testing.rng(7)
    weights = [f32(r.standard_normal(s)) for s in SHAPES]
    grads = [[f32(r.standard_normal(s) * 0.5) for s in SHAPES] for _ in range(50)]
    grads[3][1][:] = 0.0  # a zero gradient: Lion's sign(0), Lamb's ratio
    kvars = [keras.Variable(w.copy()) for w in weights]
    kopt = getattr(keras.optimizers, name)(**cfg)
    opt = getattr(optimizers, name)(**cfg)
    sizes = [int(np.prod(s)) for s in SHAPES]
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slices = np.stack([offs, sizes], axis=1).astype(np.int64)
    w = np.concatenate([x.ravel() for x in weights])
    opt._build(w.size)
    for step in grads:
        kopt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in step], kvars))
        g = np.concatenate([x.ravel() for x in step])
        _C.optimizer_step(opt._kind, opt._hyper_array(), w, g, *opt._engine_slots(), opt._iterations, slices)
    want = np.concatenate([keras.ops.convert_to_numpy(v).ravel() for v in kvars])
    np.testing.assert_allclose(w, want, rtol=1e-5, atol=1e-6)
    assert opt.iterations == 50 == int(kopt.iterations)


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Lion", "Ftrl", "Lamb"])
def test_training_a_model_matches_keras(name):
    r = testing.rng(1)
    x, y = f32(r.standard_normal((32, 5))), f32(r.standard_normal((32, 2)))
    testing.seed(0)
    model = pytrainc.Sequential(
        [pytrainc.layers.Input((5,)), pytrainc.layers.Dense(6, activation="tanh"), pytrainc.layers.Dense(2)]
    )
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)])
    km.set_weights(model.get_weights())
    lr = {"Adadelta": 1.0, "Ftrl": 0.1}.get(name, 0.01)
    model.compile(optimizer=getattr(optimizers, name)(learning_rate=lr), loss="mse")
    km.compile(optimizer=getattr(keras.optimizers, name)(learning_rate=lr), loss="mse")
    h = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    kh = km.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, kh, rtol=1e-4)
    for a, b in zip(model.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


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
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Lion", "Ftrl", "Lamb"])
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


def test_a_callable_learning_rate_is_refused_clearly():
    with pytest.raises(TypeError, match="at every step"):
        optimizers.Adamax(learning_rate=lambda: 0.01)
    opt = optimizers.Lion()
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = lambda: 0.01
