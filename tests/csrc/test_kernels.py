"""Tier 1: the C kernels exposed in `pytrainc._C`, one at a time.

Each kernel is checked against an independent reference: the naive C kernel
next to it, NumPy in float64, PyTorch's autograd, central finite differences
and, for the optimizers and clipped losses, Keras 3's formulas written out in
NumPy. Every tolerance is stated where it is used, with the reason for it.
"""

import math
import subprocess
import tempfile
import sys

import numpy as np
import pytest

from pytrainc import _C
from pytrainc.testing import f32, gamma, rng

try:  # a test dependency; the tests that do not compare with torch run without it
    import torch

    F = torch.nn.functional
except ImportError:
    torch = F = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

pytestmark = pytest.mark.usefixtures("torch_single_thread")

EPS32 = float(np.finfo(np.float32).eps)  # 2**-23
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the clip of the probability losses

# Kind ids from the C registry (csrc/kinds.def), by name.
LINEAR, RELU, SIGMOID, TANH, SOFTMAX = (_C.ACTIVATIONS[n] for n in ("linear", "relu", "sigmoid", "tanh", "softmax"))
MSE, MAE, BCE, CCE, SPARSE_CCE, SIGMOID_BCE, SOFTMAX_CCE, SOFTMAX_SPARSE_CCE = (
    _C.LOSSES[n] for n in ("mse", "mae", "bce", "cce", "sparse_cce", "sigmoid_bce", "softmax_cce", "softmax_sparse_cce")
)
BINARY_ACC, CATEGORICAL_ACC, SPARSE_CATEGORICAL_ACC, METRIC_MSE, METRIC_MAE = (
    _C.METRICS[n] for n in ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mse", "mae")
)
SGD, ADAM, RMSPROP = (_C.OPTIMIZERS[n] for n in ("sgd", "adam", "rmsprop"))


# ---------------------------------------------------------------------------
# Dense

DENSE_SHAPES = [  # (N, IN, OUT): one row, one column, odd sizes, a size past sgemm's blocking
    (1, 1, 1),
    (1, 7, 3),
    (5, 3, 1),
    (2, 1, 9),
    (17, 33, 9),
    (64, 129, 65),
    (3, 0, 4),
    # at most 3 rows take the few-rows kernel (csrc/dense.c): 32-column passes, a shorter last
    # one, K past OpenBLAS's GEMM_Q blocks
    (1, 784, 96),
    (2, 70, 75),
    (3, 41, 64),
    (3, 5, 33),
    (1, 1000, 7),
]


def dense_inputs(N, IN, OUT, seed=0):
    r = rng(seed)
    return (
        f32(r.standard_normal((N, IN))),
        f32(r.standard_normal((IN, OUT)) / math.sqrt(max(IN, 1))),
        f32(r.standard_normal(OUT)),
    )


@pytest.mark.parametrize("N,IN,OUT", DENSE_SHAPES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_forward_matches_naive_and_float64(N, IN, OUT, use_bias):
    x, w, b = dense_inputs(N, IN, OUT)
    bias = b if use_bias else None
    b64 = b.astype(np.float64) if use_bias else np.zeros(OUT)
    exact = x.astype(np.float64) @ w.astype(np.float64) + b64  # products of float32s are exact in float64
    fast = _C.dense_forward(x, w, bias, False)
    ref = _C.dense_forward(x, w, bias, True)
    assert fast.shape == ref.shape == (N, OUT) and fast.dtype == ref.dtype == np.float32
    # The naive kernel sums in double and rounds once: within one float32 ulp of the exact value.
    np.testing.assert_array_max_ulp(ref, exact.astype(np.float32), maxulp=1)
    # sgemm sums IN products plus the bias in float32: |error| <= gamma_{IN+1} (|x| @ |w| + |b|).
    bound = gamma(IN + 1) * (np.abs(x) @ np.abs(w) + np.abs(b64)) + 1e-45
    assert np.all(np.abs(fast - exact) <= bound), np.max(np.abs(fast - exact) / bound)
    assert np.all(np.abs(fast - ref) <= 2 * bound)


@pytest.mark.parametrize("N,IN,OUT", DENSE_SHAPES)
def test_dense_backward_matches_naive_and_float64(N, IN, OUT):
    x, w, _ = dense_inputs(N, IN, OUT, seed=1)
    g = f32(rng(2).standard_normal((N, OUT)))
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    exact = (g64 @ w64.T, x64.T @ g64, g64.sum(axis=0))
    bounds = (
        gamma(OUT) * (np.abs(g64) @ np.abs(w64.T)),
        gamma(N) * (np.abs(x64.T) @ np.abs(g64)),
        gamma(N) * np.abs(g64).sum(axis=0),
    )
    fast = _C.dense_backward(g, x, w, False)
    ref = _C.dense_backward(g, x, w, True)
    for name, f, r, e, bound in zip(("dinp", "dweight", "dbias"), fast, ref, exact, bounds):
        assert f.shape == r.shape == e.shape, name
        np.testing.assert_array_max_ulp(r, e.astype(np.float32), maxulp=1)
        assert np.all(np.abs(f - e) <= bound + 1e-45), name


def test_dense_backward_against_finite_differences():
    # L = sum(G * (x @ w + b)), evaluated in float64 at the float32 points.
    N, IN, OUT = 4, 6, 3
    x, w, b = dense_inputs(N, IN, OUT, seed=3)
    G = rng(4).standard_normal((N, OUT))

    def loss(x_, w_, b_):
        return float(np.sum(G * (x_ @ w_ + b_)))

    dinp, dweight, dbias = _C.dense_backward(f32(G), x, w, False)
    h = 1e-3  # L is linear in each argument, so central differences carry only rounding error (~1e-13 / h)
    for k, (arr, grad) in enumerate(((x, dinp), (w, dweight), (b, dbias))):
        base = [x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)]
        fd = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            plus = [a.copy() for a in base]
            minus = [a.copy() for a in base]
            plus[k][idx] += h
            minus[k][idx] -= h
            fd[idx] = (loss(*plus) - loss(*minus)) / (2 * h)
        # The kernel's gradient is float32 (G rounded to float32, float32 sums of <= 6 terms):
        # relative 1e-5 leaves a factor of ~10 over gamma_6 * (sum of |terms|) / |sum|.
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Activations


def act_numpy(kind, x):
    x = np.asarray(x, dtype=np.float64)
    if kind == LINEAR:
        return x.copy()
    if kind == RELU:
        return np.maximum(x, 0.0)
    if kind == SIGMOID:
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable form of 1 / (1 + exp(-x))
    if kind == TANH:
        return np.tanh(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def act_torch(kind, x):
    return {
        LINEAR: lambda t: t,
        RELU: torch.relu,
        SIGMOID: torch.sigmoid,
        TANH: torch.tanh,
        SOFTMAX: lambda t: torch.softmax(t, dim=1),
    }[kind](x)


def act_input(shape=(7, 5), seed=0):
    # Keep |x| >= 0.05 so that no finite-difference step (h = 1e-3) straddles relu's kink.
    x = rng(seed).uniform(-4, 4, size=shape)
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    return f32(x)


@pytest.mark.parametrize("kind", [LINEAR, RELU, SIGMOID, TANH, SOFTMAX])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (3, 64)])
def test_act_forward_matches_numpy(kind, shape):
    x = act_input(shape)
    y = _C.act_forward(kind, x)
    assert y.shape == x.shape and y.dtype == np.float32
    expected = act_numpy(kind, x)
    if kind in (LINEAR, RELU):
        np.testing.assert_array_equal(y, expected.astype(np.float32))
    else:
        # expf/tanhf are accurate to ~2 ulp; softmax adds a float32 scaling: a few ulp in all.
        np.testing.assert_allclose(y, expected, rtol=8 * EPS32, atol=1e-7)
    if kind == SOFTMAX:
        np.testing.assert_allclose(y.sum(axis=1, dtype=np.float64), 1.0, rtol=0, atol=shape[1] * 4 * EPS32)


@pytest.mark.parametrize("kind", [LINEAR, RELU, SIGMOID, TANH, SOFTMAX])
def test_act_backward_against_finite_differences(kind):
    x = act_input((4, 6), seed=1)
    G = rng(2).standard_normal(x.shape)
    y = _C.act_forward(kind, x)
    dx = _C.act_backward(kind, f32(G), x, y)
    x64 = x.astype(np.float64)
    h = 1e-3
    fd = np.zeros_like(x64)
    for idx in np.ndindex(x.shape):
        xp, xm = x64.copy(), x64.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (np.sum(G * act_numpy(kind, xp)) - np.sum(G * act_numpy(kind, xm))) / (2 * h)
    # Central differences: truncation h^2 |f'''| / 6 <= ~1e-6 for these smooth functions (|G| ~ 1);
    # the kernel computes in float32 from the float32 output y (relative ~1e-6).
    np.testing.assert_allclose(dx, fd, rtol=1e-4, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("kind", [LINEAR, RELU, SIGMOID, TANH, SOFTMAX])
def test_act_backward_matches_torch_autograd(kind):
    x = act_input((5, 7), seed=3)
    x[0, :3] = [0.0, -0.0, 0.0]  # relu at exactly 0: both define the derivative as 0
    G = f32(rng(4).standard_normal(x.shape))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (act_torch(kind, xt) * torch.tensor(G, dtype=torch.float64)).sum().backward()
    dx = _C.act_backward(kind, G, x, _C.act_forward(kind, x))
    # float32 kernel vs float64 autograd: a few float32 ulp of the largest terms.
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_act_backward_adds_nothing_where_dout_is_zero():
    x = act_input((3, 4))
    for kind in (LINEAR, RELU, SIGMOID, TANH, SOFTMAX):
        dx = _C.act_backward(kind, np.zeros_like(x), x, _C.act_forward(kind, x))
        assert np.all(dx == 0), kind


@pytest.mark.parametrize("kind", [SIGMOID, TANH, SOFTMAX])
def test_act_extreme_inputs_stay_finite(kind):
    x = f32([[1e4, -1e4, 0.0, 88.8], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -89.0, 1e4], [3e38, -3e38, 1.0, 0.0]])
    y = _C.act_forward(kind, x)
    assert np.all(np.isfinite(y))
    assert np.all((y >= (-1 if kind == TANH else 0)) & (y <= 1))
    np.testing.assert_allclose(y, act_numpy(kind, x), rtol=8 * EPS32, atol=1e-7)
    if kind == SOFTMAX:
        np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=4 * EPS32)
    dx = _C.act_backward(kind, np.ones_like(x), x, y)
    assert np.all(np.isfinite(dx))


# ---------------------------------------------------------------------------
# Losses


def keras_loss_numpy(kind, pred, y):
    """Keras 3's formulas (keras/src/backend/numpy/nn.py and keras/src/losses/losses.py) in
    float64: the per-sample loss is the mean over the last axis (MSE, MAE, BCE) or the sum
    over classes (CCE), then the batch mean."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    eps = KERAS_EPSILON
    if kind == MSE:
        return np.mean(np.mean((p - t) ** 2, axis=-1))
    if kind == MAE:
        return np.mean(np.mean(np.abs(p - t), axis=-1))
    if kind in (BCE, SIGMOID_BCE):
        if kind == SIGMOID_BCE:  # logits: the stable closed form, no clip (as torch/Keras from_logits)
            return np.mean(np.mean(np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p))), axis=-1))
        o = np.clip(p, np.float32(eps), np.float32(1 - eps))
        return np.mean(np.mean(-(t * np.log(o) + (1 - t) * np.log(1 - o)), axis=-1))
    if kind in (SPARSE_CCE, SOFTMAX_SPARSE_CCE):
        t = np.eye(p.shape[-1])[t[:, 0].astype(int)]
    if kind in (CCE, SPARSE_CCE):
        q = np.clip(p / p.sum(axis=-1, keepdims=True), np.float32(eps), np.float32(1 - eps))
        return np.mean(-np.sum(t * np.log(q), axis=-1))
    z = p - p.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return np.mean(-np.sum(t * logp, axis=-1))


def torch_loss(kind, pred, y):
    """The same losses with torch.nn.functional, on float64 tensors."""
    eps = float(np.float32(KERAS_EPSILON))
    hi = float(np.float32(1 - KERAS_EPSILON))
    if kind == MSE:
        return F.mse_loss(pred, y)
    if kind == MAE:
        return F.l1_loss(pred, y)
    if kind == BCE:
        return F.binary_cross_entropy(pred.clamp(eps, hi), y)
    if kind == SIGMOID_BCE:
        return F.binary_cross_entropy_with_logits(pred, y)
    if kind == SOFTMAX_CCE:
        return F.cross_entropy(pred, y)  # soft (probability) targets
    if kind == SOFTMAX_SPARSE_CCE:
        return F.cross_entropy(pred, y[:, 0].long())
    q = (pred / pred.sum(dim=-1, keepdim=True)).clamp(eps, hi)
    if kind == CCE:
        return -(y * q.log()).sum(dim=-1).mean()
    return F.nll_loss(q.log(), y[:, 0].long())  # SPARSE_CCE


def loss_case(kind, N=6, D=4, seed=0):
    """Predictions away from the clip boundaries and targets of the right form."""
    r = rng(seed)
    if kind in (MSE, MAE):
        return f32(r.standard_normal((N, D))), f32(r.standard_normal((N, D)))
    if kind == BCE:
        return f32(r.uniform(0.05, 0.95, (N, D))), f32(r.integers(0, 2, (N, D)))
    if kind == SIGMOID_BCE:
        return f32(r.standard_normal((N, D)) * 3), f32(r.uniform(0, 1, (N, D)))  # soft labels too
    labels = r.integers(0, D, N)
    if kind in (SPARSE_CCE, SOFTMAX_SPARSE_CCE):
        y = f32(labels[:, None])
    else:
        y = f32(np.eye(D)[labels] * 0.8 + 0.2 / D)  # soft one-hot, rows sum to 1
    if kind in (CCE, SPARSE_CCE):
        return f32(r.uniform(0.1, 1.0, (N, D))), y  # unnormalized probabilities: the kernel normalizes
    return f32(r.standard_normal((N, D)) * 3), y


ALL_LOSSES = [MSE, MAE, BCE, CCE, SPARSE_CCE, SIGMOID_BCE, SOFTMAX_CCE, SOFTMAX_SPARSE_CCE]


@needs_torch
@pytest.mark.parametrize("kind", ALL_LOSSES)
@pytest.mark.parametrize("N,D", [(1, 1), (6, 4), (33, 10)])
def test_loss_value_and_gradient_match_torch(kind, N, D):
    if D == 1 and kind in (CCE, SPARSE_CCE, SOFTMAX_CCE, SOFTMAX_SPARSE_CCE):
        D = 2  # one class makes cross-entropy identically 0
    pred, y = loss_case(kind, N, D)
    loss, dpred = _C.loss(kind, pred, y)
    assert isinstance(loss, float) and dpred.shape == pred.shape and dpred.dtype == np.float32
    pt = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    expected = torch_loss(kind, pt, torch.tensor(y, dtype=torch.float64))
    expected.backward()
    # The loss is accumulated in double from float32 terms: relative 1e-6 covers the float32
    # rounding of intermediate q, sigmoid or softmax values (a few ulp each).
    assert loss == pytest.approx(expected.item(), rel=1e-6, abs=1e-7)
    assert loss == pytest.approx(keras_loss_numpy(kind, pred, y), rel=1e-6, abs=1e-7)
    # Gradients are float32: a few ulp of each term, relative to the largest gradient entry.
    g = pt.grad.numpy()
    np.testing.assert_allclose(dpred, g, rtol=1e-5, atol=1e-6 * np.abs(g).max())


@pytest.mark.parametrize("kind", [k for k in ALL_LOSSES if k != MAE])  # MAE: piecewise linear, tested below
def test_loss_gradient_against_finite_differences(kind):
    pred, y = loss_case(kind, 3, 4, seed=5)
    _, dpred = _C.loss(kind, pred, y)
    p64 = pred.astype(np.float64)
    h = 1e-4 if kind in (BCE, CCE, SPARSE_CCE) else 1e-3  # probabilities >= 0.05: h keeps clear of the clip
    fd = np.zeros_like(p64)
    for idx in np.ndindex(p64.shape):
        pp, pm = p64.copy(), p64.copy()
        pp[idx] += h
        pm[idx] -= h
        fd[idx] = (keras_loss_numpy(kind, pp, y) - keras_loss_numpy(kind, pm, y)) / (2 * h)
    # Truncation h^2 |L'''| / 6 with |L'''| <= ~2 / p^3 / (N D) for p >= 0.05 (BCE): ~1e-5 relative.
    np.testing.assert_allclose(dpred, fd, rtol=5e-4, atol=1e-6)


def test_mae_gradient_is_sign_over_count():
    pred = f32([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])
    y = f32([[0.0, 0.0, 2.0], [2.0, -1.0, -3.0]])
    loss, d = _C.loss(MAE, pred, y)
    assert loss == pytest.approx(np.mean(np.abs(pred - y)))
    np.testing.assert_array_equal(d, np.sign(pred - y) / 6)  # 0 where pred == y, as torch's l1_loss


@needs_torch
def test_clipped_probability_losses_follow_keras_formula():
    # Probabilities at and past the clip: Keras clips to [1e-7, 1 - 1e-7] before the log.
    p = f32([[0.0, 1.0, 1e-9, 0.3], [1.0, 1e-7, 1 - 1e-8, 0.7]])
    y = f32([[1.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    loss, d = _C.loss(BCE, p, y)
    assert loss == pytest.approx(keras_loss_numpy(BCE, p, y), rel=1e-6)
    lo, hi = float(np.float32(KERAS_EPSILON)), float(np.float32(1 - KERAS_EPSILON))
    by_hand = -np.array(
        [
            np.log(lo),
            np.log(1 - hi),
            np.log(lo),
            np.log(np.float32(0.3)),
            np.log(hi),
            np.log(1 - lo),
            np.log(1 - hi),
            np.log(1 - np.float32(0.7)),
        ]
    )
    assert loss == pytest.approx(by_hand.mean(), rel=1e-6)
    assert np.all(np.isfinite(d))
    # Where the clip is active (strictly outside the interval), the clamp passes no gradient, as in torch.
    outside = (p < np.float32(KERAS_EPSILON)) | (p > np.float32(1 - KERAS_EPSILON))
    assert np.all(d[outside] == 0)
    pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    torch_loss(BCE, pt, torch.tensor(y, dtype=torch.float64)).backward()
    np.testing.assert_allclose(d, pt.grad.numpy(), rtol=1e-5, atol=1e-6 * np.abs(pt.grad.numpy()).max())

    # CCE: one class with probability 0 (clipped) and a row that is not normalized.
    p = f32([[0.0, 0.5, 0.5], [2.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    y = f32([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss, d = _C.loss(CCE, p, y)
    expected = (-np.log(1e-7) - np.log(0.25) - np.log(np.float32(1 - 1e-7))) / 3
    assert loss == pytest.approx(expected, rel=1e-6)
    assert loss == pytest.approx(keras_loss_numpy(CCE, p, y), rel=1e-6)
    assert np.all(np.isfinite(d))
    loss_s, d_s = _C.loss(SPARSE_CCE, p, f32([[0], [1], [0]]))
    assert loss_s == pytest.approx(loss, rel=1e-7)
    np.testing.assert_allclose(d_s, d, rtol=1e-6, atol=1e-7)
    pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    torch_loss(CCE, pt, torch.tensor(y, dtype=torch.float64)).backward()
    np.testing.assert_allclose(d, pt.grad.numpy(), rtol=1e-5, atol=1e-7)

    # The upper clip: a certain and correct prediction still costs -log(1 - 1e-7) ~ 1.19e-7, not 0.
    for kind, p1, y1 in (
        (CCE, [[1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]]),
        (SPARSE_CCE, [[0.0, 1.0]], [[1.0]]),
        (BCE, [[1.0]], [[1.0]]),
    ):
        loss, _ = _C.loss(kind, f32(p1), f32(y1))
        assert loss == pytest.approx(-math.log(float(np.float32(1 - KERAS_EPSILON))), rel=1e-3), kind


@needs_torch
def test_softmax_cce_with_targets_not_summing_to_one():
    # Keras's categorical_crossentropy(from_logits=True) is -sum(t * log_softmax(z)) for any t, as
    # torch's cross_entropy with probability targets; the gradient is softmax(z) * sum(t) - t,
    # which reduces to softmax(z) - t only for rows that sum to 1.
    z = f32(rng(11).standard_normal((5, 4)) * 2)
    y = f32([[1, 1, 0, 0], [0.5, 0, 0, 0], [0, 0, 0, 0], [2, 0, 1, 0], [0.1, 0.2, 0.3, 0.1]])
    loss, d = _C.loss(SOFTMAX_CCE, z, y)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    expected = F.cross_entropy(zt, torch.tensor(y, dtype=torch.float64))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert np.all(d[2] == 0)  # no target mass, no gradient


@needs_torch
@pytest.mark.parametrize("kind", [SIGMOID_BCE, SOFTMAX_CCE, SOFTMAX_SPARSE_CCE])
def test_fused_losses_with_extreme_logits(kind):
    z = f32([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [3e4, 2e4, -5e4]])
    if kind == SIGMOID_BCE:
        y = f32([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    elif kind == SOFTMAX_CCE:
        y = f32([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    else:
        y = f32([[1], [0], [2]])
    loss, d = _C.loss(kind, z, y)
    assert math.isfinite(loss) and np.all(np.isfinite(d))
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    expected = torch_loss(kind, zt, torch.tensor(y, dtype=torch.float64))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-7)
    assert loss == pytest.approx(keras_loss_numpy(kind, z, y), rel=1e-7)
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("label", [3.0, -1.0, 1.5, np.nan, np.inf, 1e10])
@pytest.mark.parametrize("kind", [SPARSE_CCE, SOFTMAX_SPARSE_CCE])
def test_sparse_loss_rejects_bad_labels(kind, label):
    pred = f32(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError):
        _C.loss(kind, pred, f32([[0.0], [label]]))


@pytest.mark.parametrize("kind", [0, len(_C.LOSSES) + 1, -1])  # none, past the end, negative
def test_loss_rejects_unknown_kind(kind):
    with pytest.raises(ValueError):
        _C.loss(kind, f32(np.ones((2, 3))), f32(np.ones((2, 3))))


# ---------------------------------------------------------------------------
# Metrics


def metric_numpy(kind, pred, y):
    p, t = pred.astype(np.float64), y.astype(np.float64)
    if kind == BINARY_ACC:
        return np.sum(np.mean((p > 0.5).astype(np.float64) == t, axis=-1))
    if kind == CATEGORICAL_ACC:
        return np.sum(np.argmax(p, -1) == np.argmax(t, -1))
    if kind == SPARSE_CATEGORICAL_ACC:
        return np.sum(np.argmax(p, -1) == t[:, 0])
    if kind == METRIC_MSE:
        return np.sum(np.mean((p - t) ** 2, axis=-1))
    return np.sum(np.mean(np.abs(p - t), axis=-1))


@pytest.mark.parametrize("kind", [BINARY_ACC, CATEGORICAL_ACC, SPARSE_CATEGORICAL_ACC, METRIC_MSE, METRIC_MAE])
def test_metric_sum_matches_numpy(kind):
    r = rng(7)
    N, D = 50, 4
    pred = f32(r.uniform(0, 1, (N, D)))
    pred[0] = [0.5, 0.5, 0.2, 0.1]  # threshold: 0.5 is not > 0.5; argmax ties: the first wins
    pred[1] = [0.3, 0.7, 0.7, 0.0]
    if kind == BINARY_ACC:
        y = f32(r.integers(0, 2, (N, D)))
        y[0] = [0, 0, 0, 0]
    elif kind == SPARSE_CATEGORICAL_ACC:
        y = f32(r.integers(0, D, (N, 1)))
        y[0], y[1] = 0, 1
    elif kind == CATEGORICAL_ACC:
        y = f32(np.eye(D)[r.integers(0, D, N)])
        y[0], y[1] = np.eye(D)[0], np.eye(D)[1]
    else:
        y = f32(r.standard_normal((N, D)))
    got = _C.metric_sum(kind, pred, y)
    expected = metric_numpy(kind, pred, y)
    assert got == pytest.approx(expected, rel=1e-6)
    if kind in (BINARY_ACC, CATEGORICAL_ACC, SPARSE_CATEGORICAL_ACC):
        assert 0 < got < N  # neither all right nor all wrong: the comparison is exercised


def test_metric_sum_exact_accuracy_counts():
    pred = f32([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.6, 0.4]])
    assert _C.metric_sum(CATEGORICAL_ACC, pred, f32([[1, 0], [0, 1], [0, 1], [0, 1]])) == 2.0
    assert _C.metric_sum(SPARSE_CATEGORICAL_ACC, pred, f32([[0], [1], [0], [1]])) == 3.0
    assert _C.metric_sum(BINARY_ACC, pred, f32([[1, 0], [0, 1], [0, 0], [1, 1]])) == 3.5


@pytest.mark.parametrize("kind", [0, _C.METRICS["top_k"]])  # none; a kind metric_sum does not take
def test_metric_sum_rejects_unknown_kind(kind):
    with pytest.raises(ValueError):
        _C.metric_sum(kind, f32(np.ones((2, 3))), f32(np.ones((2, 3))))


# ---------------------------------------------------------------------------
# Optimizers


def hyper(lr=0.01, momentum=0.0, nesterov=False, beta_1=0.9, beta_2=0.999, epsilon=1e-7, rho=0.9, centered=False):
    return np.array([lr, momentum, float(nesterov), beta_1, beta_2, epsilon, rho, float(centered)], np.float64)


class KerasNumpy:
    """Keras 3's update_step (keras/src/optimizers/sgd.py, adam.py, rmsprop.py), op for op
    in float32 as Keras computes it for float32 variables."""

    def __init__(self, kind, h, P, alpha_in_float64=False):
        self.kind, self.h = kind, h
        self.alpha_in_float64 = alpha_in_float64
        self.m, self.v, self.u = (np.zeros(P, np.float32) for _ in range(3))
        self.iterations = 0

    def step(self, w, g):
        lr, mom, nest, b1, b2, eps, rho, centered = self.h
        c = np.float32
        lr = c(lr)
        if self.kind == SGD:
            if mom == 0:
                w = w - g * lr
            else:
                self.m = self.m * c(mom) - g * lr
                w = w + (self.m * c(mom) - g * lr if nest else self.m)
        elif self.kind == ADAM:
            if self.alpha_in_float64:  # csrc/optim.c: one rounding of the folded step size
                t = self.iterations + 1
                alpha = c(float(lr) * math.sqrt(1 - b2**t) / (1 - b1**t))
            else:
                t = c(self.iterations + 1)
                alpha = lr * np.sqrt(c(1) - c(b2) ** t) / (c(1) - c(b1) ** t)
            self.m = self.m + (g - self.m) * c(1 - b1)
            self.v = self.v + (g * g - self.v) * c(1 - b2)
            w = w - (self.m * alpha) / (np.sqrt(self.v) + c(eps))
        else:
            self.v = c(rho) * self.v + c(1 - rho) * (g * g)
            if centered:
                self.u = c(rho) * self.u + c(1 - rho) * g
                denominator = self.v - self.u * self.u + c(eps)
            else:
                denominator = self.v + c(eps)
            increment = (lr * g) / np.sqrt(denominator)
            if mom > 0:
                self.m = c(mom) * self.m + increment
                w = w - self.m
            else:
                w = w - increment
        self.iterations += 1
        return w.astype(np.float32)


OPT_CASES = {
    "sgd": (SGD, hyper(lr=0.1)),
    "sgd_momentum": (SGD, hyper(lr=0.05, momentum=0.9)),
    "sgd_nesterov": (SGD, hyper(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (ADAM, hyper(lr=0.01)),
    "adam_betas": (ADAM, hyper(lr=0.003, beta_1=0.5, beta_2=0.9, epsilon=1e-3)),
    "rmsprop": (RMSPROP, hyper(lr=0.01)),
    "rmsprop_momentum": (RMSPROP, hyper(lr=0.01, momentum=0.8, rho=0.8)),
    "rmsprop_centered": (RMSPROP, hyper(lr=0.01, centered=True)),
    "rmsprop_centered_momentum": (RMSPROP, hyper(lr=0.01, momentum=0.5, centered=True, epsilon=1e-5)),
}


def opt_state(P):
    return (np.zeros(P, np.float32), np.zeros(P, np.float32), np.zeros(P, np.float32), np.zeros(1, np.int64))


def grads_sequence(P, steps, seed=0):
    r = rng(seed)
    # Gradients with a persistent direction plus noise, magnitudes spanning 1e-3 .. 1.
    base = r.standard_normal(P) * np.logspace(-3, 0, P)
    return [f32(base + 0.3 * np.abs(base) * r.standard_normal(P)) for _ in range(steps)]


@pytest.mark.parametrize(
    "case,alpha_in_float64",
    [(c, False) for c in sorted(OPT_CASES)] + [(c, True) for c in sorted(OPT_CASES) if OPT_CASES[c][0] == ADAM],
)
def test_optimizer_step_matches_keras_formulas(case, alpha_in_float64):
    kind, h = OPT_CASES[case]
    P, steps = 37, 8
    w0 = f32(rng(1).standard_normal(P))
    w = w0.copy()
    m, v, u, it = opt_state(P)
    ref = KerasNumpy(kind, h, P, alpha_in_float64)
    w_ref = w.copy()
    for g in grads_sequence(P, steps):
        _C.optimizer_step(kind, h, w, g, m, v, u, it)
        w_ref = ref.step(w_ref, g)
    assert it[0] == steps
    # Same float32 operations in the same order: a few ulp of the weights per step.
    rtol, atol = 4 * steps * EPS32, 1e-7
    if kind == ADAM and not alpha_in_float64:
        # Keras evaluates 1 - beta_2**t in float32, where float32(0.999) is off by 1.3e-8: a
        # relative error of 1.3e-5 in 1 - beta_2 at t = 1, 6.4e-6 in alpha. csrc/optim.c folds
        # the corrections in double (one rounding), so each step may differ by 1e-5 of lr.
        atol = steps * h[0] * 1e-5
    np.testing.assert_allclose(w, w_ref, rtol=rtol, atol=atol)
    slot = {SGD: m, ADAM: v, RMSPROP: v}[kind]
    np.testing.assert_allclose(slot, {SGD: ref.m, ADAM: ref.v, RMSPROP: ref.v}[kind], rtol=rtol, atol=1e-12)
    assert np.abs(w - w0).max() > 10 * atol  # it moved by much more than the tolerance


def torch_run(opt_factory, w0, grads, per_step=None):
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = opt_factory([p])
    for t, g in enumerate(grads, start=1):
        if per_step is not None:
            per_step(opt, t)
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def pytrainc_run(kind, h, w0, grads):
    w = w0.copy()
    m, v, u, it = opt_state(w.size)
    for g in grads:
        _C.optimizer_step(kind, h, w, g, m, v, u, it)
    return w


@needs_torch
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_torch(nesterov):
    # Keras's velocity is -lr times torch's momentum buffer, so with a constant lr the
    # two are the same update; only float32 rounding differs.
    P, steps = 50, 20
    w0 = f32(rng(2).standard_normal(P))
    grads = grads_sequence(P, steps, seed=3)
    h = hyper(lr=0.05, momentum=0.9, nesterov=nesterov)
    got = pytrainc_run(SGD, h, w0, grads)
    expected = torch_run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=nesterov), w0, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(got - w0).max() > 0.1


@needs_torch
def test_adam_matches_torch_with_equivalent_epsilon():
    # Keras: w -= alpha m / (sqrt(v) + eps) with alpha = lr sqrt(1 - b2^t) / (1 - b1^t).
    # torch: w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps_t).
    # Multiplying torch's numerator and denominator by sqrt(1 - b2^t) shows they agree
    # exactly when eps_t = eps / sqrt(1 - b2^t), so torch's eps is set per step.
    P, steps, eps = 40, 30, 1e-3  # a large epsilon, so that a wrong placement shows
    w0 = f32(rng(4).standard_normal(P))
    grads = grads_sequence(P, steps, seed=5)
    h = hyper(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=eps)
    got = pytrainc_run(ADAM, h, w0, grads)

    def set_eps(opt, t):
        opt.param_groups[0]["eps"] = eps / math.sqrt(1 - 0.999**t)

    expected = torch_run(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=eps), w0, grads, set_eps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # With torch's constant eps the runs differ measurably: the comparison above is sensitive.
    naive = torch_run(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=eps), w0, grads)
    assert np.abs(naive - got).max() > 1e-4


@needs_torch
def test_adam_matches_torch_with_tiny_epsilon():
    # With eps = 1e-12 both placements are negligible next to sqrt(v) >= ~1e-3.
    P, steps = 40, 30
    w0 = f32(rng(6).standard_normal(P))
    grads = grads_sequence(P, steps, seed=7)
    got = pytrainc_run(ADAM, hyper(lr=0.01, epsilon=1e-12), w0, grads)
    expected = torch_run(lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-12), w0, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.7, False), (0.0, True), (0.7, True)])
def test_rmsprop_matches_torch_with_tiny_epsilon(momentum, centered):
    # Keras divides by sqrt(v + eps), torch by sqrt(v) + eps; with eps ~1e-14 (Keras) and
    # 1e-12 (torch) both are far below sqrt(v) >= ~1e-3 here. Keras's momentum buffer is
    # lr times torch's, the same update for a constant lr. torch's alpha is Keras's rho.
    P, steps = 40, 25
    w0 = f32(rng(8).standard_normal(P))
    grads = grads_sequence(P, steps, seed=9)
    got = pytrainc_run(RMSPROP, hyper(lr=0.01, momentum=momentum, rho=0.9, epsilon=1e-14, centered=centered), w0, grads)
    expected = torch_run(
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-12, momentum=momentum, centered=centered),
        w0,
        grads,
    )
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    assert np.abs(got - w0).max() > 0.05


def test_optimizer_step_updates_state_in_place():
    P = 5
    w, g = f32(np.ones(P)), f32(np.arange(P))
    m, v, u, it = opt_state(P)
    it[0] = 41
    _C.optimizer_step(ADAM, hyper(lr=0.1), w, g, m, v, u, it)
    assert it[0] == 42
    np.testing.assert_allclose(m, 0.1 * np.arange(P), rtol=1e-6)
    np.testing.assert_allclose(v, 0.001 * np.arange(P) ** 2, rtol=1e-5)
    assert w[0] == 1.0 and np.all(w[1:] < 1.0)  # a zero gradient leaves its weight alone


# ---------------------------------------------------------------------------
# RNG

MASK64 = 2**64 - 1


def splitmix64_py(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256ss:
    """Blackman and Vigna's reference xoshiro256** (https://prng.di.unimi.it/xoshiro256starstar.c),
    seeded with splitmix64 as csrc/rng.c documents."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed, z = splitmix64_py(seed)
            self.s.append(z)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result


def seeded(seed):
    state = np.zeros(4, np.uint64)
    _C.rng_seed(state, seed)
    return state


def fill(state, n, dist, a, b):
    out = np.empty(n, np.float32)
    _C.rng_fill(state, out, dist, a, b)
    return out


@pytest.mark.parametrize("seed", [0, 42, 2**64 - 1])
def test_rng_matches_reference_xoshiro256starstar(seed):
    ref = Xoshiro256ss(seed)
    state = seeded(seed)
    assert [int(w) for w in state] == ref.s
    expected = np.array([(ref.next() >> 40) * 2.0**-24 for _ in range(64)], np.float32)
    np.testing.assert_array_equal(fill(state, 64, 0, 0.0, 1.0), expected)
    assert [int(w) for w in state] == ref.s  # the state advanced exactly 64 steps
    # Box-Muller over two 53-bit uniforms per draw, as csrc/rng.c documents.
    out = fill(state, 16, 1, 0.0, 1.0)
    z = []
    for _ in range(16):
        u1 = 1.0 - (ref.next() >> 11) * 2.0**-53
        u2 = (ref.next() >> 11) * 2.0**-53
        z.append(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2))
    np.testing.assert_allclose(out, np.array(z, np.float32), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dist", [0, 1, 2])
def test_rng_same_seed_same_stream(dist):
    a, b = seeded(123), seeded(123)
    x1, x2 = fill(a, 1000, dist, -1.0, 2.0), fill(b, 1000, dist, -1.0, 2.0)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fill(a, 1000, dist, -1.0, 2.0), x1)  # the state advances
    assert not np.array_equal(fill(seeded(124), 1000, dist, -1.0, 2.0), x1)


def test_rng_fill_covers_any_contiguous_shape():
    out = np.full((3, 4, 5), np.nan, np.float32)
    _C.rng_fill(seeded(1), out, 0, 0.0, 1.0)
    assert np.all((out >= 0) & (out < 1))
    np.testing.assert_array_equal(out.reshape(-1), fill(seeded(1), 60, 0, 0.0, 1.0))


N_MOMENTS = 200_000
Z = 5.0  # bounds of 5 standard errors: a correct generator fails one with probability < 1e-6


def _check_moments(x, mean, var, kurtosis):
    """Sample mean and variance within Z standard errors: SE(mean) = sqrt(var / n),
    SE(variance) = var sqrt((kurtosis - 1) / n)."""
    n = x.size
    x = x.astype(np.float64)
    assert abs(x.mean() - mean) < Z * math.sqrt(var / n), (x.mean(), mean)
    assert abs(x.var() - var) < Z * var * math.sqrt((kurtosis - 1) / n), (x.var(), var)


def _ks_statistic(x, cdf):
    x = np.sort(x.astype(np.float64))
    c = cdf(x)
    n = x.size
    return max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))


def _normal_cdf(x):
    return 0.5 * (1.0 + np.frompyfunc(math.erf, 1, 1)(x / math.sqrt(2)).astype(np.float64))


KS_CRIT = 1.95  # sqrt(n) * D exceeds 1.95 with probability ~1e-3 for a correct sampler (Kolmogorov)


def test_rng_uniform_moments_and_range():
    a, b = -0.5, 2.5
    x = fill(seeded(7), N_MOMENTS, 0, a, b)
    assert x.min() >= a and x.max() < b
    _check_moments(x, (a + b) / 2, (b - a) ** 2 / 12, kurtosis=1.8)
    sub = x[:20_000]
    assert math.sqrt(sub.size) * _ks_statistic(sub, lambda t: (t - a) / (b - a)) < KS_CRIT


def test_rng_normal_moments():
    mean, std = 1.5, 0.25
    x = fill(seeded(8), N_MOMENTS, 1, mean, std)
    _check_moments(x, mean, std**2, kurtosis=3.0)
    sub = x[:20_000]
    assert math.sqrt(sub.size) * _ks_statistic(sub, lambda t: _normal_cdf((t - mean) / std)) < KS_CRIT


def test_rng_truncated_normal_moments_and_bounds():
    mean, std = -1.0, 0.5
    x = fill(seeded(9), N_MOMENTS, 2, mean, std)
    assert np.all(np.abs(x.astype(np.float64) - mean) <= 2 * std * (1 + 1e-6))
    # Standard normal truncated to [-2, 2]: variance 1 - 2*2*phi(2) / (2*Phi(2) - 1), and
    # kurtosis (E z^4 / var^2) = (3 - 2*(2^3 + 3*2) phi(2) / (2 Phi(2) - 1)) / var^2.
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    var = 1 - 4 * phi2 / mass
    kurt = (3 - 2 * (8 + 6) * phi2 / mass) / var**2
    _check_moments(x, mean, var * std**2, kurtosis=kurt)
    sub = x[:20_000]
    p_lo = _normal_cdf(np.array([-2.0]))[0]

    def cdf(t):
        return (_normal_cdf((t - mean) / std) - p_lo) / mass

    assert math.sqrt(sub.size) * _ks_statistic(sub, cdf) < KS_CRIT


def _state_whose_next_output_is(x):
    """A state whose next xoshiro256** output is x: invert rotl(s1 * 5, 7) * 9 for s1."""
    y = (x * pow(9, -1, 2**64)) & MASK64
    y = ((y >> 7) | (y << 57)) & MASK64
    s1 = (y * pow(5, -1, 2**64)) & MASK64
    return np.array([0x1234, s1, 0x5678, 0x9ABC], np.uint64)


@pytest.mark.parametrize(
    "a,b", [(0.0, 1.0), (-1.0, 1.0), (1.0, 2.0), (0.5, 1.5), (10.0, 11.0), (-3.0, -2.0), (-0.05, 0.05)]
)
def test_rng_uniform_never_returns_the_upper_bound(a, b):
    # The largest uniform, 1 - 2**-24, comes from an output with its top 24 bits set. A state
    # that produces it is built directly, so the edge case is tested deterministically.
    out = np.empty(1, np.float32)
    _C.rng_fill(_state_whose_next_output_is(MASK64), out, 0, a, b)
    assert a <= out[0] < np.float32(b), f"uniform [{a}, {b}) returned {out[0]!r}"
    _C.rng_fill(_state_whose_next_output_is(0), out, 0, a, b)
    assert out[0] == np.float32(a)


def test_rng_fill_rejects_an_all_zero_state():
    # xoshiro256** never leaves the all-zero state: every draw would be 0 (uniform(a, b) == a
    # forever). Only rng_seed may receive such a state, since it overwrites it.
    with pytest.raises(ValueError, match="(?i)zero|seed"):
        _C.rng_fill(np.zeros(4, np.uint64), np.empty(3, np.float32), 0, 0.0, 1.0)


def test_permutation_with_an_all_zero_state_raises_instead_of_hanging():
    # With the state stuck at 0, the rejection loop of ptc_rng_below (Lemire) never ends for
    # n >= 3, with the GIL held: Ctrl-C cannot stop it. Run it in a subprocess with a deadline.
    script = (
        "import numpy as np\nfrom pytrainc import _C\ntry:\n"
        "    _C.permutation(np.zeros(4, np.uint64), 3)\nexcept ValueError:\n    print('ValueError')\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=15, cwd=tempfile.gettempdir()
        )  # not the repo root: it would shadow the installed package
    except subprocess.TimeoutExpired:
        pytest.fail("_C.permutation(all-zero state, 3) did not return within 15 s: an endless loop")
    assert out.stdout.strip() == "ValueError", (out.stdout, out.stderr)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_permutation_is_a_permutation(n):
    state = seeded(11)
    p = _C.permutation(state, n)
    assert p.dtype == np.int64 and p.shape == (n,)
    np.testing.assert_array_equal(np.sort(p), np.arange(n))
    np.testing.assert_array_equal(_C.permutation(seeded(11), n), p)
    if n >= 7:
        assert not np.array_equal(p, np.arange(n))
        assert not np.array_equal(_C.permutation(state, n), p)


def test_permutation_is_uniform():
    # 6000 permutations of 3 items: each of the 6 orders ~ Binomial(6000, 1/6). Pearson's
    # chi-square with 5 degrees of freedom exceeds 25.7 with probability 1e-4.
    state = seeded(12)
    counts = {}
    for _ in range(6000):
        key = tuple(_C.permutation(state, 3))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert chi2 < 25.7, counts
    # Position of item 0 in permutations of 10: uniform over the 10 slots (9 dof: 33.7 at 1e-4).
    pos = np.array([np.argmax(_C.permutation(state, 10) == 0) for _ in range(5000)])
    c = np.bincount(pos, minlength=10)
    assert np.sum((c - 500) ** 2 / 500) < 33.7, c


# ---------------------------------------------------------------------------
# Bad arguments: TypeError or ValueError, never a crash

X = f32(np.ones((4, 3)))
W = f32(np.ones((3, 2)))
B = f32(np.ones(2))
D2 = f32(np.ones((4, 2)))
P5 = f32(np.ones(5))
Z5 = f32(np.zeros(5))
IT = np.zeros(1, np.int64)
H = hyper()
ST = seeded(1)


def _ro(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _noncontig(a):
    big = np.repeat(a, 2, axis=-1)
    return big[..., ::2]


TE, VE = TypeError, ValueError


def _opt(kind, h=H, params=None, grads=P5, m=None, v=None, u=None, it=None):
    """Arguments of optimizer_step with fresh valid defaults, one of them replaced."""
    return (
        kind,
        h,
        P5.copy() if params is None else params,
        grads,
        Z5.copy() if m is None else m,
        Z5.copy() if v is None else v,
        Z5.copy() if u is None else u,
        IT.copy() if it is None else it,
    )


# name: (function, arguments, exception, pattern its message must match: the reason, not just any error)
BAD_CALLS = {
    "dense_forward float64 inp": (_C.dense_forward, lambda: (X.astype(np.float64), W, B, False), TE, "inp.*dtype"),
    "dense_forward list inp": (_C.dense_forward, lambda: (X.tolist(), W, B, False), TE, "inp.*numpy array"),
    "dense_forward non-contiguous inp": (_C.dense_forward, lambda: (_noncontig(X), W, B, False), VE, "inp.*contiguous"),
    "dense_forward transposed weight": (
        _C.dense_forward,
        lambda: (X, f32(np.ones((2, 3))).T, B, False),
        VE,
        "weight.*contiguous",
    ),
    "dense_forward 1-d inp": (_C.dense_forward, lambda: (X[0].copy(), W, B, False), VE, "inp.*dimension"),
    "dense_forward IN mismatch": (
        _C.dense_forward,
        lambda: (X, f32(np.ones((4, 2))), B, False),
        VE,
        r"weight.*\(IN, OUT\)",
    ),
    "dense_forward bias size": (_C.dense_forward, lambda: (X, W, f32(np.ones(3)), False), VE, r"bias.*\(OUT,\)"),
    "dense_forward bias 2-d": (_C.dense_forward, lambda: (X, W, f32(np.ones((1, 2))), False), VE, "bias.*dimension"),
    "dense_forward bias int": (_C.dense_forward, lambda: (X, W, np.ones(2, np.int32), False), TE, "bias.*dtype"),
    "dense_forward missing arg": (_C.dense_forward, lambda: (X, W, B), TE, "argument"),
    "dense_backward dout shape": (_C.dense_backward, lambda: (f32(np.ones((4, 3))), X, W, False), VE, "shape"),
    "dense_backward N mismatch": (_C.dense_backward, lambda: (f32(np.ones((5, 2))), X, W, False), VE, "shape"),
    "dense_backward float16": (_C.dense_backward, lambda: (D2.astype(np.float16), X, W, False), TE, "dout.*dtype"),
    "dense_backward non-contiguous": (_C.dense_backward, lambda: (_noncontig(D2), X, W, False), VE, "dout.*contiguous"),
    "act_forward unknown kind": (_C.act_forward, lambda: (99, X), VE, "activation kind 99"),
    "act_forward negative kind": (_C.act_forward, lambda: (-1, X), VE, "activation kind -1"),
    "act_forward 3-d": (_C.act_forward, lambda: (1, f32(np.ones((2, 2, 2)))), VE, "x.*dimension"),
    "act_forward float64": (_C.act_forward, lambda: (1, X.astype(np.float64)), TE, "x.*dtype"),
    "act_forward non-contiguous": (_C.act_forward, lambda: (4, X.T), VE, "x.*contiguous"),
    "act_backward shape mismatch": (_C.act_backward, lambda: (2, X, X, D2), VE, "same shape"),
    "act_backward unknown kind": (_C.act_backward, lambda: (99, X, X, X), VE, "activation kind 99"),
    "act_backward int": (_C.act_backward, lambda: (2, X.astype(np.int32), X, X), TE, "dout.*dtype"),
    "loss y shape": (_C.loss, lambda: (MSE, X, D2), VE, "y.*shape"),
    "loss sparse y width": (_C.loss, lambda: (SPARSE_CCE, X, X), VE, "y.*shape"),
    "loss dense y for sparse": (_C.loss, lambda: (CCE, X, f32(np.zeros((4, 1)))), VE, "y.*shape"),
    "loss float64": (_C.loss, lambda: (MSE, X.astype(np.float64), X), TE, "pred.*dtype"),
    "loss non-contiguous": (_C.loss, lambda: (MSE, _noncontig(X), X), VE, "pred.*contiguous"),
    "loss empty batch": (_C.loss, lambda: (MSE, f32(np.ones((0, 3))), f32(np.ones((0, 3)))), VE, "loss"),
    "loss kind string": (_C.loss, lambda: ("mse", X, X), TE, "integer"),
    "metric y shape": (_C.metric_sum, lambda: (METRIC_MSE, X, D2), VE, "y shape"),
    "metric sparse y width": (_C.metric_sum, lambda: (SPARSE_CATEGORICAL_ACC, X, X), VE, "y shape"),
    "metric float64": (_C.metric_sum, lambda: (METRIC_MAE, X, X.astype(np.float64)), TE, "y.*dtype"),
    "opt unknown kind": (_C.optimizer_step, lambda: _opt(99), VE, "optimizer kind 99"),
    "opt hyper length": (_C.optimizer_step, lambda: _opt(ADAM, h=H[:7].copy()), VE, "hyper.*8"),
    "opt hyper float32": (_C.optimizer_step, lambda: _opt(ADAM, h=H.astype(np.float32)), TE, "hyper.*dtype"),
    "opt grads length": (_C.optimizer_step, lambda: _opt(SGD, grads=f32(np.ones(4))), VE, "same length"),
    "opt adam m too short": (_C.optimizer_step, lambda: _opt(ADAM, m=f32(np.zeros(4))), VE, "5 floats"),
    "opt adam v empty": (_C.optimizer_step, lambda: _opt(ADAM, v=f32(np.zeros(0))), VE, "5 floats"),
    "opt centered u empty": (
        _C.optimizer_step,
        lambda: _opt(RMSPROP, h=hyper(centered=True), u=f32(np.zeros(0))),
        VE,
        "5 floats",
    ),
    "opt momentum m empty": (
        _C.optimizer_step,
        lambda: _opt(SGD, h=hyper(momentum=0.9), m=f32(np.zeros(0))),
        VE,
        "5 floats",
    ),
    "opt iterations int32": (_C.optimizer_step, lambda: _opt(SGD, it=np.zeros(1, np.int32)), TE, "iterations.*dtype"),
    "opt iterations shape": (_C.optimizer_step, lambda: _opt(SGD, it=np.zeros(2, np.int64)), VE, "counter"),
    "opt read-only params": (_C.optimizer_step, lambda: _opt(SGD, params=_ro(P5)), VE, "params.*writeable"),
    "opt read-only m": (_C.optimizer_step, lambda: _opt(ADAM, m=_ro(Z5)), VE, "m must be writeable"),
    "opt non-contiguous params": (
        _C.optimizer_step,
        lambda: _opt(SGD, params=_noncontig(P5)),
        VE,
        "params.*contiguous",
    ),
    "opt 2-d params": (_C.optimizer_step, lambda: _opt(SGD, params=f32(np.ones((5, 1)))), VE, "params.*dimension"),
    "rng_seed short state": (_C.rng_seed, lambda: (np.zeros(3, np.uint64), 1), VE, "4 uint64"),
    "rng_seed int64 state": (_C.rng_seed, lambda: (np.zeros(4, np.int64), 1), TE, "state.*dtype"),
    "rng_seed read-only state": (_C.rng_seed, lambda: (_ro(np.zeros(4, np.uint64)), 1), VE, "state.*writeable"),
    "rng_seed float seed": (_C.rng_seed, lambda: (np.zeros(4, np.uint64), 1.5), TE, "int"),
    "rng_fill float64 out": (_C.rng_fill, lambda: (ST.copy(), np.zeros(3), 0, 0.0, 1.0), TE, "out.*dtype"),
    "rng_fill read-only out": (
        _C.rng_fill,
        lambda: (ST.copy(), _ro(np.zeros(3, np.float32)), 0, 0.0, 1.0),
        VE,
        "out.*writeable",
    ),
    "rng_fill non-contiguous out": (
        _C.rng_fill,
        lambda: (ST.copy(), np.zeros((3, 4), np.float32)[:, ::2], 0, 0.0, 1.0),
        VE,
        "out.*contiguous",
    ),
    "rng_fill unknown dist": (
        _C.rng_fill,
        lambda: (ST.copy(), np.zeros(3, np.float32), 3, 0.0, 1.0),
        VE,
        "distribution 3",
    ),
    "rng_fill 2-d state": (
        _C.rng_fill,
        lambda: (np.zeros((2, 2), np.uint64), np.zeros(3, np.float32), 0, 0.0, 1.0),
        VE,
        "state.*dimension",
    ),
    "permutation negative n": (_C.permutation, lambda: (ST.copy(), -1), VE, "non-negative"),
    "permutation bad state": (_C.permutation, lambda: (np.zeros(5, np.uint64), 3), VE, "4 uint64"),
    "permutation float n": (_C.permutation, lambda: (ST.copy(), 3.0), TE, "integer"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_arguments_raise(name):
    fn, args, exc, pattern = BAD_CALLS[name]
    with pytest.raises(exc, match=pattern):
        fn(*args())


def test_bad_arguments_leave_outputs_untouched():
    # A rejected optimizer call must not have written anything.
    w, m, v, u, it = P5.copy(), Z5.copy(), f32(np.zeros(4)), Z5.copy(), IT.copy()
    with pytest.raises(ValueError):
        _C.optimizer_step(ADAM, H, w, P5, m, v, u, it)
    assert np.all(w == 1) and np.all(m == 0) and it[0] == 0
    state = ST.copy()
    with pytest.raises(ValueError):
        _C.rng_fill(state, np.zeros(3, np.float32), 9, 0.0, 1.0)
    np.testing.assert_array_equal(state, ST)


def test_error_messages_name_the_problem():
    with pytest.raises(TypeError, match=r"inp must have dtype float32. Received: dtype=float64"):
        _C.dense_forward(X.astype(np.float64), W, None, False)
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.act_forward(RELU, X.T)
    with pytest.raises(ValueError, match=f"unknown activation kind {len(_C.ACTIVATIONS)}"):
        _C.act_forward(len(_C.ACTIVATIONS), X)  # one past the last kind
    with pytest.raises(ValueError, match="wrong shape"):
        _C.loss(MSE, X, D2)
