"""Learning-rate schedules: values against Keras 3's closed forms (written here
in NumPy from keras/src/optimizers/schedules/learning_rate_schedule.py), and the
engine applying them per step inside the C epoch loop."""

import math

import numpy as np
import pytest

import pytrainc
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.optimizers import schedules

STEPS = np.array([0, 1, 5, 9, 10, 11, 25, 99, 100, 101, 1000])


def keras_exponential(step, lr0, decay_steps, rate, staircase):
    p = step / decay_steps
    return lr0 * rate ** (np.floor(p) if staircase else p)


def keras_inverse_time(step, lr0, decay_steps, rate, staircase):
    p = step / decay_steps
    return lr0 / (1 + rate * (np.floor(p) if staircase else p))


def keras_polynomial(step, lr0, decay_steps, end, power, cycle):
    if cycle:
        decay_steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (lr0 - end) * (1 - step / decay_steps) ** power + end


def keras_cosine(step, lr0, decay_steps, alpha, warmup_target, warmup_steps):
    def decay(s, from_lr):
        return from_lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)

    s = min(step, decay_steps + warmup_steps)
    if warmup_target is None:
        return decay(s, lr0)
    if s < warmup_steps:
        return (warmup_target - lr0) * (s / warmup_steps) + lr0
    return decay(s - warmup_steps, warmup_target)


def keras_restarts(step, lr0, first, t_mul, m_mul, alpha):
    frac = step / first
    if t_mul != 1.0:
        i = math.floor(math.log(1 - frac * (1 - t_mul)) / math.log(t_mul))
        sum_r = (1 - t_mul**i) / (1 - t_mul)
        frac = (frac - sum_r) / t_mul**i
    else:
        i = math.floor(frac)
        frac -= i
    return lr0 * ((1 - alpha) * 0.5 * m_mul**i * (1 + math.cos(math.pi * frac)) + alpha)


CASES = [
    (schedules.ExponentialDecay(0.1, 10, 0.5), lambda s: keras_exponential(s, 0.1, 10, 0.5, False)),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda s: keras_exponential(s, 0.1, 10, 0.5, True)),
    (schedules.InverseTimeDecay(0.1, 1, 0.5), lambda s: keras_inverse_time(s, 0.1, 1, 0.5, False)),
    (schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True), lambda s: keras_inverse_time(s, 0.1, 10, 0.5, True)),
    (
        schedules.PiecewiseConstantDecay([10, 100], [1.0, 0.5, 0.1]),
        lambda s: 1.0 if s <= 10 else (0.5 if s <= 100 else 0.1),
    ),
    (schedules.PolynomialDecay(0.1, 100, 0.001, power=2.0), lambda s: keras_polynomial(s, 0.1, 100, 0.001, 2.0, False)),
    (schedules.PolynomialDecay(0.1, 10, 0.001, cycle=True), lambda s: keras_polynomial(s, 0.1, 10, 0.001, 1.0, True)),
    (schedules.CosineDecay(0.1, 100, alpha=0.1), lambda s: keras_cosine(s, 0.1, 100, 0.1, None, 0)),
    (
        schedules.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=10),
        lambda s: keras_cosine(s, 0.0, 100, 0.0, 0.2, 10),
    ),
    (schedules.CosineDecayRestarts(0.1, 10), lambda s: keras_restarts(s, 0.1, 10, 2.0, 1.0, 0.0)),
    (
        schedules.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.5, alpha=0.05),
        lambda s: keras_restarts(s, 0.1, 10, 1.0, 0.5, 0.05),
    ),
]


@pytest.mark.parametrize("schedule,reference", CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_values_match_keras_closed_form(schedule, reference):
    got = schedule(STEPS)
    want = np.array([reference(int(s)) for s in STEPS])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert schedule(7) == pytest.approx(reference(7), rel=1e-12)


@pytest.mark.parametrize("schedule,reference", CASES[:3], ids=["exp", "exp-stair", "inverse"])
def test_config_round_trip(schedule, reference):
    clone = type(schedule).from_config(schedule.get_config())
    np.testing.assert_array_equal(clone(STEPS), schedule(STEPS))


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


def test_engine_applies_schedule_per_step():
    """A fit with a schedule equals steps taken one by one with the rate set by hand."""
    x, y = _data()
    sched = schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5, staircase=True)
    pytrainc.utils.set_random_seed(1)
    a = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(1)])
    b = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(1)])
    b.set_weights(a.get_weights())
    a.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=sched, momentum=0.5), loss="mse")
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)  # 10 steps, in C
    b.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=0.05, momentum=0.5), loss="mse")
    for step in range(10):
        b.optimizer.learning_rate = sched(step)
        i = (step % 5) * 8
        b.train_on_batch(x[i : i + 8], y[i : i + 8])
    assert a.optimizer.iterations == 10
    assert a.optimizer.learning_rate == pytest.approx(sched(10))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        # SGD with momentum keeps v = m v - lr g, so a changed rate enters the same way in both.
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    # Guard: the same fit with a constant rate ends elsewhere, so the schedule mattered.
    assert not np.allclose(a.get_weights()[0], _fit_constant(x, y)[0], rtol=1e-4, atol=1e-6)


def _fit_constant(x, y):
    pytrainc.utils.set_random_seed(1)
    c = Sequential([Input((4,)), Dense(3, activation="tanh"), Dense(1)])
    c.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=0.05, momentum=0.5), loss="mse")
    c.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return c.get_weights()


def test_schedule_learning_rate_not_settable():
    opt = pytrainc.optimizers.Adam(learning_rate=schedules.InverseTimeDecay(0.1, 1, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01


def test_model_with_schedule_saves_and_resumes(tmp_path):
    x, y = _data()
    pytrainc.utils.set_random_seed(3)
    m = Sequential([Input((4,)), Dense(2, activation="relu"), Dense(1)])
    m.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=schedules.CosineDecay(0.01, 20)), loss="mse")
    m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    m.save(tmp_path / "m.ptc")
    r = pytrainc.models.load_model(tmp_path / "m.ptc")
    assert isinstance(r.optimizer._learning_rate, schedules.CosineDecay)
    assert r.optimizer.iterations == 5
    m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    r.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(m.get_weights(), r.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]), "1 less"),
        (lambda: schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "increasing"),
        (lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0), "t_mul"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
