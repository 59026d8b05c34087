"""Optimizers: each update against a NumPy transcription of Keras 3's formulas
(keras/src/optimizers/{sgd,adam,adamw,rmsprop,adagrad,nadam}.py and
base_optimizer.py's clipping and weight decay), against torch.optim where the
formulas agree, through a real model's train_on_batch / fit, and the API
contract: learning-rate get/set reaching the engine, iterations, state saved
with the model, config round trips and argument errors.

Tolerances. `_C.optimizer_step` against the float32 reference (Keras's
element-wise ops in Keras's order, in float32): rtol=2e-5, atol=1e-6 over 8
steps; the only deliberate difference is that per-step scalars (Adam's folded
step size, Nadam's momentum schedule) are computed in float64 and rounded once,
where Keras's float32 `1 - 0.999 ** t` loses ~1e-5 relative. Against the float64
reference (exact arithmetic): rtol=2e-4, atol=1e-5. Against torch.optim (float32,
other op order): rtol=2e-5, atol=1e-6. Through train_on_batch against NumPy
float64 gradients and updates: rtol=2e-4, atol=2e-6 over 6 steps.
"""

import json
import math

import numpy as np
import pytest
import torch

import pytrainc
from pytrainc import _C, optimizers
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential, load_model
from pytrainc.optimizers import schedules

KIND = {**_C.OPTIMIZERS, "adamw": _C.OPTIMIZERS["adam"]}  # AdamW is Adam with weight decay in C
CLASS = {
    "sgd": optimizers.SGD,
    "adam": optimizers.Adam,
    "adamw": optimizers.AdamW,
    "rmsprop": optimizers.RMSprop,
    "adagrad": optimizers.Adagrad,
    "nadam": optimizers.Nadam,
}
# Keras 3's defaults (sgd.py, adam.py, adamw.py, rmsprop.py, adagrad.py, nadam.py).
KERAS_DEFAULTS = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "adamw": {
        "learning_rate": 0.001,
        "weight_decay": 0.004,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
    },
    "rmsprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}
COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}

SIZES = [7, 1, 12, 20]  # four variables in one flat array
G_SCALE = [3.0, 0.1, 1.0, 0.05]  # per-variable gradient scale: clipnorm=1 bites on two of them


# ---------------------------------------------------------------------------
# NumPy transcription of Keras 3


class KerasRef:
    """Keras 3's optimizer step on a list of variables, op for op in `dtype`.

    apply(): clip the gradients (base_optimizer._clip_gradients), decay the weights
    (_apply_weight_decay), then each variable's update_step; iterations += 1.
    """

    def __init__(self, name, cfg, sizes, dtype=np.float32):
        self.name, self.c = name, dtype
        self.cfg = {**COMMON, **KERAS_DEFAULTS[name], **cfg}
        init = self.cfg.get("initial_accumulator_value", 0.0)
        self.state = [{"m": np.zeros(n, dtype), "v": np.full(n, init, dtype), "u": np.zeros(n, dtype)} for n in sizes]
        self.iterations = 0
        self.u_product = dtype(1.0)  # Nadam

    def clip(self, gs):
        c, cfg = self.c, self.cfg
        if cfg["clipnorm"]:
            cn = c(cfg["clipnorm"])
            return [g * cn / np.maximum(np.sqrt(np.sum(g * g)), cn) for g in gs]
        if cfg["global_clipnorm"]:
            gn = c(cfg["global_clipnorm"])
            norm = np.sqrt(sum(np.sum(g * g) for g in gs))
            scale = gn * np.minimum(c(1) / norm, c(1) / gn) + (norm - norm)
            return [g * scale for g in gs]
        if cfg["clipvalue"]:
            return [np.clip(g, -cfg["clipvalue"], cfg["clipvalue"]).astype(c) for g in gs]
        return gs

    def apply(self, ws, gs, lr):
        c, cfg = self.c, self.cfg
        gs = self.clip([g.astype(c) for g in gs])
        ws = [w.astype(c) for w in ws]
        if cfg["weight_decay"] is not None:
            ws = [w - w * c(cfg["weight_decay"]) * c(lr) for w in ws]
        t = self.iterations + 1
        if self.name == "nadam":  # Nadam._backend_update_step, once per step
            self.u_product = c(self.u_product * (cfg["beta_1"] * (1.0 - 0.5 * 0.96**t)))
        out = [self.update_step(w, g, st, t, lr) for w, g, st in zip(ws, gs, self.state)]
        self.iterations += 1
        return out

    def update_step(self, w, g, st, t, lr):
        c, cfg, name = self.c, self.cfg, self.name
        lr = c(lr)
        if name == "sgd":
            mom = cfg["momentum"]
            if mom == 0:
                return w - g * lr
            st["m"] = st["m"] * c(mom) - g * lr
            return w + (st["m"] * c(mom) - g * lr if cfg["nesterov"] else st["m"])
        if name in ("adam", "adamw"):
            b1, b2 = cfg["beta_1"], cfg["beta_2"]
            alpha = c(float(lr) * math.sqrt(1 - b2**t) / (1 - b1**t))  # float64 scalars
            st["m"] = st["m"] + (g - st["m"]) * c(1 - b1)
            st["v"] = st["v"] + (g * g - st["v"]) * c(1 - b2)
            v = st["v"]
            if cfg["amsgrad"]:
                st["u"] = np.maximum(st["u"], st["v"])
                v = st["u"]
            return w - (st["m"] * alpha) / (np.sqrt(v) + c(cfg["epsilon"]))
        if name == "rmsprop":
            rho, eps = cfg["rho"], c(cfg["epsilon"])
            st["v"] = c(rho) * st["v"] + c(1 - rho) * (g * g)
            if cfg["centered"]:
                st["u"] = c(rho) * st["u"] + c(1 - rho) * g
                denominator = st["v"] - st["u"] * st["u"] + eps
            else:
                denominator = st["v"] + eps
            increment = (lr * g) / np.sqrt(denominator)
            if cfg["momentum"] > 0:
                st["m"] = c(cfg["momentum"]) * st["m"] + increment
                return w - st["m"]
            return w - increment
        if name == "adagrad":
            st["v"] = st["v"] + g * g
            return w - (lr * g) / np.sqrt(st["v"] + c(cfg["epsilon"]))
        if name == "nadam":
            b1, b2 = cfg["beta_1"], cfg["beta_2"]
            u_t = c(b1 * (1.0 - 0.5 * 0.96**t))
            u_t_1 = c(b1 * (1.0 - 0.5 * 0.96 ** (t + 1)))
            u_product_t_1 = self.u_product * u_t_1
            st["m"] = st["m"] + (g - st["m"]) * c(1 - b1)
            st["v"] = st["v"] + (g * g - st["v"]) * c(1 - b2)
            m_hat = (u_t_1 * st["m"]) / (c(1) - u_product_t_1) + ((c(1) - u_t) * g) / (c(1) - self.u_product)
            v_hat = st["v"] / c(1 - b2**t)
            return w - (m_hat * lr) / (np.sqrt(v_hat) + c(cfg["epsilon"]))
        raise AssertionError(name)

    def slot(self, key):
        return np.concatenate([st[key] for st in self.state])


def split(flat, sizes=SIZES):
    return np.split(flat, np.cumsum(sizes)[:-1])


def slices_of(sizes=SIZES):
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return np.stack([offs, sizes], axis=1).astype(np.int64)


def hyper_of(name, cfg):
    """`hyper` in the registry's order (_C.OPTIMIZER_HYPER), built here independently of the classes."""
    c = {**COMMON, **KERAS_DEFAULTS[name], **cfg}
    get = lambda k, d=0.0: float(c.get(k, d) or 0.0)  # noqa: E731
    return np.array([get(name) for name in _C.OPTIMIZER_HYPER], dtype=np.float64)


class CState:
    """Flat state arrays for `_C.optimizer_step`, initialized as the Python classes do."""

    def __init__(self, name, cfg, P):
        c = {**KERAS_DEFAULTS[name], **cfg}
        self.m = np.zeros(P, np.float32)
        self.v = np.full(P, c.get("initial_accumulator_value", 0.0), np.float32)
        self.u = np.ones(1, np.float32) if name == "nadam" else np.zeros(P, np.float32)
        self.it = np.zeros(1, np.int64)
        self.kind, self.h = KIND[name], hyper_of(name, cfg)

    def step(self, w, g, slices=None):
        _C.optimizer_step(self.kind, self.h, w, g, self.m, self.v, self.u, self.it, slices)


def grad_seq(steps, seed, sizes=SIZES, scales=G_SCALE):
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([rng.normal(size=n) * s for n, s in zip(sizes, scales)]).astype(np.float32) for _ in range(steps)
    ]


CASES = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    ("sgd", {"learning_rate": 0.1, "clipnorm": 1.0}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "global_clipnorm": 2.0}),
    ("sgd", {"learning_rate": 0.1, "clipvalue": 0.5}),
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.003, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adam", {"learning_rate": 0.01, "clipnorm": 1.0}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.05, "clipvalue": 0.5}),
    ("adamw", {"learning_rate": 0.01}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True, "global_clipnorm": 2.0}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.8}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "epsilon": 1e-5}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "epsilon": 1e-5, "weight_decay": 0.1}),
    ("rmsprop", {"learning_rate": 0.01, "clipnorm": 1.0}),
    ("adagrad", {"learning_rate": 0.1}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("adagrad", {"learning_rate": 0.1, "weight_decay": 0.1, "clipnorm": 1.0}),
    ("nadam", {"learning_rate": 0.01}),
    ("nadam", {"learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4}),
    ("nadam", {"learning_rate": 0.01, "weight_decay": 0.1, "clipvalue": 0.5}),
]
CASE_IDS = [
    f"{n}-" + ("-".join(f"{k}={v}" for k, v in c.items() if k != "learning_rate") or "defaults") for n, c in CASES
]
TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=2e-4, atol=1e-5)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["ref32", "ref64"])
@pytest.mark.parametrize("name,cfg", CASES, ids=CASE_IDS)
def test_step_matches_keras_numpy(name, cfg, dtype):
    rng = np.random.default_rng(0)
    P = sum(SIZES)
    w = rng.normal(size=P).astype(np.float32)
    ref_w = split(w.astype(dtype))
    ref = KerasRef(name, cfg, SIZES, dtype)
    st = CState(name, cfg, P)
    for g in grad_seq(8, seed=1):
        st.step(w, g, slices_of())
        ref_w = ref.apply(ref_w, split(g), cfg["learning_rate"])
        np.testing.assert_allclose(w, np.concatenate(ref_w), **TOL[dtype])
    assert st.it[0] == ref.iterations == 8
    slots = {
        "sgd": "m" if cfg.get("momentum") else "",
        "adam": "mv",
        "adamw": "mv",
        "adagrad": "v",
        "nadam": "mv",
        "rmsprop": "v" + ("m" if cfg.get("momentum") else "") + ("u" if cfg.get("centered") else ""),
    }[name]
    if cfg.get("amsgrad"):
        slots += "u"
    for key in slots:
        np.testing.assert_allclose(getattr(st, key), ref.slot(key), **TOL[dtype])
    if name == "nadam":
        np.testing.assert_allclose(st.u[0], ref.u_product, rtol=1e-6)


def test_hyper_of_eight_values_means_no_extras():
    # The 8-value layout (used by tests/csrc/test_kernels.py) equals the 13-value one with zeros.
    g = grad_seq(3, seed=2)
    out = []
    for n in (8, 13):
        w = np.linspace(-1, 1, sum(SIZES)).astype(np.float32)
        st = CState("adam", {"learning_rate": 0.01}, w.size)
        st.h = st.h[:n].copy()
        for gi in g:
            st.step(w, gi)
        out.append(w)
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.allclose(out[0], np.linspace(-1, 1, sum(SIZES)))


def test_grads_are_not_modified_by_clipping():
    g = grad_seq(1, seed=3)[0]
    g0 = g.copy()
    w = np.zeros_like(g)
    st = CState("sgd", {"learning_rate": 1.0, "clipnorm": 0.5}, g.size)
    st.step(w, g, slices_of())
    np.testing.assert_array_equal(g, g0)
    assert not np.allclose(w, -g0)  # the clip did act on the update


# ---------------------------------------------------------------------------
# Clipping bites, with Keras's per-variable / global semantics


def huge_grads():
    g = grad_seq(1, seed=4)[0]
    g[: SIZES[0]] *= 1e6  # the first variable's gradient explodes
    return g


def test_clipnorm_is_per_variable():
    g = huge_grads()
    w = np.zeros_like(g)
    CState("sgd", {"learning_rate": 1.0, "clipnorm": 1.0}, g.size).step(w, g, slices_of())
    for dw, gv in zip(split(-w), split(g)):
        norm = np.linalg.norm(gv)
        if norm > 1.0:  # clipped to norm 1, direction kept
            assert np.linalg.norm(dw) == pytest.approx(1.0, rel=1e-5)
            np.testing.assert_allclose(dw, gv / norm, rtol=1e-5, atol=1e-7)
        else:  # a small variable is untouched even though the total norm is huge
            np.testing.assert_allclose(dw, gv, rtol=1e-6)
    assert np.linalg.norm(split(g)[3]) < 1.0 < np.linalg.norm(split(g)[2])  # both branches ran


def test_clipnorm_without_slices_treats_everything_as_one_variable():
    g = huge_grads()
    w = np.zeros_like(g)
    CState("sgd", {"learning_rate": 1.0, "clipnorm": 1.0}, g.size).step(w, g)
    assert np.linalg.norm(w) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "nadam"])
def test_global_clipnorm_equals_rescaled_gradients(name):
    # One step with global_clipnorm=2 equals one step on the gradients rescaled to norm 2 by hand.
    g = huge_grads()
    rescaled = (g * (2.0 / np.linalg.norm(g.astype(np.float64)))).astype(np.float32)
    clipped, by_hand = np.zeros_like(g), np.zeros_like(g)
    CState(name, {"learning_rate": 0.1, "global_clipnorm": 2.0}, g.size).step(clipped, g, slices_of())
    CState(name, {"learning_rate": 0.1}, g.size).step(by_hand, rescaled, slices_of())
    np.testing.assert_allclose(clipped, by_hand, rtol=1e-5, atol=1e-8)
    if name == "sgd":
        assert np.linalg.norm(clipped) == pytest.approx(0.2, rel=1e-5)
    if name == "sgd":  # and it did bite
        assert np.linalg.norm(g) > 1e5


def test_clipvalue_bounds_each_entry():
    g = huge_grads()
    w = np.zeros_like(g)
    CState("sgd", {"learning_rate": 1.0, "clipvalue": 0.5}, g.size).step(w, g)
    np.testing.assert_allclose(-w, np.clip(g, -0.5, 0.5))
    assert np.max(np.abs(w)) == 0.5 and np.sum(np.abs(g) > 0.5) > 5


def test_global_clipnorm_with_infinite_gradient_is_nan_as_keras():
    # keras clip_by_global_norm: scale + (norm - norm) turns an inf norm into NaN scale.
    g = grad_seq(1, seed=5)[0]
    g[3] = np.inf
    w = np.zeros_like(g)
    CState("sgd", {"learning_rate": 0.1, "global_clipnorm": 1.0}, g.size).step(w, g)
    assert np.isnan(w).all()


def test_huge_gradient_through_a_model_is_clipped():
    x = np.full((4, 3), 1e4, np.float32)
    y = np.zeros((4, 2), np.float32)
    for clip, bound in (({"clipvalue": 0.1}, 0.1 * 0.5 + 1e-6), ({"global_clipnorm": 1.0}, 0.5 + 1e-6)):
        model = dense_model(3, 2, seed=0)
        before = np.concatenate([w.ravel() for w in model.get_weights()])
        model.compile(optimizer=optimizers.SGD(learning_rate=0.5, **clip), loss="mse")
        model.train_on_batch(x, y)
        step = np.concatenate([w.ravel() for w in model.get_weights()]) - before
        norm = np.max(np.abs(step)) if "clipvalue" in clip else np.linalg.norm(step)
        assert 0.5 * bound < norm <= bound
        unclipped = dense_model(3, 2, seed=0)
        unclipped.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="mse")
        unclipped.train_on_batch(x, y)
        assert np.max(np.abs(unclipped.get_weights()[0])) > 1e3  # without clipping the step explodes


# ---------------------------------------------------------------------------
# Against torch.optim


def torch_run(make_opt, w0, grads, sizes=SIZES, per_step=None, clip=None):
    params = [torch.tensor(p, requires_grad=True) for p in split(w0.copy(), sizes)]
    opt = make_opt(params)
    for t, g in enumerate(grads, start=1):
        for p, gv in zip(params, split(g, sizes)):
            p.grad = torch.tensor(gv)
        if clip:
            clip(params)
        if per_step:
            per_step(opt, t)
        opt.step()
    return np.concatenate([p.detach().numpy() for p in params])


def c_run(name, cfg, w0, grads):
    w = w0.copy()
    st = CState(name, cfg, w.size)
    for g in grads:
        st.step(w, g, slices_of())
    return w


def adam_eps(eps, beta_2):
    # Keras: lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps); torch: lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps_t).
    # They are the same update when eps_t = eps / sqrt(1 - b2^t).
    def per_step(opt, t):
        for group in opt.param_groups:
            group["eps"] = eps / math.sqrt(1 - beta_2**t)

    return per_step


TORCH_CASES = {
    # With a constant rate, Keras's velocity v equals -lr times torch's momentum buffer.
    "sgd": ("sgd", {"learning_rate": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1), None),
    "sgd_momentum": (
        "sgd",
        {"learning_rate": 0.05, "momentum": 0.9},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        None,
    ),
    "sgd_nesterov": (
        "sgd",
        {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        None,
    ),
    # Adam and AdamW with a large epsilon (1e-3) mapped per step (adam_eps), so a wrong placement shows.
    "adam": (
        "adam",
        {"learning_rate": 0.01, "epsilon": 1e-3},
        lambda p: torch.optim.Adam(p, lr=0.01),
        adam_eps(1e-3, 0.999),
    ),
    "adam_amsgrad": (
        "adam",
        {"learning_rate": 0.01, "epsilon": 1e-3, "beta_2": 0.9, "amsgrad": True},
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.9), amsgrad=True),
        adam_eps(1e-3, 0.9),
    ),
    # torch's AdamW multiplies by (1 - lr wd) before the Adam step; Keras subtracts w wd lr before it: the same.
    "adamw": (
        "adamw",
        {"learning_rate": 0.01, "weight_decay": 0.1, "epsilon": 1e-3},
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
        adam_eps(1e-3, 0.999),
    ),
    # RMSprop: torch adds eps outside the square root, Keras inside: equal for eps far below sqrt(v).
    "rmsprop": (
        "rmsprop",
        {"learning_rate": 0.01, "epsilon": 1e-12},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-12),
        None,
    ),
    "rmsprop_centered_momentum": (
        "rmsprop",
        {"learning_rate": 0.01, "epsilon": 1e-12, "momentum": 0.5, "centered": True},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-12, momentum=0.5, centered=True),
        None,
    ),
    # Adagrad: torch's eps is also outside the root; its accumulator starts at 0 unless told (Keras: 0.1).
    "adagrad": (
        "adagrad",
        {"learning_rate": 0.1, "epsilon": 1e-12},
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-12),
        None,
    ),
    # NAdam: torch's mu_t = beta_1 (1 - 0.5 * 0.96^(t * momentum_decay)); Keras's is momentum_decay = 1
    # (torch's default 4e-3 is a different schedule); the rest of the update is the same formula.
    "nadam": (
        "nadam",
        {"learning_rate": 0.01},
        lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0),
        None,
    ),
    "nadam_decoupled_wd": (
        "nadam",
        {"learning_rate": 0.01, "weight_decay": 0.1},
        lambda p: torch.optim.NAdam(
            p, lr=0.01, eps=1e-7, momentum_decay=1.0, weight_decay=0.1, decoupled_weight_decay=True
        ),
        None,
    ),
}


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_step_matches_torch(case):
    name, cfg, make, per_step = TORCH_CASES[case]
    w0 = np.random.default_rng(6).normal(size=sum(SIZES)).astype(np.float32)
    grads = grad_seq(20, seed=7)
    ours = c_run(name, cfg, w0, grads)
    theirs = torch_run(make, w0, grads, per_step=per_step)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
    assert np.max(np.abs(ours - w0)) > 1e-2  # the runs moved


def test_torch_nadam_default_momentum_decay_differs():
    # The guard for the NAdam case: torch's default schedule is measurably another method.
    w0 = np.random.default_rng(6).normal(size=sum(SIZES)).astype(np.float32)
    grads = grad_seq(20, seed=7)
    ours = c_run("nadam", {"learning_rate": 0.01}, w0, grads)
    theirs = torch_run(lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7), w0, grads)
    assert not np.allclose(ours, theirs, rtol=2e-5, atol=1e-6)


def test_clipping_matches_torch_clip_utilities():
    # Keras's clipnorm = torch's clip_grad_norm_ applied to each parameter alone (torch adds
    # 1e-6 to the norm: rtol 1e-5); clipvalue = clip_grad_value_ exactly.
    w0 = np.random.default_rng(8).normal(size=sum(SIZES)).astype(np.float32)
    grads = grad_seq(10, seed=9)
    per_var = lambda ps: [torch.nn.utils.clip_grad_norm_([p], 1.0) for p in ps]  # noqa: E731
    ours = c_run("sgd", {"learning_rate": 0.1, "momentum": 0.9, "clipnorm": 1.0}, w0, grads)
    theirs = torch_run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), w0, grads, clip=per_var)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    globally = lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.0)  # noqa: E731
    other = torch_run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), w0, grads, clip=globally)
    assert not np.allclose(ours, other, rtol=1e-3)  # per-variable is not global
    ours = c_run("adam", {"learning_rate": 0.01, "epsilon": 1e-3, "clipvalue": 0.5}, w0, grads)
    theirs = torch_run(
        lambda p: torch.optim.Adam(p, lr=0.01),
        w0,
        grads,
        per_step=adam_eps(1e-3, 0.999),
        clip=lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.5),
    )
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Through a model: Dense(OUT) with MSE, whose gradient NumPy computes exactly


def dense_model(IN, OUT, seed):
    pytrainc.utils.set_random_seed(seed)
    return Sequential([Input((IN,)), Dense(OUT)])


def mse_grads(ws, x, y):
    """d/dW, d/db of Keras's MSE (mean over the last axis, then the batch) of x @ W + b, in float64."""
    W, b = (w.astype(np.float64) for w in ws)
    dpred = 2.0 * (x @ W + b - y) / y.size
    return [x.T @ dpred, dpred.sum(axis=0)]


MODEL_CASES = [
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "epsilon": 1e-4}),
    ("adagrad", {"learning_rate": 0.1, "clipnorm": 0.5}),  # per variable: kernel and bias separately
    ("nadam", {"learning_rate": 0.01, "global_clipnorm": 0.5}),
    ("sgd", {"learning_rate": 0.05, "clipvalue": 0.2, "weight_decay": 0.1}),
    ("adam", {"learning_rate": schedules.ExponentialDecay(0.02, decay_steps=2, decay_rate=0.5)}),
]


@pytest.mark.parametrize("name,cfg", MODEL_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MODEL_CASES)])
def test_train_on_batch_matches_keras_numpy(name, cfg):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = rng.normal(size=(16, 3)).astype(np.float32) * 3
    model = dense_model(5, 3, seed=1)
    model.compile(optimizer=CLASS[name](**cfg), loss="mse")
    ref_cfg = {k: v for k, v in cfg.items() if k != "learning_rate"}
    ref = KerasRef(name, ref_cfg, [15, 3], np.float64)
    ws = [w.astype(np.float64) for w in model.get_weights()]
    lr = cfg["learning_rate"]
    for t in range(6):
        rate = lr(t) if callable(lr) else lr
        gs = mse_grads(ws, x, y)
        flat = ref.apply([ws[0].ravel(), ws[1]], [gs[0].ravel(), gs[1]], rate)
        ws = [flat[0].reshape(5, 3), flat[1]]
        model.train_on_batch(x, y)
        for got, want in zip(model.get_weights(), ws):
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)
    assert model.optimizer.iterations == 6
    state = model.optimizer.variables()
    for key in model.optimizer._slots:
        np.testing.assert_allclose(state[key], ref.slot(key), rtol=1e-3, atol=1e-6)
    if name == "nadam":
        np.testing.assert_allclose(state["u_product"][0], ref.u_product, rtol=1e-6)


def test_model_clipnorm_uses_variable_slices():
    # The same model with clipnorm reaches the engine with kernel and bias as separate variables:
    # the result differs from clipping the concatenated gradient.
    rng = np.random.default_rng(11)
    x = rng.normal(size=(8, 4)).astype(np.float32) * 5
    y = rng.normal(size=(8, 2)).astype(np.float32)
    model = dense_model(4, 2, seed=2)
    W, b = model.get_weights()
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0, clipnorm=0.1), loss="mse")
    model.train_on_batch(x, y)
    gW, gb = mse_grads([W, b], x, y)
    W1, b1 = model.get_weights()
    np.testing.assert_allclose(W - W1, gW * 0.1 / np.linalg.norm(gW), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(b - b1, gb * 0.1 / max(np.linalg.norm(gb), 0.1), rtol=1e-4, atol=1e-7)


# ---------------------------------------------------------------------------
# learning_rate and iterations


def regression(n=32, seed=12):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x @ rng.normal(size=(4, 2))).astype(np.float32)


def test_learning_rate_set_between_epochs_reaches_the_engine():
    x, y = regression()
    model = dense_model(4, 2, seed=3)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.optimizer.learning_rate = 0.0
    assert model.optimizer.learning_rate == 0.0
    frozen = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(frozen, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The step is linear in the rate for plain SGD: doubling it doubles the step.
    steps = []
    for lr in (0.1, 0.2):
        probe = dense_model(4, 2, seed=3)
        probe.set_weights(frozen)
        probe.compile(optimizer=optimizers.SGD(learning_rate=0.05), loss="mse")
        probe.train_on_batch(x, y)  # plan built with 0.05
        probe.set_weights(frozen)
        probe.optimizer.learning_rate = lr
        probe.train_on_batch(x, y)
        steps.append(probe.get_weights()[0] - frozen[0])
    np.testing.assert_allclose(steps[1], 2 * steps[0], rtol=1e-5, atol=2e-7)  # w1 - w0 rounding
    assert model.optimizer.iterations == 8


def test_learning_rate_set_to_a_schedule_reaches_the_engine():
    x, y = regression()
    sched = schedules.PiecewiseConstantDecay([5], [0.05, 0.0])
    model = dense_model(4, 2, seed=4)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # iterations 0..3
    model.optimizer.learning_rate = sched
    assert model.optimizer.learning_rate == 0.05  # sched(4)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # steps at 4, 5 move; 6, 7 use rate 0
    assert model.optimizer.learning_rate == 0.0
    w = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(w, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="not settable"):
        model.optimizer.learning_rate = 0.1


def test_learning_rate_setter_validates_and_keeps_the_old_rate():
    opt = optimizers.Adam(learning_rate=0.01)
    for bad in (-1e-3, math.nan, math.inf):
        with pytest.raises(ValueError, match="learning_rate"):
            opt.learning_rate = bad
    with pytest.raises(TypeError, match="learning_rate"):
        opt.learning_rate = "fast"
    assert opt.learning_rate == 0.01


def test_iterations_count_every_step():
    x, y = regression(n=30)
    model = dense_model(4, 2, seed=5)
    model.compile(optimizer="adam", loss="mse")
    assert model.optimizer.iterations == 0
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)  # 4 batches per epoch, the last one of 6
    assert model.optimizer.iterations == 12
    model.train_on_batch(x, y)
    assert model.optimizer.iterations == 13
    assert model.optimizer.variables()["iterations"].tolist() == [13]
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert model.optimizer.iterations == 13


# ---------------------------------------------------------------------------
# State saved with the model


SAVE_CASES = [
    ("sgd", {"momentum": 0.9}, {"m"}),
    ("adam", {"amsgrad": True, "clipnorm": 1.0}, {"m", "v", "u"}),
    ("adamw", {"weight_decay": 0.01}, {"m", "v"}),
    ("rmsprop", {"momentum": 0.5, "centered": True}, {"v", "m", "u"}),
    ("adagrad", {"initial_accumulator_value": 0.3}, {"v"}),
    ("nadam", {"global_clipnorm": 1.0}, {"m", "v", "u_product"}),
]


@pytest.mark.parametrize("name,cfg,keys", SAVE_CASES, ids=[c[0] for c in SAVE_CASES])
def test_save_load_restores_every_slot(tmp_path, name, cfg, keys):
    x, y = regression()
    model = dense_model(4, 2, seed=6)
    model.compile(optimizer=CLASS[name](learning_rate=0.01, **cfg), loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    state = model.optimizer.variables()
    assert set(state) == {"iterations"} | keys
    for k in keys:  # the slots moved away from their start
        start = {"u_product": 1.0, "v": cfg.get("initial_accumulator_value", 0.0)}.get(k, 0.0)
        assert np.any(state[k] != start), k
    model.save(tmp_path / "m.ptc")
    restored = load_model(tmp_path / "m.ptc")
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    got = restored.optimizer.variables()
    assert list(got) == list(state)
    for k in state:
        np.testing.assert_array_equal(got[k], state[k])
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert restored.optimizer.iterations == model.optimizer.iterations == 12


def test_adagrad_accumulator_starts_at_initial_value():
    model = dense_model(4, 2, seed=7)
    model.compile(optimizer=optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.25), loss="mse")
    x, y = regression()
    model.train_on_batch(x, y)
    gW, gb = mse_grads([w for w in dense_model(4, 2, seed=7).get_weights()], x, y)
    np.testing.assert_allclose(
        model.optimizer.variables()["v"], 0.25 + np.concatenate([gW.ravel(), gb]) ** 2, rtol=1e-5
    )


# ---------------------------------------------------------------------------
# Config, names and defaults


@pytest.mark.parametrize("name", list(CLASS))
def test_defaults_are_keras_defaults(name):
    opt = CLASS[name]()
    config = opt.get_config()
    expected = {**COMMON, **KERAS_DEFAULTS[name]}
    assert {k: config[k] for k in expected} == expected
    assert opt.name == {"sgd": "SGD"}.get(name, name)
    assert type(optimizers.get(name)) is CLASS[name]
    assert type(optimizers.get(name.upper())) is CLASS[name]


CONFIG_CASES = [
    optimizers.SGD(learning_rate=0.3, momentum=0.5, nesterov=True, weight_decay=0.01, clipnorm=2.0),
    optimizers.Adam(
        learning_rate=schedules.CosineDecay(0.01, 100, warmup_target=0.1, warmup_steps=5), amsgrad=True, clipvalue=0.5
    ),
    optimizers.AdamW(weight_decay=0.2, global_clipnorm=1.5, beta_1=0.8),
    optimizers.RMSprop(
        learning_rate=schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
        rho=0.8,
        momentum=0.1,
        centered=True,
        name="my_rms",
    ),
    optimizers.Adagrad(initial_accumulator_value=0.0, epsilon=1e-3),
    optimizers.Nadam(learning_rate=0.002, beta_2=0.99, weight_decay=0.0),
]


@pytest.mark.parametrize("opt", CONFIG_CASES, ids=[type(o).__name__ for o in CONFIG_CASES])
def test_config_round_trips_through_json(opt):
    blob = json.dumps(optimizers.serialize(opt))
    back = optimizers.get(json.loads(blob))
    assert type(back) is type(opt)
    assert back.get_config() == opt.get_config()
    assert type(back.from_config(back.get_config())) is type(opt)
    assert back.learning_rate == pytest.approx(opt.learning_rate)
    assert np.array_equal(back._hyper_array(), opt._hyper_array())


# ---------------------------------------------------------------------------
# Bad arguments


BAD_ARGS = [
    (optimizers.SGD, {"learning_rate": -0.1}, ValueError, r"`learning_rate` must be a finite number >= 0"),
    (optimizers.Adam, {"learning_rate": math.nan}, ValueError, "learning_rate"),
    (optimizers.Adam, {"learning_rate": math.inf}, ValueError, "learning_rate"),
    (optimizers.Adam, {"learning_rate": "0.1"}, TypeError, "learning_rate"),
    (optimizers.Adam, {"beta_1": 1.0}, ValueError, r"`beta_1` must be a finite number in \[0, 1\)"),
    (optimizers.Nadam, {"beta_2": -0.1}, ValueError, "beta_2"),
    (optimizers.AdamW, {"beta_2": 1.5}, ValueError, "beta_2"),
    (optimizers.RMSprop, {"rho": 1.0}, ValueError, "rho"),
    (optimizers.RMSprop, {"momentum": -0.5}, ValueError, "momentum"),
    (optimizers.SGD, {"momentum": 1.5}, ValueError, r"`momentum` must be a finite number in \[0, 1\]"),
    (optimizers.Adam, {"epsilon": -1e-7}, ValueError, "epsilon"),
    (optimizers.Adagrad, {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value"),
    (optimizers.SGD, {"clipnorm": 0.0}, ValueError, r"`clipnorm` must be a finite number > 0"),
    (optimizers.SGD, {"clipnorm": -1.0}, ValueError, "clipnorm"),
    (optimizers.Adam, {"clipvalue": 0}, ValueError, "clipvalue"),
    (optimizers.Adam, {"global_clipnorm": math.inf}, ValueError, "global_clipnorm"),
    (
        optimizers.Adam,
        {"clipnorm": 1.0, "clipvalue": 1.0},
        ValueError,
        "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set",
    ),
    (optimizers.SGD, {"clipnorm": 1.0, "global_clipnorm": 1.0}, ValueError, "Only one of"),
    (optimizers.Adam, {"weight_decay": -0.01}, ValueError, "weight_decay"),
    (optimizers.AdamW, {"weight_decay": None}, ValueError, "`weight_decay` must be a float"),
    (optimizers.Adam, {"momentum": 0.9}, ValueError, r"Argument\(s\) not recognized: {.momentum.: 0.9}"),  # as Keras
]


@pytest.mark.parametrize(
    "cls,kwargs,exc,match", BAD_ARGS, ids=[f"{c.__name__}-{'-'.join(k)}-{i}" for i, (c, k, _, _) in enumerate(BAD_ARGS)]
)
def test_bad_arguments_raise(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


def test_get_rejects_unknown_identifiers():
    with pytest.raises(ValueError, match="Unknown optimizer: 'adagradd'"):
        optimizers.get("adagradd")
    with pytest.raises(ValueError, match="Unknown optimizer class"):
        optimizers.get({"class_name": "Adagradd", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret optimizer"):
        optimizers.get(0.1)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        Sequential([Input((2,)), Dense(1)]).compile(optimizer="sgdd", loss="mse")


HYPER = _C.OPTIMIZER_HYPER


def test_binding_rejects_bad_state_and_hyper():
    P = sum(SIZES)
    w, g = np.zeros(P, np.float32), np.ones(P, np.float32)
    st = CState("adam", {"learning_rate": 0.01, "amsgrad": True}, P)
    with pytest.raises(ValueError, match="slot u"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], st.h, w, g, st.m, st.v, np.zeros(0, np.float32), st.it)
    with pytest.raises(ValueError, match="slot m"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], st.h, w, g, np.zeros(P - 1, np.float32), st.v, st.u, st.it)
    bad = st.h.copy()
    bad[HYPER.index("learning_rate")] = -1.0
    with pytest.raises(ValueError, match="learning_rate must be finite and >= 0"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], bad, w, g, st.m, st.v, st.u, st.it)
    bad = st.h.copy()
    bad[HYPER.index("beta_2")] = 1.0
    with pytest.raises(ValueError, match=r"beta_2 must be in \[0, 1\)"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], bad, w, g, st.m, st.v, st.u, st.it)
    bad = st.h.copy()
    bad[HYPER.index("clipnorm")] = bad[HYPER.index("clipvalue")] = 1.0
    with pytest.raises(ValueError, match="Only one of clipnorm"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], bad, w, g, st.m, st.v, st.u, st.it)
    with pytest.raises(ValueError, match="at least 8"):
        _C.optimizer_step(_C.OPTIMIZERS["adam"], st.h[:7].copy(), w, g, st.m, st.v, st.u, st.it)
    with pytest.raises(ValueError, match=f"unknown optimizer kind {len(_C.OPTIMIZERS) + 1}"):
        _C.optimizer_step(len(_C.OPTIMIZERS) + 1, st.h, w, g, st.m, st.v, st.u, st.it)
    with pytest.raises(ValueError, match="Nadam's u_product"):
        _C.optimizer_step(_C.OPTIMIZERS["nadam"], st.h, w, g, st.m, st.v, st.u, st.it)
    for sl in (np.array([[0, 10], [11, 30]]), np.array([[0, 10], [10, 20]]), np.array([[0, P, 1]])):
        with pytest.raises(ValueError, match="slices"):
            _C.optimizer_step(_C.OPTIMIZERS["adam"], st.h, w, g, st.m, st.v, st.u, st.it, sl.astype(np.int64))
    assert st.it[0] == 0 and not w.any()  # nothing ran
