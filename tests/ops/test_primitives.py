"""Primitive ops (csrc/prim.c) against torch.autograd on random shapes: broadcasting between
per-sample tensors and weights, reductions over several axes, batched matmul, transposes.

Each case runs the op on N samples through `_C.run_op` with a random output gradient G and
compares the output and the gradients of every operand with torch's (float64) for sum(out * G).
Tolerances: float32 kernels against a float64 reference, values of order 1: 1e-5 relative + 1e-5.
"""

import numpy as np
import pytest
import torch

from pytrainc import _C
from pytrainc.ops._trace import dims_args, mask_of
from pytrainc.testing import run_op

N = 3
TOL = dict(rtol=1e-5, atol=1e-5)


def random_broadcast_pair(r):
    """Two right-aligned shapes (rank <= 4 per sample) that broadcast, with some axes of extent 1."""
    rank = int(r.integers(1, 5))
    out = tuple(int(d) for d in r.integers(2, 4, rank))
    a = tuple(1 if r.random() < 0.3 else d for d in out)
    b = tuple(1 if r.random() < 0.4 else d for d in out)[int(r.integers(0, rank)) :]
    return np.broadcast_shapes(a, b), a, b


def torch_grads(fn, *arrays):
    ts = [torch.tensor(np.asarray(x, np.float64), requires_grad=True) for x in arrays]
    out = fn(*ts)
    G = torch.tensor(np.random.default_rng(7).normal(size=out.shape))
    (out * G).sum().backward()
    return out.detach().numpy(), G.numpy(), [t.grad.numpy() for t in ts]


BINARY = {
    "add": torch.add,
    "subtract": torch.sub,
    "multiply": torch.mul,
    "divide": torch.div,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "power": torch.pow,
}


@pytest.mark.parametrize("kind", sorted(BINARY))
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("b_is_weight", [False, True])
def test_binary_broadcasting_matches_torch(kind, seed, b_is_weight):
    r = np.random.default_rng(seed)
    out, sa, sb = random_broadcast_pair(r)
    a = r.normal(size=(N,) + sa)
    b = r.normal(size=sb if b_is_weight else (N,) + (1,) * (len(out) - len(sb)) + sb)
    if kind in ("divide", "power"):
        a, b = np.abs(a) + 0.5, np.abs(b) + 0.5  # away from poles and negative bases
    ref, G, (ga, gb) = torch_grads(BINARY[kind], a, b)
    args = dict(kind=_C.BINARY_KINDS[kind], **dims_args(out), mask_a=mask_of(sa, 0), mask_b=mask_of(sb, 0))
    ins = [a.reshape(N, -1)] + ([] if b_is_weight else [b.reshape(N, -1)])
    params = {"lhs": None, "rhs": b if b_is_weight else None}
    got, dins, dparams = run_op("binary", ins, int(np.prod(out)), params, dout=G.reshape(N, -1), **args)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[0].reshape(a.shape), ga, **TOL)
    db = dparams["rhs"] if b_is_weight else dins[1].reshape(b.shape)
    np.testing.assert_allclose(db, gb, rtol=1e-5, atol=1e-4)  # a weight's gradient sums N * broadcast terms


def test_binary_with_the_weight_first():
    r = np.random.default_rng(1)
    w, x = r.normal(size=(4,)), r.normal(size=(N, 2, 4))
    ref, G, (gw, gx) = torch_grads(torch.sub, w, x)
    args = dict(kind=_C.BINARY_KINDS["subtract"], **dims_args((2, 4)), mask_a=mask_of((4,), 0), mask_b=0)
    got, dins, dparams = run_op("binary", [x.reshape(N, -1)], 8, {"lhs": w, "rhs": None}, G.reshape(N, -1), **args)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[0].reshape(x.shape), gx, **TOL)
    np.testing.assert_allclose(dparams["lhs"], gw, **TOL)


UNARY = {
    "neg": (torch.neg, None),
    "exp": (torch.exp, None),
    "log": (torch.log, "positive"),
    "log1p": (torch.log1p, "positive"),
    "sqrt": (torch.sqrt, "positive"),
    "rsqrt": (torch.rsqrt, "positive"),
    "square": (torch.square, None),
    "abs": (torch.abs, None),
    "reciprocal": (torch.reciprocal, "positive"),
    "add_scalar": (lambda x: x + 0.7, None),
    "mul_scalar": (lambda x: x * 0.7, None),
    "div_scalar": (lambda x: x / 0.7, None),
    "rsub_scalar": (lambda x: 0.7 - x, None),
    "rdiv_scalar": (lambda x: 0.7 / x, "positive"),
    "pow_scalar": (lambda x: x**0.7, "positive"),
    "rpow_scalar": (lambda x: 0.7**x, None),
    "clip": (lambda x: torch.clip(x, -0.5, 0.7), None),
}


@pytest.mark.parametrize("kind", sorted(UNARY))
def test_unary_matches_torch(kind):
    fn, domain = UNARY[kind]
    x = np.random.default_rng(2).normal(size=(N, 2, 5))
    if domain == "positive":
        x = np.abs(x) + 0.5
    ref, G, (gx,) = torch_grads(fn, x)
    beta = 0.7 if kind == "clip" else 0.0
    alpha = -0.5 if kind == "clip" else 0.7
    got, dins, _ = run_op(
        "unary", [x.reshape(N, -1)], 10, dout=G.reshape(N, -1), kind=_C.UNARY_KINDS[kind], alpha=alpha, beta=beta
    )
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[0].reshape(x.shape), gx, **TOL)


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("seed", range(4))
def test_reduce_over_several_axes_matches_torch(kind, seed):
    r = np.random.default_rng(seed)
    rank = int(r.integers(1, 6))
    dims = tuple(int(d) for d in r.integers(1, 4, rank))
    axes = tuple(j for j in range(rank) if r.random() < 0.5) or (rank - 1,)
    x = r.normal(size=(N,) + dims)
    torch_axes = tuple(a + 1 for a in axes)
    fns = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}
    ref, G, (gx,) = torch_grads(lambda t: fns[kind](t, dim=torch_axes), x)
    pad = 5 - rank
    mask = sum(1 << (pad + a) for a in axes)
    out_size = int(np.prod([d for j, d in enumerate(dims) if j not in axes]))
    got, dins, _ = run_op(
        "reduce",
        [x.reshape(N, -1)],
        out_size,
        dout=G.reshape(N, -1),
        kind=_C.REDUCE_KINDS[kind],
        **dims_args(dims),
        axes=mask,
    )
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[0].reshape(x.shape), gx, **TOL)


def test_reduce_max_splits_ties_as_torch_amax():
    x = np.array([[1.0, 3.0, 3.0, 2.0]])
    ref, G, (gx,) = torch_grads(lambda t: torch.amax(t, dim=1), x)
    got, dins, _ = run_op(
        "reduce", [x], 1, dout=G.reshape(1, 1), kind=_C.REDUCE_KINDS["max"], **dims_args((4,)), axes=1 << 4
    )
    np.testing.assert_allclose(dins[0], gx, **TOL)
    assert dins[0][0, 1] == dins[0][0, 2] != 0


@pytest.mark.parametrize(
    "a_shape, b_shape, a_weight, b_weight",
    [
        ((2, 3, 4), (4, 5), False, True),  # a stack of rows against one weight: one sgemm
        ((2, 3, 4), (2, 4, 5), False, False),  # batched per sample
        ((3, 4), (2, 4, 5), True, False),  # a weight against a per-sample stack
        ((2, 3, 4), (2, 4, 5), False, True),  # a stack of weights
        ((1, 3, 4), (2, 4, 5), False, False),  # a broadcast over the stack
    ],
)
def test_matmul_matches_torch(a_shape, b_shape, a_weight, b_weight):
    r = np.random.default_rng(3)
    a = r.normal(size=a_shape if a_weight else (N,) + a_shape)
    b = r.normal(size=b_shape if b_weight else (N,) + b_shape)
    ref, G, (ga, gb) = torch_grads(torch.matmul, a, b)
    batch_a = a_shape[:-2] if len(a_shape) > 2 else ()
    batch_b = b_shape[:-2] if len(b_shape) > 2 else ()
    batch = int(np.prod(np.broadcast_shapes(batch_a, batch_b)))
    M, K, C = a_shape[-2], a_shape[-1], b_shape[-1]
    args = dict(
        batch=batch,
        m=M,
        k=K,
        cols=C,
        bcast_a=int(np.prod(batch_a, dtype=int) == 1 and batch > 1),
        per_batch_a=0,
        per_batch_b=0,
        bcast_b=int(np.prod(batch_b, dtype=int) == 1 and batch > 1),
    )
    ins = ([] if a_weight else [a.reshape(N, -1)]) + ([] if b_weight else [b.reshape(N, -1)])
    params = {"lhs": a if a_weight else None, "rhs": b if b_weight else None}
    got, dins, dparams = run_op("matmul", ins, batch * M * C, params, G.reshape(N, -1), **args)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    grads = iter(dins)
    da = dparams["lhs"] if a_weight else next(grads).reshape(a.shape)
    db = dparams["rhs"] if b_weight else next(grads).reshape(b.shape)
    np.testing.assert_allclose(da, ga, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(db, gb, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_transpose_matches_torch(seed):
    r = np.random.default_rng(seed)
    rank = int(r.integers(2, 6))
    dims = tuple(int(d) for d in r.integers(1, 4, rank))
    perm = tuple(int(p) for p in r.permutation(rank))
    x = r.normal(size=(N,) + dims)
    ref, G, (gx,) = torch_grads(lambda t: t.permute(0, *[p + 1 for p in perm]), x)
    pad = 5 - rank
    P = list(range(pad)) + [pad + p for p in perm]
    args = {**dims_args(dims), **{f"p{j + 1}": p for j, p in enumerate(P)}}
    got, dins, _ = run_op("transpose", [x.reshape(N, -1)], x[0].size, dout=G.reshape(N, -1), **args)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[0].reshape(x.shape), gx, **TOL)


@pytest.mark.parametrize("seed", range(4))
def test_where_broadcasting_matches_torch(seed):
    r = np.random.default_rng(seed)
    out, sa, sb = random_broadcast_pair(r)
    sc = tuple(1 if r.random() < 0.5 else d for d in out)
    c, a = (r.random(size=(N,) + sc) > 0.5).astype(float), r.normal(size=(N,) + sa)
    b = r.normal(size=sb)  # a weight
    ref, G, (ga, gb) = torch_grads(lambda x, y: torch.where(torch.tensor(c) != 0, x, y), a, b)
    args = dict(**dims_args(out), mask_c=mask_of(sc, 0), mask_a=mask_of(sa, 0), mask_b=mask_of(sb, 0))
    ins = [c.reshape(N, -1), a.reshape(N, -1)]
    got, dins, dparams = run_op("where", ins, int(np.prod(out)), {"rhs": b}, G.reshape(N, -1), **args)
    np.testing.assert_allclose(got.reshape(ref.shape), ref, **TOL)
    np.testing.assert_allclose(dins[1].reshape(a.shape), ga, **TOL)
    np.testing.assert_allclose(dparams["rhs"], gb, rtol=1e-5, atol=1e-4)
    assert not dins[0].any()  # no gradient to the condition


def test_comparisons_pass_no_gradient():
    a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 2.0, 2.0]])
    args = dict(kind=_C.BINARY_KINDS["greater"], **dims_args((3,)), mask_a=0, mask_b=0)
    out, dins, _ = run_op("binary", [a, b], 3, dout=np.ones((1, 3)), **args)
    assert out.tolist() == [[0.0, 0.0, 1.0]]
    assert not dins[0].any() and not dins[1].any()


def test_malformed_primitives_are_refused():
    with pytest.raises(ValueError, match="malformed|op"):
        run_op("binary", [np.ones((1, 6))], 6, kind=_C.BINARY_KINDS["add"], **dims_args((2, 3)), mask_a=0, mask_b=0)
    with pytest.raises(ValueError, match="malformed|op"):
        run_op("transpose", [np.ones((1, 6))], 6, **dims_args((2, 3)), p1=0, p2=0, p3=2, p4=3, p5=4)
    with pytest.raises(ValueError, match="malformed|op"):
        run_op(
            "matmul",
            [np.ones((1, 6))],
            4,
            {"rhs": np.ones((3, 2))},
            batch=1,
            m=2,
            k=2,
            cols=2,
            bcast_a=0,
            per_batch_a=0,
            per_batch_b=0,
            bcast_b=1,
        )
