"""Tier 1: the Conv2D, pooling and batch-normalization kernels of csrc/kernels2d.h.

Each kernel is checked against independent references: the naive C kernel next
to it (conv), PyTorch (forward values and autograd gradients, with the NHWC
tensors permuted to NCHW, the (KH, KW, C, F) kernel to (F, C, KH, KW), and
TF/Keras's asymmetric 'same' padding made explicit with F.pad), central finite
differences through the kernel's own forward, and Keras 3's formulas written
out in NumPy (the batch-normalization moving statistics).

Tolerances. Against PyTorch the checks use 1e-4 relative to the data's scale:
both sides compute float32 sums of the same terms in different orders, and
for the sums here (at most a few hundred terms of unit-scale data, or a few
thousand for weight gradients) the worst-case rounding bound gamma_n
(Higham) times the sum of absolute terms stays below 1e-4 of the result's
scale by a factor of ~5 or more, while an indexing mistake (a padding offset, a
stride, a transposed kernel) changes results by O(1). Against the naive kernel
the bound gamma_n * (sum of |terms|) itself is asserted, computed elementwise
by running the naive kernel on absolute values.

Backward bindings accumulate into the arrays they are given, as the kernels
do (the caller zeroes); None stands for a gradient that is not wanted (NULL).
"""

import math

import numpy as np
import pytest

from pytrainc import _C
from pytrainc.testing import f32, gamma, rng, run_op

torch = pytest.importorskip("torch")
F = torch.nn.functional

WORK_FLOATS = 1 << 21  # PTC_CONV_WORK_FLOATS in csrc/kernels2d.h


def out_size(size, k, stride, dilation, padding):
    """Keras/TF output size and padding before, for padding 'valid' or 'same'
    ('same' puts the odd extra cell after, as TF does)."""
    eff = dilation * (k - 1) + 1
    if padding == "valid":
        return (size - eff) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


def pad_after(size, out, k, stride, dilation, before):
    """Padding after the last cell that makes a plain (unpadded) torch window op
    produce exactly `out` outputs."""
    return max((out - 1) * stride + dilation * (k - 1) + 1 - size - before, 0)


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


# ---------------------------------------------------------------------------
# Conv2D

# (N, H, W, C, KH, KW, F, strides, dilation, padding)
CONV_CASES = [
    (2, 32, 32, 3, 3, 3, 8, (1, 1), (1, 1), "valid"),  # the seed CNN's layer (fewer filters)
    (2, 7, 6, 3, 3, 3, 4, (1, 1), (1, 1), "same"),
    (2, 8, 9, 2, 4, 2, 5, (2, 2), (1, 1), "same"),  # even kernel and stride: asymmetric padding
    (3, 9, 11, 4, 3, 2, 3, (2, 3), (1, 1), "valid"),
    (2, 10, 8, 3, 3, 3, 4, (1, 1), (2, 1), "same"),  # dilation
    (2, 11, 12, 2, 2, 3, 3, (2, 1), (1, 2), "valid"),  # dilation and strides
    (2, 5, 4, 6, 1, 1, 7, (1, 1), (1, 1), "valid"),  # 1x1 stride 1: no im2col
    (2, 6, 7, 3, 1, 1, 4, (2, 2), (1, 1), "valid"),  # 1x1 strided: im2col
    (2, 6, 7, 3, 1, 1, 4, (1, 1), (1, 1), "same"),  # 1x1 'same' is the pointwise case too
    (3, 1, 20, 4, 1, 5, 6, (1, 2), (1, 1), "same"),  # Conv1D as H = 1
    (2, 1, 17, 3, 1, 3, 5, (1, 1), (1, 3), "valid"),  # Conv1D with dilation
    (1, 3, 3, 2, 5, 5, 2, (1, 1), (1, 1), "same"),  # kernel larger than the image
    (4, 5, 5, 1, 2, 2, 1, (1, 1), (1, 1), "valid"),  # one channel, one filter
    (9, 64, 64, 8, 3, 3, 4, (1, 1), (1, 1), "same"),  # im2col in chunks: 7 + 2 samples
]
CONV_IDS = [
    "x".join(map(str, c[:4])) + f"-k{c[4]}{c[5]}f{c[6]}s{c[7][0]}{c[7][1]}d{c[8][0]}{c[8][1]}{c[9]}" for c in CONV_CASES
]


def conv_setup(case, seed=0):
    N, H, W, C, KH, KW, Fo, st, dil, padding = case
    OH, PT = out_size(H, KH, st[0], dil[0], padding)
    OW, PL = out_size(W, KW, st[1], dil[1], padding)
    r = rng(seed)
    x = f32(r.standard_normal((N, H, W, C)))
    w = f32(r.standard_normal((KH, KW, C, Fo)) / math.sqrt(KH * KW * C))
    b = f32(r.standard_normal(Fo))
    geo = dict(strides=st, dilation=dil, pads=(PT, PL), out_hw=(OH, OW))
    return x, w, b, geo


def c_forward(x, w, b, geo, ref=False):
    return _C.conv2d_forward(x, w, b, geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"], ref)


def c_backward(g, x, w, geo, ref=False, want_dinp=True, want_dbias=True):
    dinp = np.zeros_like(x) if want_dinp else None
    dweight = np.zeros_like(w)
    dbias = np.zeros(w.shape[3], np.float32) if want_dbias else None
    _C.conv2d_backward(g, x, w, geo["strides"], geo["dilation"], geo["pads"], ref, dinp, dweight, dbias)
    return dinp, dweight, dbias


def torch_conv(x, w, b, geo):
    """PyTorch's conv2d on the same data, with autograd leaves (x, w, b)."""
    KH, KW = w.shape[:2]
    (SH, SW), (DH, DW), (PT, PL), (OH, OW) = geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"]
    PB = pad_after(x.shape[1], OH, KH, SH, DH, PT)
    PR = pad_after(x.shape[2], OW, KW, SW, DW, PL)
    xt = nchw(x).requires_grad_()
    wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).requires_grad_()
    bt = torch.from_numpy(b.copy()).requires_grad_() if b is not None else None
    out = F.conv2d(F.pad(xt, (PL, PR, PT, PB)), wt, bt, stride=(SH, SW), dilation=(DH, DW), groups=1)
    assert tuple(out.shape[2:]) == (OH, OW)
    return out, xt, wt, bt


def assert_close_scaled(got, want, rtol=1e-4, name=""):
    """|got - want| <= rtol * (|want| + max|want|): 1e-4 relative to the data's scale."""
    want = np.asarray(want, np.float64)
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-30)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_forward_matches_naive_and_torch(case, use_bias):
    x, w, b, geo = conv_setup(case)
    bias = b if use_bias else None
    fast = c_forward(x, w, bias, geo)
    ref = c_forward(x, w, bias, geo, ref=True)
    N, Fo = x.shape[0], w.shape[3]
    assert fast.shape == ref.shape == (N, *geo["out_hw"], Fo) and fast.dtype == np.float32
    # Float32 sums of K products plus the bias, against the naive kernel's double sums
    # rounded once: within gamma_{K+1} * (sum of |terms|) + one rounding of the reference.
    K = w.shape[0] * w.shape[1] * w.shape[2]
    absum = c_forward(np.abs(x), np.abs(w), np.abs(bias) if use_bias else None, geo, ref=True)
    bound = gamma(K + 2) * absum.astype(np.float64) + 1e-38
    assert np.all(np.abs(fast.astype(np.float64) - ref) <= bound), np.max(np.abs(fast - ref) / bound)
    out, *_ = torch_conv(x, w, bias, geo)
    assert_close_scaled(fast, nhwc(out), name="forward vs torch")
    assert_close_scaled(ref, nhwc(out), name="naive forward vs torch")


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_backward_matches_naive_and_torch_autograd(case):
    x, w, b, geo = conv_setup(case, seed=1)
    g = f32(rng(2).standard_normal((x.shape[0], *geo["out_hw"], w.shape[3])))
    fast = c_backward(g, x, w, geo)
    ref = c_backward(g, x, w, geo, ref=True)
    # Bounds: dinp sums KH*KW*F products, dweight and dbias N*OH*OW; the sums of
    # |terms| come from the naive kernel run on absolute values.
    N, (OH, OW), (KH, KW, _, Fo) = x.shape[0], geo["out_hw"], w.shape
    abs_terms = c_backward(np.abs(g), np.abs(x), np.abs(w), geo, ref=True)
    for name, f, r, a, n in zip(
        ("dinp", "dweight", "dbias"), fast, ref, abs_terms, (KH * KW * Fo, N * OH * OW, N * OH * OW)
    ):
        bound = gamma(n + 1) * a.astype(np.float64) + 1e-38
        assert np.all(np.abs(f.astype(np.float64) - r) <= bound), name
    out, xt, wt, bt = torch_conv(x, w, b, geo)
    out.backward(nchw(g))
    want = (nhwc(xt.grad), wt.grad.numpy().transpose(2, 3, 1, 0), bt.grad.numpy())
    for name, f, r, t in zip(("dinp", "dweight", "dbias"), fast, ref, want):
        assert_close_scaled(f, t, name=name + " vs torch")
        assert_close_scaled(r, t, name="naive " + name + " vs torch")


def test_conv2d_backward_against_finite_differences():
    # L = sum(G * conv(x, w) + b) is linear in each of x, w, b separately, so central
    # differences have no truncation error at any step; h = 1 keeps the float32
    # rounding of the outputs (~1e-7 of their scale, summed against G) far below 1e-4.
    case = (2, 6, 5, 3, 3, 2, 4, (2, 1), (1, 2), "same")
    x, w, b, geo = conv_setup(case, seed=3)
    G = rng(4).standard_normal((x.shape[0], *geo["out_hw"], w.shape[3]))
    dinp, dweight, dbias = c_backward(f32(G), x, w, geo)

    def loss(x_, w_, b_):
        return float(np.sum(G * c_forward(x_, w_, b_, geo).astype(np.float64)))

    h = 1.0
    picks = rng(5)
    for k, (arr, grad) in enumerate(((x, dinp), (w, dweight), (b, dbias))):
        flat = [int(i) for i in picks.choice(arr.size, size=min(arr.size, 25), replace=False)]
        for i in flat:
            idx = np.unravel_index(i, arr.shape)
            args_p, args_m = [x.copy(), w.copy(), b.copy()], [x.copy(), w.copy(), b.copy()]
            args_p[k][idx] += h
            args_m[k][idx] -= h
            fd = (loss(*args_p) - loss(*args_m)) / (2 * h)
            assert abs(grad[idx] - fd) <= 1e-4 * max(1.0, abs(fd)), (k, idx, grad[idx], fd)


@pytest.mark.parametrize("ref", [False, True])
@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[6], CONV_CASES[-1]], ids=["same", "pointwise", "chunks"])
def test_conv2d_backward_accumulates_and_skips_null_gradients(ref, case):
    x, w, _, geo = conv_setup(case, seed=6)
    g = f32(rng(7).standard_normal((x.shape[0], *geo["out_hw"], w.shape[3])))
    once = c_backward(g, x, w, geo, ref=ref)
    r = rng(8)
    start = [f32(r.standard_normal(a.shape)) for a in once]
    acc = [a.copy() for a in start]
    for _ in range(2):
        _C.conv2d_backward(g, x, w, geo["strides"], geo["dilation"], geo["pads"], ref, *acc)
    for name, a, s, o in zip(("dinp", "dweight", "dbias"), acc, start, once):
        # Sums of up to N*OH*OW = 36864 terms reach |1000|: compare at 1e-5 of that scale,
        # still 100x below the unit-scale start values a lost accumulation would drop.
        assert_close_scaled(a, s + 2 * o.astype(np.float64), rtol=1e-5, name=name)
    # dinp and dbias NULL: dweight unchanged.
    _, dw_only, _ = c_backward(g, x, w, geo, ref=ref, want_dinp=False, want_dbias=False)
    np.testing.assert_array_equal(dw_only, once[1])


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[2], CONV_CASES[-1]], ids=["seed", "strided", "chunks"])
def test_conv2d_op_backward_on_its_forwards_im2col_matches_the_kernel(case):
    # The plan's op reuses its forward's im2col when the batch is one chunk (csrc/conv.c);
    # the kernel on its own builds it again. Same gradients, bit for bit, in one chunk or several.
    x, w, b, geo = conv_setup(case, seed=11)
    N, H, W, C = x.shape
    (SH, SW), (DH, DW), (PT, PL), (OH, OW) = geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"]
    KH, KW, _, Fo = w.shape
    g = f32(rng(12).standard_normal((N, OH, OW, Fo)))
    args = dict(h=H, w=W, c=C, kh=KH, kw=KW, f=Fo, sh=SH, sw=SW, dh=DH, dw=DW, pt=PT, pl=PL, oh=OH, ow=OW)
    out, dins, dparams = run_op(
        "conv2d", [x.reshape(N, -1)], OH * OW * Fo, {"kernel": w, "bias": b}, g.reshape(N, -1), **args
    )
    np.testing.assert_array_equal(out.reshape(N, OH, OW, Fo), c_forward(x, w, b, geo))
    dinp, dweight, dbias = c_backward(g, x, w, geo)
    np.testing.assert_array_equal(dins[0].reshape(x.shape), dinp)
    np.testing.assert_array_equal(dparams["kernel"].reshape(w.shape), dweight)
    np.testing.assert_array_equal(dparams["bias"], dbias)


def test_conv2d_workspace_formula_and_bound():
    def ws(N, H, W, C, KH, KW, Fo, st=(1, 1), dil=(1, 1), pads=(0, 0), out_hw=None):
        if out_hw is None:
            out_hw = (out_size(H, KH, st[0], dil[0], "valid")[0], out_size(W, KW, st[1], dil[1], "valid")[0])
        return _C.conv2d_workspace((N, H, W, C), (KH, KW, C, Fo), st, dil, pads, out_hw)

    # chunk = min(N, max(1, WORK_FLOATS // (OH*OW*(K + 1)))), K = KH*KW*C;
    # workspace = chunk * OH*OW * (K + 1) (im2col with a ones column) + (K + 1) * F ([weight; bias]).
    # The seed layer: the whole batch of 32 in one chunk.
    assert ws(32, 32, 32, 3, 3, 3, 32) == (32 * 30 * 30 * 28 + 28 * 32, 32)
    # Pointwise 1x1: no im2col at all; strided 1x1 does need it.
    assert ws(32, 16, 16, 64, 1, 1, 8)[0] == 0
    assert ws(32, 16, 16, 64, 1, 1, 8, st=(2, 2))[0] == 32 * 8 * 8 * 65 + 65 * 8
    per = 64 * 64 * 73
    assert ws(9, 64, 64, 8, 3, 3, 4, pads=(1, 1), out_hw=(64, 64)) == (7 * per + 73 * 4, 7)
    for N in (1, 5, 7, 8, 1000, 10**6):
        floats, chunk = ws(N, 64, 64, 8, 3, 3, 4, pads=(1, 1), out_hw=(64, 64))
        assert chunk == min(N, WORK_FLOATS // per) and floats == chunk * per + 73 * 4
        assert floats - 73 * 4 <= WORK_FLOATS  # bounded whatever the batch size
    # One sample above the bound still gets its own chunk; never more than one then.
    assert ws(4, 514, 514, 3, 3, 3, 8) == (512 * 512 * 28 + 28 * 8, 1)
    # Non-decreasing in N: a workspace sized for the largest batch serves smaller ones.
    sizes = [ws(N, 30, 30, 5, 3, 3, 4)[0] for N in range(0, 200, 7)]
    assert sizes == sorted(sizes)


def test_conv2d_caller_workspace_sized_for_a_larger_batch_and_reused():
    # The engine sizes one workspace for its largest batch and reuses it for every
    # call: stale contents (NaN here) must not leak into results, and a smaller batch
    # must fit in it. Results equal those with a fresh, guarded workspace.
    case = CONV_CASES[-1]  # 9 samples in chunks of 7
    x, w, b, geo = conv_setup(case, seed=9)
    floats, _ = _C.conv2d_workspace(x.shape, w.shape, geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"])
    work = np.full(floats, np.nan, np.float32)
    for n in (9, 5):
        xs = x[:n].copy()
        out = _C.conv2d_forward(xs, w, b, geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"], False, work)
        np.testing.assert_array_equal(out, c_forward(xs, w, b, geo))
        g = f32(rng(10).standard_normal(out.shape))
        grads = [np.zeros_like(xs), np.zeros_like(w), np.zeros_like(b)]
        _C.conv2d_backward(g, xs, w, geo["strides"], geo["dilation"], geo["pads"], False, *grads, work)
        for got, want in zip(grads, c_backward(g, xs, w, geo)):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="work must hold"):
        _C.conv2d_forward(
            x, w, b, geo["strides"], geo["dilation"], geo["pads"], geo["out_hw"], False, work[: floats - 1]
        )


@pytest.mark.parametrize(
    "bad",
    [
        dict(w_shape=(3, 3, 4, 5)),  # kernel channels differ from the input's
        dict(b_shape=(4,)),  # bias is not (F,)
        dict(x_shape=(2, 6, 6)),  # inp not 4-D
        dict(w_shape=(3, 3, 3)),  # weight not 4-D
        dict(strides=(0, 1)),
        dict(dilation=(1, 0)),
        dict(pads=(-1, 0)),
        dict(out_hw=(-1, 4)),
        dict(w_shape=(0, 3, 3, 5)),  # empty kernel window
        dict(out_hw=(1 << 40, 1 << 40)),  # sizes overflowing int64
        dict(out_hw=(1 << 16, 1 << 16)),  # OH * OW beyond what sgemm's int can index
    ],
)
def test_conv2d_forward_rejects_bad_shapes(bad):
    x = np.zeros(bad.get("x_shape", (2, 6, 6, 3)), np.float32)
    w = np.zeros(bad.get("w_shape", (3, 3, 3, 5)), np.float32)
    b = np.zeros(bad.get("b_shape", (5,)), np.float32)
    with pytest.raises(ValueError):
        _C.conv2d_forward(
            x,
            w,
            b,
            bad.get("strides", (1, 1)),
            bad.get("dilation", (1, 1)),
            bad.get("pads", (0, 0)),
            bad.get("out_hw", (4, 4)),
            False,
        )


@pytest.mark.parametrize("bad", ["dout", "dinp", "dweight", "dbias", "strides", "readonly"])
def test_conv2d_backward_rejects_bad_shapes(bad):
    x, w = np.zeros((2, 6, 6, 3), np.float32), np.zeros((3, 3, 3, 5), np.float32)
    g = np.zeros((2, 4, 4, 5) if bad != "dout" else (2, 4, 4, 6), np.float32)
    dinp = np.zeros((2, 6, 6, 3) if bad != "dinp" else (2, 6, 5, 3), np.float32)
    dweight = np.zeros((3, 3, 3, 5) if bad != "dweight" else (3, 3, 5, 3), np.float32)
    dbias = np.zeros(5 if bad != "dbias" else 4, np.float32)
    if bad == "readonly":
        dweight.flags.writeable = False
    with pytest.raises(ValueError):
        _C.conv2d_backward(g, x, w, (0, 1) if bad == "strides" else (1, 1), (1, 1), (0, 0), False, dinp, dweight, dbias)


def test_conv2d_empty_batch():
    x, w = np.zeros((0, 5, 5, 2), np.float32), np.ones((3, 3, 2, 4), np.float32)
    out = _C.conv2d_forward(x, w, np.ones(4, np.float32), (1, 1), (1, 1), (0, 0), (3, 3), False)
    assert out.shape == (0, 3, 3, 4)
    dw, db = np.zeros_like(w), np.zeros(4, np.float32)
    _C.conv2d_backward(np.zeros((0, 3, 3, 4), np.float32), x, w, (1, 1), (1, 1), (0, 0), False, None, dw, db)
    assert not dw.any() and not db.any()


# ---------------------------------------------------------------------------
# 2D pooling

# (N, H, W, C, pool, strides, padding)
POOL_CASES = [
    (2, 30, 30, 8, (2, 2), (2, 2), "valid"),  # the seed CNN's MaxPooling2D(2)
    (2, 7, 7, 3, (2, 2), (2, 2), "valid"),  # odd size: the last row/column dropped
    (2, 7, 8, 3, (2, 2), (2, 2), "same"),  # 'same': one padded row after
    (3, 9, 10, 2, (3, 3), (2, 2), "same"),
    (2, 6, 9, 4, (3, 2), (1, 3), "same"),
    (1, 5, 5, 70, (3, 3), (1, 1), "same"),  # C > 64: the argmax scan's channel blocks
    (2, 2, 3, 2, (4, 4), (1, 1), "same"),  # window larger than the image
    (2, 1, 12, 3, (1, 3), (1, 2), "same"),  # 1-D pooling as H = 1
]
POOL_IDS = ["x".join(map(str, c[:4])) + f"-p{c[4][0]}{c[4][1]}s{c[5][0]}{c[5][1]}{c[6]}" for c in POOL_CASES]


def pool_geo(case):
    N, H, W, C, (KH, KW), (SH, SW), padding = case
    OH, PT = out_size(H, KH, SH, 1, padding)
    OW, PL = out_size(W, KW, SW, 1, padding)
    return dict(pool=(KH, KW), strides=(SH, SW), pads=(PT, PL), out_hw=(OH, OW))


def torch_pool(x, geo, kind):
    """PyTorch reference with explicit (possibly asymmetric) padding that takes no part:
    -inf for the max; for the average, window sums divided by window counts of real cells
    (F.avg_pool2d with count_include_pad=False only pads symmetrically)."""
    (KH, KW), (SH, SW), (PT, PL), (OH, OW) = geo["pool"], geo["strides"], geo["pads"], geo["out_hw"]
    PB, PR = pad_after(x.shape[1], OH, KH, SH, 1, PT), pad_after(x.shape[2], OW, KW, SW, 1, PL)
    xt = nchw(x).double().requires_grad_()
    if kind == "max":
        out = F.max_pool2d(F.pad(xt, (PL, PR, PT, PB), value=-math.inf), (KH, KW), (SH, SW))
    else:
        sums = F.avg_pool2d(F.pad(xt, (PL, PR, PT, PB)), (KH, KW), (SH, SW), divisor_override=1)
        ones = torch.ones((1, 1, *x.shape[1:3]), dtype=torch.float64)
        counts = F.avg_pool2d(F.pad(ones, (PL, PR, PT, PB)), (KH, KW), (SH, SW), divisor_override=1)
        out = sums / counts
    assert tuple(out.shape[2:]) == (OH, OW)
    return out, xt


def c_pool_forward(kind, x, geo):
    fn = _C.maxpool2d_forward if kind == "max" else _C.avgpool2d_forward
    return fn(x, geo["pool"], geo["strides"], geo["pads"], geo["out_hw"])


def c_pool_backward(kind, g, x, geo, dinp=None):
    dinp = np.zeros_like(x) if dinp is None else dinp
    if kind == "max":
        _C.maxpool2d_backward(g, x, geo["pool"], geo["strides"], geo["pads"], dinp)
    else:
        _C.avgpool2d_backward(g, geo["pool"], geo["strides"], geo["pads"], dinp)
    return dinp


@pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_matches_torch(case, kind):
    geo = pool_geo(case)
    x = f32(rng(10).standard_normal(case[:4]))
    out = c_pool_forward(kind, x, geo)
    assert out.shape == (case[0], *geo["out_hw"], case[3])
    ref, xt = torch_pool(x, geo, kind)
    if kind == "max":  # a max is exact
        np.testing.assert_array_equal(out, nhwc(ref).astype(np.float32))
    else:  # float32 sum of <= KH*KW terms and one division, against float64
        np.testing.assert_allclose(out, nhwc(ref), rtol=1e-6, atol=1e-6)
    g = f32(rng(11).standard_normal(out.shape))
    ref.backward(nchw(g).double())
    dinp = c_pool_backward(kind, g, x, geo)
    np.testing.assert_allclose(dinp, nhwc(xt.grad), rtol=1e-6, atol=1e-6)


def test_pool2d_symmetric_padding_matches_torch_padding_argument():
    # PyTorch's own padding (symmetric, padded cells excluded) agrees when PT == PB.
    x = f32(rng(12).standard_normal((2, 7, 7, 3)))
    geo = dict(pool=(3, 3), strides=(2, 2), pads=(1, 1), out_hw=(4, 4))
    xt = nchw(x).requires_grad_()
    mx = F.max_pool2d(xt, 3, 2, padding=1)
    av = F.avg_pool2d(xt, 3, 2, padding=1, count_include_pad=False)
    np.testing.assert_array_equal(c_pool_forward("max", x, geo), nhwc(mx))
    np.testing.assert_allclose(c_pool_forward("avg", x, geo), nhwc(av), rtol=1e-6, atol=1e-6)


def test_maxpool_routes_ties_to_the_first_cell_like_torch():
    # Values from {0, 1, 2}: most windows hold ties; PyTorch sends the gradient to the
    # first maximal cell in row-major window order, and so must the kernel.
    x = f32(rng(13).integers(0, 3, size=(2, 9, 8, 5)))
    for geo in (
        dict(pool=(2, 2), strides=(2, 2), pads=(0, 0), out_hw=(4, 4)),
        dict(pool=(3, 3), strides=(1, 2), pads=(1, 1), out_hw=(9, 4)),
    ):
        out = c_pool_forward("max", x, geo)
        ref, xt = torch_pool(x, geo, "max")
        np.testing.assert_array_equal(out, nhwc(ref))
        g = f32(rng(14).standard_normal(out.shape))
        ref.backward(nchw(g).double())
        # Overlapping windows add several gradients into one cell (float32 here, float64 in
        # torch's reference); a misrouted gradient would differ by O(1).
        np.testing.assert_allclose(c_pool_backward("max", g, x, geo), nhwc(xt.grad), rtol=1e-6, atol=1e-6)


def test_maxpool_propagates_nan_like_torch():
    x = f32(rng(15).standard_normal((1, 4, 4, 2)))
    x[0, 1, 0, 1] = np.nan
    geo = dict(pool=(2, 2), strides=(2, 2), pads=(0, 0), out_hw=(2, 2))
    out = c_pool_forward("max", x, geo)
    ref = F.max_pool2d(nchw(x), 2, 2)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(nhwc(ref)))
    assert np.isnan(out[0, 0, 0, 1]) and np.isnan(out).sum() == 1
    dinp = c_pool_backward("max", np.ones_like(out), x, geo)
    assert dinp[0, 1, 0, 1] == 1 and dinp[0, :2, :2, 1].sum() == 1


def test_maxpool_2x2_picks_the_first_winner_bitwise():
    # Full 2x2 windows take their own one-pass path (csrc/pool.c). Its choices must be the
    # general rule's, bit for bit: a NaN beats any number (the first NaN wins, payload
    # included), otherwise a strictly greater value; ties (0.0 vs -0.0 included) keep the
    # first cell. The odd width also sends the last column's windows to the general path.
    vals = np.array([0.0, -0.0, 1.0, -1.0, np.nan, -np.nan, np.inf], np.float32)
    vals[5] = np.frombuffer(np.uint32(0x7FC00123).tobytes(), np.float32)[0]  # another NaN payload
    x = vals[rng(16).integers(0, len(vals), size=(3, 6, 7, 37))]
    geo = dict(pool=(2, 2), strides=(2, 2), pads=(0, 0), out_hw=(3, 4))  # 'same': the last column half real
    g = f32(rng(17).standard_normal((3, 3, 4, 37)))
    want_out, want_din = np.zeros((3, 3, 4, 37), np.float32), np.zeros_like(x)
    for n, oh, ow, c in np.ndindex(*want_out.shape):
        cells = [(h, w) for h in (2 * oh, 2 * oh + 1) for w in (2 * ow, 2 * ow + 1) if w < 7]
        best = cells[0]
        for h, w in cells[1:]:
            v, b = x[n, h, w, c], x[n, best[0], best[1], c]
            if v > b or (np.isnan(v) and not np.isnan(b)):
                best = (h, w)
        want_out[n, oh, ow, c] = x[n, best[0], best[1], c]
        want_din[n, best[0], best[1], c] += g[n, oh, ow, c]
    out = c_pool_forward("max", x, geo)
    assert out.tobytes() == want_out.tobytes()
    assert c_pool_backward("max", g, x, geo).tobytes() == want_din.tobytes()


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_backward_against_finite_differences(kind):
    # Max pooling is piecewise linear and average pooling linear: with inputs spaced
    # 0.1 apart and h = 0.01 no window changes its argmax, so central differences are exact
    # up to float32 rounding of the outputs (~1e-7).
    geo = dict(pool=(3, 2), strides=(2, 1), pads=(1, 0), out_hw=(4, 5))
    x = f32(rng(16).permutation(2 * 7 * 6 * 2).reshape(2, 7, 6, 2) * 0.1)
    G = rng(17).standard_normal((2, 4, 5, 2))
    dinp = c_pool_backward(kind, f32(G), x, geo)
    h = 0.01
    for i in rng(18).choice(x.size, size=40, replace=False):
        idx = np.unravel_index(int(i), x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd = (np.sum(G * c_pool_forward(kind, xp, geo)) - np.sum(G * c_pool_forward(kind, xm, geo))) / (2 * h)
        assert abs(dinp[idx] - fd) <= 1e-4 * max(1.0, abs(fd)), (idx, dinp[idx], fd)


def test_pool2d_window_entirely_in_padding_outputs_zero():
    # Not reachable from Keras ('same' pads less than the window), but memory-safe and defined.
    x = f32(rng(19).standard_normal((1, 3, 3, 2)) + 5)
    geo = dict(pool=(2, 2), strides=(1, 1), pads=(2, 0), out_hw=(4, 2))
    for kind in ("max", "avg"):
        out = c_pool_forward(kind, x, geo)
        assert not out[0, 0].any() and np.all(out[0, 2:] > 0)
        dinp = c_pool_backward(kind, np.ones_like(out), x, geo)
        assert dinp.sum() == pytest.approx(np.ones_like(out)[0, 1:].sum())


def test_pool2d_backward_accumulates():
    geo = dict(pool=(2, 2), strides=(2, 2), pads=(0, 0), out_hw=(3, 3))
    x = f32(rng(20).standard_normal((2, 6, 6, 3)))
    g = f32(rng(21).standard_normal((2, 3, 3, 3)))
    for kind in ("max", "avg"):
        once = c_pool_backward(kind, g, x, geo)
        start = f32(rng(22).standard_normal(x.shape))
        acc = c_pool_backward(kind, g, x, geo, dinp=start.copy())
        np.testing.assert_allclose(acc, start + once, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: _C.maxpool2d_forward(x, (0, 2), (1, 1), (0, 0), (3, 3)),
        lambda x: _C.avgpool2d_forward(x, (2, 2), (0, 1), (0, 0), (3, 3)),
        lambda x: _C.maxpool2d_forward(x, (2, 2), (1, 1), (-1, 0), (3, 3)),
        lambda x: _C.avgpool2d_forward(x, (2, 2), (1, 1), (0, 0), (3, -3)),
        lambda x: _C.maxpool2d_forward(x[0], (2, 2), (1, 1), (0, 0), (3, 3)),
        lambda x: _C.maxpool2d_backward(
            np.zeros((2, 3, 3, 4), np.float32), x, (2, 2), (2, 2), (0, 0), np.zeros_like(x)
        ),
        lambda x: _C.maxpool2d_backward(
            np.zeros((2, 3, 3, 3), np.float32), x, (2, 2), (2, 2), (0, 0), np.zeros((2, 6, 5, 3), np.float32)
        ),
        lambda x: _C.avgpool2d_backward(np.zeros((1, 3, 3, 3), np.float32), (2, 2), (2, 2), (0, 0), np.zeros_like(x)),
        lambda x: _C.global_avgpool_forward(x),
        lambda x: _C.global_avgpool_backward(np.zeros((2, 4), np.float32), np.zeros((2, 5, 3), np.float32)),
        lambda x: _C.global_maxpool_backward(
            np.zeros((2, 3), np.float32), np.zeros((2, 4, 3), np.float32), np.zeros((2, 5, 3), np.float32)
        ),
    ],
)
def test_pooling_rejects_bad_shapes(call):
    with pytest.raises(ValueError):
        call(np.zeros((2, 6, 6, 3), np.float32))


# ---------------------------------------------------------------------------
# Global pooling


@pytest.mark.parametrize("N,S,C", [(3, 49, 5), (2, 1, 3), (2, 4096, 70), (1, 0, 2)])
def test_global_pooling_matches_numpy(N, S, C):
    x = f32(rng(23).standard_normal((N, S, C)) + 3)  # offset: a naive float32 running sum would drift
    avg, mx = _C.global_avgpool_forward(x), _C.global_maxpool_forward(x)
    if S == 0:
        assert not avg.any() and not mx.any()
        return
    np.testing.assert_allclose(avg, x.astype(np.float64).mean(axis=1), rtol=1e-6, atol=0)
    np.testing.assert_array_equal(mx, x.max(axis=1))
    g = f32(rng(24).standard_normal((N, C)))
    davg = np.zeros_like(x)
    _C.global_avgpool_backward(g, davg)
    np.testing.assert_allclose(davg, np.broadcast_to(g[:, None, :] / S, x.shape), rtol=1e-6)
    dmax = np.zeros_like(x)
    _C.global_maxpool_backward(g, x, dmax)
    want = np.zeros_like(x)
    am = x.argmax(axis=1)  # NumPy's argmax: the first maximal position
    for n in range(N):
        want[n, am[n], np.arange(C)] = g[n]
    np.testing.assert_array_equal(dmax, want)


def test_global_pooling_matches_torch_autograd_and_ties():
    x = f32(rng(25).integers(0, 3, size=(3, 16, 4)))  # many ties for the max
    xt = torch.from_numpy(x.copy()).requires_grad_()
    g = f32(rng(26).standard_normal((3, 4)))
    xt.mean(dim=1).backward(torch.from_numpy(g))
    d = np.zeros_like(x)
    _C.global_avgpool_backward(g, d)
    np.testing.assert_allclose(d, xt.grad.numpy(), rtol=1e-6)
    # GlobalMaxPooling2D = max_pool2d over the whole map: the first maximal cell, as torch routes it.
    x4 = x.reshape(3, 4, 4, 4)
    xt4 = nchw(x4).requires_grad_()
    F.max_pool2d(xt4, (4, 4)).reshape(3, 4).backward(torch.from_numpy(g))
    d = np.zeros_like(x)
    _C.global_maxpool_backward(g, x, d)
    np.testing.assert_array_equal(d.reshape(x4.shape), nhwc(xt4.grad))
    d2 = np.ones_like(x)
    _C.global_maxpool_backward(g, x, d2)  # accumulates
    np.testing.assert_array_equal(d2, d + 1)
    d3 = np.ones_like(x)
    _C.global_avgpool_backward(g, d3)
    np.testing.assert_allclose(d3, xt.grad.numpy() + 1, rtol=1e-6)


# ---------------------------------------------------------------------------
# Batch normalization

KERAS_MOMENTUM, KERAS_EPSILON = 0.99, 1e-3  # keras.layers.BatchNormalization defaults


def bn_inputs(R, C, seed=30, offset=0.0):
    r = rng(seed)
    x = f32(r.standard_normal((R, C)) * r.uniform(0.5, 3, C) + offset + r.standard_normal(C))
    return x, f32(r.uniform(0.5, 2, C)), f32(r.standard_normal(C)), f32(r.standard_normal(C)), f32(r.uniform(0.5, 2, C))


def c_bn(x, gamma_, beta_, mm, mv, training, momentum=KERAS_MOMENTUM, eps=KERAS_EPSILON):
    return _C.batchnorm_forward(x, gamma_, beta_, mm, mv, momentum, eps, training)


def c_bn_backward(g, x, gamma_, work, training, want=(True, True, True)):
    R, C = x.shape
    d = [
        np.zeros((R, C), np.float32) if want[0] else None,
        np.zeros(C, np.float32) if want[1] else None,
        np.zeros(C, np.float32) if want[2] else None,
    ]
    _C.batchnorm_backward(g, x, gamma_, work, training, *d)
    return d


@pytest.mark.parametrize("R,C", [(32, 4), (2 * 15 * 15, 32), (7, 70), (2, 3)])  # torch refuses R = 1
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_training_matches_torch(R, C, affine):
    x, gm, bt, mm, mv = bn_inputs(R, C)
    gm, bt = (gm, bt) if affine else (None, None)
    out, work = c_bn(x, gm, bt, mm.copy(), mv.copy(), True)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    gt = torch.from_numpy(gm.copy()).requires_grad_() if affine else None
    btt = torch.from_numpy(bt.copy()).requires_grad_() if affine else None
    # torch's momentum weighs the new statistic: Keras's momentum m is torch's 1 - m.
    ref = F.batch_norm(
        xt,
        torch.from_numpy(mm.copy()),
        torch.from_numpy(mv.copy()),
        gt,
        btt,
        training=True,
        momentum=1 - KERAS_MOMENTUM,
        eps=KERAS_EPSILON,
    )
    assert_close_scaled(out, ref.detach().numpy(), name="out")
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(work[0], x64.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(work[1], 1 / np.sqrt(x64.var(axis=0) + KERAS_EPSILON), rtol=1e-6)
    g = f32(rng(31).standard_normal((R, C)))
    ref.backward(torch.from_numpy(g))
    dinp, dgamma, dbeta = c_bn_backward(g, x, gm, work, True)
    assert_close_scaled(dinp, xt.grad.numpy(), name="dinp")
    if affine:
        assert_close_scaled(dgamma, gt.grad.numpy(), name="dgamma")
        assert_close_scaled(dbeta, btt.grad.numpy(), name="dbeta")
    else:  # dgamma/dbeta are still the gradients of a gamma = 1, beta = 0
        xhat = (x64 - x64.mean(axis=0)) / np.sqrt(x64.var(axis=0) + KERAS_EPSILON)
        assert_close_scaled(dgamma, (g * xhat).sum(axis=0), name="dgamma")
        assert_close_scaled(dbeta, g.sum(axis=0, dtype=np.float64), name="dbeta")


def test_batchnorm_moving_statistics_follow_keras_and_differ_from_torch():
    R, C = 50, 6
    x, gm, bt, mm, mv = bn_inputs(R, C, seed=32)
    mm_c, mv_c = mm.copy(), mv.copy()
    c_bn(x, gm, bt, mm_c, mv_c, True)
    # Keras 3 (keras/src/layers/normalization/batch_normalization.py, call()): ops.moments
    # gives the biased variance; moving = moving * momentum + stat * (1 - momentum), in float32.
    mean, var = x.astype(np.float64).mean(axis=0), x.astype(np.float64).var(axis=0)  # ddof=0
    m = np.float32(KERAS_MOMENTUM)
    want_mm = mm * m + f32(mean) * (np.float32(1) - m)
    want_mv = mv * m + f32(var) * (np.float32(1) - m)
    np.testing.assert_allclose(mm_c, want_mm, rtol=2e-7, atol=1e-7)
    np.testing.assert_allclose(mv_c, want_mv, rtol=2e-7, atol=1e-7)
    # PyTorch's running_var takes the unbiased variance (R / (R - 1) times larger), so a
    # torch BatchNorm2d's running statistics are not Keras's; the kernel follows Keras.
    rm, rv = torch.from_numpy(mm.copy()), torch.from_numpy(mv.copy())
    F.batch_norm(torch.from_numpy(x), rm, rv, training=True, momentum=1 - KERAS_MOMENTUM, eps=KERAS_EPSILON)
    np.testing.assert_allclose(rm.numpy(), want_mm, rtol=1e-6)
    np.testing.assert_allclose(rv.numpy(), mv * m + var * R / (R - 1) * (1 - m), rtol=1e-6)
    assert np.all(np.abs(rv.numpy() - mv_c) > 1e-6 * np.abs(mv_c))


def test_batchnorm_repeated_updates_and_null_moving_statistics():
    R, C = 20, 3
    x, gm, bt, mm, mv = bn_inputs(R, C, seed=33)
    mm_c, mv_c, want_m, want_v = mm.copy(), mv.copy(), mm.astype(np.float64), mv.astype(np.float64)
    for step in range(5):
        xs = f32(x * (step + 1))
        c_bn(xs, gm, bt, mm_c, mv_c, True, momentum=0.9)
        want_m = want_m * 0.9 + xs.astype(np.float64).mean(axis=0) * 0.1
        want_v = want_v * 0.9 + xs.astype(np.float64).var(axis=0) * 0.1
    np.testing.assert_allclose(mm_c, want_m, rtol=1e-5)
    np.testing.assert_allclose(mv_c, want_v, rtol=1e-5)
    # Training without moving statistics (None): same output, nothing to update.
    out_a, _ = c_bn(x, gm, bt, mm.copy(), mv.copy(), True)
    out_b, _ = c_bn(x, gm, bt, None, None, True)
    np.testing.assert_array_equal(out_a, out_b)


def test_batchnorm_inference_uses_moving_statistics():
    R, C = 24, 5
    x, gm, bt, mm, mv = bn_inputs(R, C, seed=34)
    mm_c, mv_c = mm.copy(), mv.copy()
    out, work = c_bn(x, gm, bt, mm_c, mv_c, False)
    np.testing.assert_array_equal(mm_c, mm)  # untouched
    np.testing.assert_array_equal(mv_c, mv)
    x64 = x.astype(np.float64)
    want = gm * (x64 - mm) / np.sqrt(mv.astype(np.float64) + KERAS_EPSILON) + bt
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    xt = torch.from_numpy(x.copy()).requires_grad_()
    gt, btt = torch.from_numpy(gm.copy()).requires_grad_(), torch.from_numpy(bt.copy()).requires_grad_()
    ref = F.batch_norm(xt, torch.from_numpy(mm), torch.from_numpy(mv), gt, btt, training=False, eps=KERAS_EPSILON)
    assert_close_scaled(out, ref.detach().numpy())
    # Inference-mode backward (a frozen layer): the statistics are constants.
    g = f32(rng(35).standard_normal((R, C)))
    ref.backward(torch.from_numpy(g))
    dinp, dgamma, dbeta = c_bn_backward(g, x, gm, work, False)
    for name, got, t in (("dinp", dinp, xt.grad), ("dgamma", dgamma, gt.grad), ("dbeta", dbeta, btt.grad)):
        assert_close_scaled(got, t.numpy(), name=name)


def test_batchnorm_large_mean_is_stable():
    # |mean| = 1e4 with std 1: a one-pass E[x^2] - E[x]^2 in float32 loses everything;
    # the kernel's two passes in double keep the variance to float32 precision.
    x = f32(rng(36).standard_normal((4096, 3)) + 1e4)
    out, work = c_bn(x, None, None, None, None, True)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(work[1], 1 / np.sqrt(x64.var(axis=0) + KERAS_EPSILON), rtol=1e-5)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(x64.var(axis=0) / (x64.var(axis=0) + KERAS_EPSILON)), rtol=1e-4)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_against_finite_differences(training):
    # Five-point central differences (truncation O(h^4), ~1e-7 at h = 0.05 on unit-scale
    # data) of L = sum(G * out), with out from the kernel in float32: rounding adds about
    # u * sum|G * out| / h ~ 1e-5, so 1e-4 relative to max(1, |gradient|) holds.
    R, C = 12, 3
    x, gm, bt, mm, mv = bn_inputs(R, C, seed=37)
    G = rng(38).standard_normal((R, C))

    def loss(x_, g_, b_):
        return float(
            np.sum(
                G * c_bn(x_, g_, b_, None if training else mm, None if training else mv, training)[0].astype(np.float64)
            )
        )

    _, work = c_bn(x, gm, bt, None if training else mm, None if training else mv, training)
    grads = c_bn_backward(f32(G), x, gm, work, training)
    h = 0.05
    for k, arr in enumerate((x, gm, bt)):
        for i in range(arr.size):
            idx = np.unravel_index(i, arr.shape)
            vals = []
            for step in (2, 1, -1, -2):
                args = [x.copy(), gm.copy(), bt.copy()]
                args[k][idx] += step * h
                vals.append(loss(*args))
            fd = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
            assert abs(grads[k][idx] - fd) <= 1e-4 * max(1.0, abs(fd)), (k, idx, grads[k][idx], fd)


def test_batchnorm_backward_accumulates_and_skips_null_gradients():
    R, C = 16, 4
    x, gm, bt, mm, mv = bn_inputs(R, C, seed=39)
    _, work = c_bn(x, gm, bt, mm, mv, True)
    g = f32(rng(40).standard_normal((R, C)))
    once = c_bn_backward(g, x, gm, work, True)
    start = [f32(rng(41 + i).standard_normal(a.shape)) for i, a in enumerate(once)]
    acc = [a.copy() for a in start]
    _C.batchnorm_backward(g, x, gm, work, True, *acc)
    for a, s, o in zip(acc, start, once):
        np.testing.assert_allclose(a, s + o, rtol=1e-6, atol=1e-6)
    only_dinp = c_bn_backward(g, x, gm, work, True, want=(True, False, False))
    np.testing.assert_array_equal(only_dinp[0], once[0])
    only_params = c_bn_backward(g, x, gm, work, True, want=(False, True, True))
    np.testing.assert_array_equal(only_params[1], once[1])


@pytest.mark.parametrize(
    "call",
    [
        lambda x, c: _C.batchnorm_forward(x, np.ones(c + 1, np.float32), None, None, None, 0.99, 1e-3, True),
        lambda x, c: _C.batchnorm_forward(x, None, np.ones(c - 1, np.float32), None, None, 0.99, 1e-3, True),
        lambda x, c: _C.batchnorm_forward(
            x, None, None, np.zeros(c, np.float32), np.ones(c + 1, np.float32), 0.99, 1e-3, True
        ),
        lambda x, c: _C.batchnorm_forward(x, None, None, None, None, 0.99, 1e-3, False),  # inference needs stats
        lambda x, c: _C.batchnorm_forward(x, None, None, None, None, 0.99, 0.0, True),  # epsilon must be > 0
        lambda x, c: _C.batchnorm_forward(x[None], None, None, None, None, 0.99, 1e-3, True),
        lambda x, c: _C.batchnorm_backward(x, x, None, np.zeros((2, c + 1), np.float32), True, None, None, None),
        lambda x, c: _C.batchnorm_backward(x[:-1], x, None, np.zeros((2, c), np.float32), True, None, None, None),
        lambda x, c: _C.batchnorm_backward(
            x, x, None, np.zeros((2, c), np.float32), True, np.zeros((1, c), np.float32), None, None
        ),
    ],
)
def test_batchnorm_rejects_bad_shapes(call):
    with pytest.raises(ValueError):
        call(np.zeros((8, 4), np.float32), 4)
