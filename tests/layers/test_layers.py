"""Tier 2 and 3: every layer through real models, against PyTorch and Keras 3's formulas.

Each layer runs inside a small model (`Sequential([Input(shape), ..., layer])`)
through the public API: `predict` gives the forward output, and one
`train_on_batch` step of plain SGD with `learning_rate=1.0` on the mean squared
error gives the gradient of every weight as `w_before - w_after`. The same
function is written with `torch.nn.functional` in float64 on the same weights
(layouts converted: a Conv2D kernel (KH, KW, C, F) is torch's (F, C, KH, KW),
images NHWC are torch's NCHW, a Conv1D kernel (K, C, F) is torch's (F, C, K)),
and autograd gives the reference gradients. Where a layer has no weights, a
Dense layer in front of it (applied per pixel) makes the layer's input
gradient visible in that Dense layer's kernel gradient.

Tolerance (RTOL = 1e-4, relative to the scale of each compared tensor, i.e.
`|a - b| <= 1e-4 * (|b| + max|b|)`). The reference is float64, so the
difference is pytrainc's float32 rounding: every value here is a sum of at
most a few thousand terms of unit-scale data, whose rounding error is bounded
by n * 2**-24 * sum|terms| and is in practice about sqrt(n) * 2**-24 of the
scale, i.e. 1e-6 to 1e-5; recovering a gradient as a difference of float32
weights adds half an ulp of the weights (3e-8 at unit scale), while gradients
here are typically 1e-2 or more. A real mistake (a padding on the wrong side, a kernel
transposed, a missing 1/(1 - rate), an unbiased variance) changes results by
1e-2 or more; the `*_sanity` tests show that for the subtle cases.
Errors are measured against the tensor's scale, not elementwise, because
float32 sums that cancel to near zero carry the absolute error of their terms.
"""

import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pytrainc  # noqa: E402
from pytrainc import _C, initializers, regularizers, testing  # noqa: E402
from pytrainc.layers import (
    ELU,
    Activation,
    ActivityRegularization,
    AveragePooling1D,  # noqa: E402
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Add,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    Input,
    LeakyReLU,
    MaxPooling1D,
    MaxPooling2D,
    ReLU,
    Reshape,
    Softmax,
)
from pytrainc.models import Model, Sequential  # noqa: E402
from pytrainc.testing import nchw, nhwc, normal, rng, torch_reference  # noqa: E402

RTOL = 1e-4
F64 = torch.float64

pytestmark = pytest.mark.usefixtures("torch_single_thread")

# |actual - expected| <= RTOL * (|expected| + max|expected|) elementwise (see the module docstring).
assert_close = functools.partial(testing.assert_close, rtol=RTOL)


# ---------------------------------------------------------------------------
# helpers


def randomize(model, r, scale=0.5):
    """Random weights for every variable (so that biases are not zero)."""
    model.set_weights([normal(r, w.shape, scale) for w in model.get_weights()])


def sgd_step(model, x, y, loss="mse"):
    """One step of SGD(learning_rate=1): returns (reported loss, [w_before - w_after] in float64)."""
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=1.0), loss=loss)
    before = [w.astype(np.float64) for w in model.get_weights()]
    reported = model.train_on_batch(x, y)
    after = model.get_weights()
    return reported, [b - a for b, a in zip(before, after)]


def check_against_torch(model, fn, x, y, what):
    """predict == fn forward, and one SGD step's gradients == autograd's, for every weight."""
    weights = model.get_weights()
    out, loss, grads = torch_reference(fn, weights, x, y)
    assert_close(model.predict(x, batch_size=len(x), verbose=0), out, what=f"{what}: forward")
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL), f"{what}: loss"
    for i, (g, ref) in enumerate(zip(got, grads)):
        assert_close(g, ref, what=f"{what}: gradient of weight {i} {weights[i].shape}")


def tf_same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding: (before, after), the odd cell after."""
    out = -(-size // stride)
    span = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def torch_dense(x, w, b=None):
    y = x @ w
    return y if b is None else y + b


# ---------------------------------------------------------------------------
# Conv2D

CONV2D_CASES = {  # name: (H, W, C, F, kernel, strides, padding, dilation, N)
    "valid_3x3": (7, 8, 2, 3, (3, 3), (1, 1), "valid", (1, 1), 3),
    "valid_strided_rect": (9, 8, 3, 4, (3, 2), (2, 3), "valid", (1, 1), 3),
    "same_stride2_pads_bottom_right": (8, 8, 2, 3, (3, 3), (2, 2), "same", (1, 1), 3),
    "same_even_kernel_asymmetric": (7, 9, 3, 2, (2, 4), (1, 1), "same", (1, 1), 3),
    "valid_dilated": (10, 9, 2, 3, (3, 3), (1, 1), "valid", (2, 2), 3),
    "same_dilated_strided": (9, 10, 2, 3, (3, 2), (2, 1), "same", (2, 3), 3),
    "pointwise_1x1": (6, 7, 3, 5, (1, 1), (1, 1), "valid", (1, 1), 3),
    "kernel_equals_input": (5, 5, 2, 3, (5, 5), (1, 1), "valid", (1, 1), 3),
    "stride_larger_than_kernel": (9, 9, 2, 2, (2, 2), (3, 3), "valid", (1, 1), 3),
    # 16 samples of 64x64x8: the im2col matrix exceeds PTC_CONV_WORK_FLOATS, so the batch runs in chunks
    "chunked_batch": (64, 64, 8, 4, (3, 3), (1, 1), "same", (1, 1), 16),
}


def torch_conv2d(x, kernel, bias, strides, padding, dilation):
    """x (N, H, W, C), kernel (KH, KW, C, F) -> (N, OH, OW, F), padding as TensorFlow."""
    xt = nchw(x)
    if padding == "same":
        pt, pb = tf_same_pads(x.shape[1], kernel.shape[0], strides[0], dilation[0])
        pl, pr = tf_same_pads(x.shape[2], kernel.shape[1], strides[1], dilation[1])
        xt = F.pad(xt, (pl, pr, pt, pb))
    y = F.conv2d(xt, kernel.permute(3, 2, 0, 1), bias, stride=strides, dilation=dilation)
    return nhwc(y)


@pytest.mark.parametrize("case", list(CONV2D_CASES), ids=list(CONV2D_CASES))
def test_conv2d_forward_and_gradients_match_torch(case):
    H, W, C, Fn, k, s, pad, d, N = CONV2D_CASES[case]
    r = rng(1)
    model = Sequential([Input((H, W, C)), Dense(C), Conv2D(Fn, k, strides=s, padding=pad, dilation_rate=d)])
    randomize(model, r)
    x = normal(r, (N, H, W, C))
    y = normal(r, (N,) + model.output_shape[1:])
    oh, ow = (
        (-(-H // s[0]), -(-W // s[1]))
        if pad == "same"
        else ((H - (k[0] - 1) * d[0] - 1) // s[0] + 1, (W - (k[1] - 1) * d[1] - 1) // s[1] + 1)
    )
    assert model.output_shape == (None, oh, ow, Fn)

    def fn(x, w0, b0, kern, bias):
        return torch_conv2d(torch_dense(x, w0, b0), kern, bias, s, pad, d)

    check_against_torch(model, fn, x, y, case)


def test_conv2d_activation_and_no_bias_match_torch():
    r = rng(2)
    model = Sequential([Input((6, 7, 2)), Dense(2), Conv2D(4, 3, padding="same", activation="relu", use_bias=False)])
    randomize(model, r)
    assert len(model.layers[1].get_weights()) == 1  # no bias
    x, y = normal(r, (3, 6, 7, 2)), normal(r, (3, 6, 7, 4))

    def fn(x, w0, b0, kern):
        return F.relu(torch_conv2d(torch_dense(x, w0, b0), kern, None, (1, 1), "same", (1, 1)))

    check_against_torch(model, fn, x, y, "conv2d relu no bias")


def test_conv2d_asymmetric_same_padding_sanity():
    """The 'same_even_kernel_asymmetric' case cannot pass with PyTorch-style symmetric or
    top/left padding: those outputs differ from TF's by far more than RTOL."""
    H, W, C, Fn, k, s, pad, d, N = CONV2D_CASES["same_even_kernel_asymmetric"]
    r = rng(1)
    model = Sequential([Input((H, W, C)), Conv2D(Fn, k, padding="same")])
    randomize(model, r)
    x = normal(r, (N, H, W, C))
    kern, bias = (torch.tensor(w, dtype=F64) for w in model.get_weights())
    xt = torch.tensor(x, dtype=F64)
    right = torch_conv2d(xt, kern, bias, s, "same", d).numpy()
    got = model.predict(x, verbose=0)
    assert_close(got, right)
    # The extra cell before instead of after (pads (left=2, right=1), (top=1, bottom=0)):
    wrong = nhwc(F.conv2d(F.pad(nchw(xt), (2, 1, 1, 0)), kern.permute(3, 2, 0, 1), bias)).numpy()
    assert np.abs(got - wrong).max() > 100 * RTOL * np.abs(right).max()


# ---------------------------------------------------------------------------
# Conv1D

CONV1D_CASES = {  # name: (L, C, F, kernel, strides, padding, dilation)
    "valid": (12, 3, 4, 3, 1, "valid", 1),
    "valid_strided_dilated": (15, 2, 3, 3, 2, "valid", 2),
    "same_strided": (12, 3, 4, 3, 2, "same", 1),
    "same_even_kernel": (11, 2, 3, 4, 1, "same", 1),
    "causal": (12, 3, 2, 3, 1, "causal", 1),
    "causal_dilated": (12, 3, 2, 3, 1, "causal", 2),
    "causal_dilated_strided": (13, 2, 3, 2, 3, "causal", 2),
}


@pytest.mark.parametrize("case", list(CONV1D_CASES), ids=list(CONV1D_CASES))
def test_conv1d_forward_and_gradients_match_torch(case):
    L, C, Fn, k, s, pad, d = CONV1D_CASES[case]
    r = rng(3)
    model = Sequential([Input((L, C)), Dense(C), Conv1D(Fn, k, strides=s, padding=pad, dilation_rate=d)])
    randomize(model, r)
    assert model.layers[1].get_weights()[0].shape == (k, C, Fn)
    x = normal(r, (4, L, C))
    y = normal(r, (4,) + model.output_shape[1:])

    def fn(x, w0, b0, kern, bias):
        h = torch_dense(x, w0, b0).permute(0, 2, 1)  # (N, C, L)
        if pad == "same":
            h = F.pad(h, tf_same_pads(L, k, s, d))
        elif pad == "causal":
            h = F.pad(h, ((k - 1) * d, 0))  # all the padding before: output t sees inputs <= t
        return F.conv1d(h, kern.permute(2, 1, 0), bias, stride=s, dilation=d).permute(0, 2, 1)

    check_against_torch(model, fn, x, y, case)


def test_conv1d_causal_output_does_not_see_the_future():
    r = rng(4)
    model = Sequential([Input((10, 2)), Conv1D(3, 4, padding="causal", dilation_rate=2)])
    randomize(model, r)
    x = normal(r, (1, 10, 2))
    x2 = x.copy()
    x2[0, 6:] += 5.0  # change steps 6..9 only
    a, b = model.predict(x, verbose=0), model.predict(x2, verbose=0)
    assert model.output_shape == (None, 10, 3)
    np.testing.assert_array_equal(a[0, :6], b[0, :6])
    assert np.abs(a[0, 6:] - b[0, 6:]).min() > 0


# ---------------------------------------------------------------------------
# Pooling

POOL_CASES = {  # name: (H, W, C, pool, strides, padding)
    "valid_2x2": (6, 6, 3, (2, 2), None, "valid"),
    "valid_odd_input_drops_last": (7, 7, 2, (2, 2), None, "valid"),
    "valid_overlapping": (7, 8, 2, (3, 3), (2, 2), "valid"),
    "valid_strides_differ_from_pool": (7, 8, 2, (2, 3), (3, 2), "valid"),
    "same_2x2_odd_input": (7, 7, 2, (2, 2), None, "same"),
    "same_overlapping": (8, 7, 2, (3, 3), (2, 2), "same"),
    "same_stride1": (5, 5, 2, (3, 3), (1, 1), "same"),
}


def torch_pool2d(kind, x, pool, strides, padding):
    """x (N, H, W, C) -> pooled, TF rules: 'same' pads after, padded cells are ignored."""
    xt = nchw(x)
    strides = strides or pool
    pads = (0, 0, 0, 0)
    if padding == "same":
        pt, pb = tf_same_pads(x.shape[1], pool[0], strides[0])
        pl, pr = tf_same_pads(x.shape[2], pool[1], strides[1])
        pads = (pl, pr, pt, pb)
    if kind == "max":
        y = F.max_pool2d(F.pad(xt, pads, value=-math.inf), pool, strides)
    else:  # mean over the real cells: window sums / window counts
        area = pool[0] * pool[1]
        sums = F.avg_pool2d(F.pad(xt, pads), pool, strides) * area
        counts = F.avg_pool2d(F.pad(torch.ones_like(xt), pads), pool, strides) * area
        y = sums / counts
    return nhwc(y)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", list(POOL_CASES), ids=list(POOL_CASES))
def test_pooling2d_forward_and_gradients_match_torch(kind, case):
    H, W, C, pool, strides, pad = POOL_CASES[case]
    r = rng(5)
    layer = (MaxPooling2D if kind == "max" else AveragePooling2D)(pool, strides=strides, padding=pad)
    model = Sequential([Input((H, W, C)), Dense(C), layer])
    randomize(model, r)
    x = normal(r, (3, H, W, C))
    y = normal(r, (3,) + model.output_shape[1:])
    s = strides or pool
    if pad == "same":
        expected = (None, -(-H // s[0]), -(-W // s[1]), C)
    else:
        expected = (None, (H - pool[0]) // s[0] + 1, (W - pool[1]) // s[1] + 1, C)
    assert model.output_shape == expected

    def fn(x, w0, b0):
        return torch_pool2d(kind, torch_dense(x, w0, b0), pool, strides, pad)

    check_against_torch(model, fn, x, y, f"{kind} {case}")


def test_average_pooling_same_ignores_padding_sanity():
    """Keras averages 'same' windows over real cells; counting the zero padding would differ."""
    x = np.ones((1, 3, 3, 1), dtype=np.float32)
    model = Sequential([Input((3, 3, 1)), AveragePooling2D((2, 2), padding="same")])
    out = model.predict(x, verbose=0)
    np.testing.assert_array_equal(out, np.ones((1, 2, 2, 1), dtype=np.float32))
    # Max pooling ignores padding too: an all-negative input keeps its values at the border.
    model = Sequential([Input((3, 3, 1)), MaxPooling2D((2, 2), padding="same")])
    out = model.predict(-np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1), verbose=0)
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1, -3], [-7, -9]])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pad", ["valid", "same"])
def test_pooling1d_matches_torch(kind, pad):
    r = rng(6)
    layer = (MaxPooling1D if kind == "max" else AveragePooling1D)(3, strides=2, padding=pad)
    model = Sequential([Input((11, 2)), Dense(2), layer])
    randomize(model, r)
    x = normal(r, (3, 11, 2))
    y = normal(r, (3,) + model.output_shape[1:])

    def fn(x, w0, b0):
        h = torch_dense(x, w0, b0)[:, None]  # (N, 1, L, C): a 2-D pool of height 1
        return torch_pool2d(kind, h, (1, 3), (1, 2), pad)[:, 0]

    check_against_torch(model, fn, x, y, f"{kind}1d {pad}")


@pytest.mark.parametrize(
    "layer_cls, reduce",
    [
        (GlobalAveragePooling2D, lambda t: t.mean(dim=(1, 2))),
        (GlobalMaxPooling2D, lambda t: t.amax(dim=(1, 2))),
    ],
)
def test_global_pooling2d_matches_torch(layer_cls, reduce):
    r = rng(7)
    model = Sequential([Input((5, 6, 3)), Dense(4), layer_cls()])
    randomize(model, r)
    assert model.output_shape == (None, 4)
    x, y = normal(r, (3, 5, 6, 3)), normal(r, (3, 4))
    check_against_torch(model, lambda x, w, b: reduce(torch_dense(x, w, b)), x, y, layer_cls.__name__)


@pytest.mark.parametrize("layer_cls, reduce", [(GlobalAveragePooling1D, np.mean), (GlobalMaxPooling1D, np.max)])
def test_global_pooling1d_and_keepdims(layer_cls, reduce):
    r = rng(8)
    x = normal(r, (3, 7, 4))
    model = Sequential([Input((7, 4)), layer_cls()])
    assert_close(model.predict(x, verbose=0), reduce(x.astype(np.float64), axis=1))
    model = Sequential([Input((7, 4)), layer_cls(keepdims=True)])
    assert model.output_shape == (None, 1, 4)
    assert_close(model.predict(x, verbose=0), reduce(x.astype(np.float64), axis=1, keepdims=True))


# ---------------------------------------------------------------------------
# Flatten and Reshape


def test_flatten_is_row_major_nhwc_and_matches_torch_after_permuting():
    r = rng(9)
    model = Sequential([Input((3, 4, 5)), Dense(2), Flatten(), Dense(3)])
    randomize(model, r)
    assert model.output_shape == (None, 3)
    assert model.layers[1].compute_output_shape((None, 3, 4, 2)) == (None, 24)
    x, y = normal(r, (4, 3, 4, 5)), normal(r, (4, 3))

    def fn(x, w0, b0, w1, b1):
        h = torch_dense(x, w0, b0)  # (N, H, W, C) already: flatten as pytrainc does (row-major NHWC)
        return torch_dense(h.reshape(len(h), -1), w1, b1)

    check_against_torch(model, fn, x, y, "flatten")
    # Sanity: torch's NCHW flatten order gives a different function.
    w0, b0, w1, b1 = (torch.tensor(w, dtype=F64) for w in model.get_weights())
    h = nchw(torch_dense(torch.tensor(x, dtype=F64), w0, b0))
    wrong = torch_dense(h.reshape(len(h), -1), w1, b1).numpy()
    assert np.abs(model.predict(x, verbose=0) - wrong).max() > 0.01

    plain = Sequential([Input((3, 4, 5)), Flatten()])
    np.testing.assert_array_equal(plain.predict(x, verbose=0), x.reshape(4, -1))


@pytest.mark.parametrize(
    "target, expected", [((3, 8), (3, 8)), ((-1, 4), (6, 4)), ((24,), (24,)), ((2, -1, 3), (2, 4, 3))]
)
def test_reshape_values_shape_and_gradient(target, expected):
    r = rng(10)
    x = normal(r, (3, 4, 6))
    plain = Sequential([Input((4, 6)), Reshape(target)])
    assert plain.output_shape == (None,) + expected
    np.testing.assert_array_equal(plain.predict(x, verbose=0), x.reshape((3,) + expected))

    model = Sequential([Input((4, 6)), Dense(6), Reshape(target), Dense(2)])
    randomize(model, r)
    y = normal(r, (3,) + expected[:-1] + (2,))

    def fn(x, w0, b0, w1, b1):
        return torch_dense(torch_dense(x, w0, b0).reshape((len(x),) + expected), w1, b1)

    check_against_torch(model, fn, x, y, f"reshape {target}")


def test_softmax_then_flatten_with_categorical_crossentropy_follows_keras():
    """A softmax over groups of 3, flattened to 6 outputs, then categorical cross-entropy: Keras
    normalizes the 6 probabilities (they sum to 2) before the log. A softmax fused into the loss
    would have to be over the 6 logits, which is another function, so it must not be fused here.
    ActivityRegularization(0, 0) in the second model only stops any fusion: both must agree."""
    r = rng(28)
    x = normal(r, (5, 4))
    y = np.eye(6, dtype=np.float32)[r.integers(0, 6, 5)]

    def build(tail):
        model = Sequential([Input((4,)), Dense(6), Reshape((2, 3)), Activation("softmax"), Flatten()] + tail)
        model.set_weights([normal(rng(29), (4, 6)), normal(rng(30), (6,))])
        model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=1.0), loss="categorical_crossentropy")
        return model

    w, b = (torch.tensor(v, dtype=F64, requires_grad=True) for v in build([]).get_weights())
    p = F.softmax(torch_dense(torch.tensor(x, dtype=F64), w, b).reshape(5, 2, 3), dim=-1).reshape(5, 6)
    p = (p / p.sum(dim=-1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
    loss = -(torch.tensor(y, dtype=F64) * p.log()).sum(dim=-1).mean()
    loss.backward()
    for tail in ([ActivityRegularization(0.0, 0.0)], []):
        model = build(tail)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(float(loss.detach()), rel=RTOL), f"tail={tail}"
        w0 = model.get_weights()[0].astype(np.float64)
        model.train_on_batch(x, y)
        assert_close(w0 - model.get_weights()[0], w.grad.numpy(), what=f"tail={tail}")


# ---------------------------------------------------------------------------
# BatchNormalization


def bn_model(shape, momentum=0.9, epsilon=1e-3, conv=False, **bn_kwargs):
    pre = Conv2D(4, 3, padding="same", use_bias=False) if conv else Dense(5, use_bias=False)
    bn = BatchNormalization(momentum=momentum, epsilon=epsilon, **bn_kwargs)
    return Sequential([Input(shape), pre, bn]), bn


def set_bn(model, r):
    """Random kernel, gamma, beta; positive moving variance."""
    ws = model.get_weights()
    c = ws[1].shape[0]
    model.set_weights(
        [
            normal(r, ws[0].shape, 0.7),
            1 + normal(r, (c,), 0.3),
            normal(r, (c,), 0.5),
            normal(r, (c,), 0.5),
            (0.5 + r.random(c)).astype(np.float32),
        ]
    )


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv2d"])
def test_batchnorm_training_forward_and_gradients_match_torch(conv):
    """train_on_batch normalizes with the batch's statistics: its loss and gradients equal
    F.batch_norm(training=True)'s (biased variance in the normalization, as both frameworks)."""
    r = rng(11)
    shape = (5, 6, 3) if conv else (4,)
    model, bn = bn_model(shape, conv=conv)
    set_bn(model, r)
    n = 6
    x = normal(r, (n,) + shape, 1.5) + 0.7  # a nonzero mean for the layer to remove
    y = normal(r, (n,) + model.output_shape[1:])
    kern, gamma, beta, mm, mv = model.get_weights()

    def fn(x, kern, gamma, beta):
        if conv:
            h = nchw(torch_conv2d(x, kern, None, (1, 1), "same", (1, 1)))
            return nhwc(F.batch_norm(h, None, None, gamma, beta, training=True, eps=1e-3))
        return F.batch_norm(x @ kern, None, None, gamma, beta, training=True, eps=1e-3)

    _, loss, grads = torch_reference(fn, [kern, gamma, beta], x, y)
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL)
    for name, g, ref in zip(["kernel", "gamma", "beta"], got[:3], grads):
        assert_close(g, ref, what=name)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_batchnorm_without_center_or_scale_matches_torch(center, scale):
    r = rng(31)
    bn = BatchNormalization(center=center, scale=scale)
    model = Sequential([Input((4,)), Dense(5, use_bias=False), bn])
    names = [v.name.rsplit("/", 1)[-1] for v in model.weights]
    assert names == ["kernel"] + ["gamma"] * scale + ["beta"] * center + ["moving_mean", "moving_variance"]
    model.set_weights(
        [normal(r, (4, 5))]
        + [1 + normal(r, (5,), 0.3) for _ in range(scale)]
        + [normal(r, (5,), 0.5) for _ in range(center)]
        + [np.zeros(5, np.float32), np.ones(5, np.float32)]
    )
    x, y = normal(r, (6, 4), 2.0) + 1.0, normal(r, (6, 5))
    n = 1 + scale + center

    def fn(x, kern, *gb):
        gamma = gb[0] if scale else None
        beta = gb[-1] if center else None
        return F.batch_norm(x @ kern, None, None, gamma, beta, training=True, eps=1e-3)

    _, loss, grads = torch_reference(fn, model.get_weights()[:n], x, y)
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL)
    for g, ref in zip(got[:n], grads):
        assert_close(g, ref)


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv2d"])
def test_batchnorm_moving_statistics_follow_keras3(conv):
    """moving = moving * momentum + batch_stat * (1 - momentum), with the biased batch variance."""
    r = rng(12)
    shape = (5, 6, 3) if conv else (4,)
    model, bn = bn_model(shape, momentum=0.8, conv=conv)
    set_bn(model, r)
    x = normal(r, (6,) + shape, 2.0) + 1.0
    y = normal(r, (6,) + model.output_shape[1:])
    kern, _, _, mm0, mv0 = (w.astype(np.float64) for w in model.get_weights())
    if conv:
        h = torch_conv2d(torch.tensor(x, dtype=F64), torch.tensor(kern), None, (1, 1), "same", (1, 1)).numpy()
        h = h.reshape(-1, h.shape[-1])
    else:
        h = x.astype(np.float64) @ kern
    mean, var = h.mean(axis=0), h.var(axis=0)  # np.var is the biased variance
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.train_on_batch(x, y)
    want_mm, want_mv = mm0 * 0.8 + mean * 0.2, mv0 * 0.8 + var * 0.2
    np.testing.assert_allclose(bn.moving_mean.numpy(), want_mm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), want_mv, rtol=1e-5, atol=1e-6)
    # Sanity: torch's running_var uses the unbiased variance, which differs here by far more.
    unbiased = mv0 * 0.8 + h.var(axis=0, ddof=1) * 0.2
    assert np.abs(unbiased - want_mv).min() > 1e-3
    # Moving statistics are not trained weights and not changed by evaluate/predict.
    assert {v.name for v in model.non_trainable_weights} == {bn.moving_mean.name, bn.moving_variance.name}
    before = model.get_weights()
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def bn_inference(h, gamma, beta, mm, mv, eps=1e-3):
    return gamma * (h - mm) / np.sqrt(mv + eps) + beta


def test_batchnorm_inference_uses_moving_statistics():
    r = rng(13)
    model, bn = bn_model((4,))
    set_bn(model, r)
    x = normal(r, (7, 4), 2.0) + 1.0
    y = normal(r, (7, 5))
    kern, gamma, beta, mm, mv = (w.astype(np.float64) for w in model.get_weights())
    want = bn_inference(x @ kern, gamma, beta, mm, mv)
    assert_close(model.predict(x, verbose=0), want)
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(np.mean((want - y) ** 2), rel=RTOL)
    # A batch-statistics forward would differ by far more (sanity).
    h = x @ kern
    batch = gamma * (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-3) + beta
    assert np.abs(batch - want).max() > 0.1


def check_frozen_bn(model, bn, r):
    """fit with a non-trainable BN: moving statistics normalize, nothing of the BN changes, and
    the gradient reaching the layer before is F.batch_norm(training=False)'s."""
    set_bn(model, r)
    x = normal(r, (6, 4), 2.0) + 1.0
    y = normal(r, (6, 5))
    assert len(model.trainable_weights) == 1  # only the Dense kernel
    kern, gamma, beta, mm, mv = model.get_weights()

    def fn(x, kern):
        t = [torch.tensor(w, dtype=F64) for w in (mm, mv, gamma, beta)]
        return F.batch_norm(x @ kern, t[0], t[1], t[2], t[3], training=False, eps=1e-3)

    _, loss, grads = torch_reference(fn, [kern], x, y)
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL)
    assert_close(got[0], grads[0], what="kernel")
    for name, before, after in zip(
        ["gamma", "beta", "moving_mean", "moving_variance"], [gamma, beta, mm, mv], model.get_weights()[1:]
    ):
        np.testing.assert_array_equal(after, before, err_msg=name)
    model.fit(x, y, batch_size=3, epochs=2, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), mv)


def test_frozen_batchnorm_from_constructor_uses_moving_statistics_in_fit():
    model, bn = bn_model((4,), trainable=False)
    check_frozen_bn(model, bn, rng(14))


def test_frozen_batchnorm_by_setting_trainable_after_build():
    """Keras 3's idiom `layer.trainable = False` (then compile) freezes a built layer."""
    model, bn = bn_model((4,))
    bn.trainable = False
    check_frozen_bn(model, bn, rng(14))


def test_setting_trainable_false_freezes_a_dense_layer():
    r = rng(15)
    first = Dense(3)
    model = Sequential([Input((4,)), first, Dense(2)])
    first.trainable = False
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=0.1), loss="mse")
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    before = model.get_weights()
    model.fit(normal(r, (8, 4)), normal(r, (8, 2)), epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])


# ---------------------------------------------------------------------------
# Dropout


def dropout_probe(rate, d, seed=None):
    """Input(d) -> Dropout -> Dense(1, no bias, zero kernel), trained on x = 1, y = -0.5.

    For one sample, MSE's gradient at the output is 2 * (0 - (-0.5)) = 1, so the Dense
    kernel's gradient is exactly the dropped input, and after an SGD step with lr=1 the
    kernel holds minus the applied mask (0 or 1 / (1 - rate) per feature)."""
    drop = Dropout(rate, seed=seed)
    model = Sequential([Input((d,)), drop, Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=1.0), loss="mse")
    return model


def next_mask(model, use_fit=False):
    d = model.input_shape[1]
    model.set_weights([np.zeros((d, 1), dtype=np.float32)])
    x, y = np.ones((1, d), dtype=np.float32), np.full((1, 1), -0.5, dtype=np.float32)
    if use_fit:
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
    else:
        model.train_on_batch(x, y)
    return -model.get_weights()[0][:, 0]


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_dropout_in_fit_drops_rate_and_scales_survivors(rate):
    d = 20000
    model = dropout_probe(rate, d, seed=3)
    scale = np.float32(1) / (np.float32(1) - np.float32(rate))
    for use_fit in (False, True):
        mask = next_mask(model, use_fit)
        kept = mask != 0
        np.testing.assert_allclose(mask[kept], scale, rtol=1e-6)
        # The number dropped is Binomial(d, rate): 5 standard deviations (a false alarm
        # has probability ~6e-7; a wrong rate, e.g. rate**2 or 1 - rate, is >100 sigmas off).
        bound = 5 * math.sqrt(rate * (1 - rate) / d)
        assert abs((~kept).mean() - rate) < bound


def test_dropout_draws_a_new_mask_each_step():
    model = dropout_probe(0.5, 1000, seed=4)
    a, b = next_mask(model), next_mask(model)
    assert (a != b).mean() > 0.3  # independent masks disagree on half the features


def test_dropout_does_nothing_in_predict_and_evaluate():
    r = rng(16)
    model = Sequential([Input((6,)), Dense(50, activation="relu"), Dropout(0.5, seed=1), Dense(2)])
    randomize(model, r)
    x, y = normal(r, (9, 6)), normal(r, (9, 2))
    w0, b0, w1, b1 = (w.astype(np.float64) for w in model.get_weights())
    want = np.maximum(x @ w0 + b0, 0) @ w1 + b1
    out = model.predict(x, verbose=0)
    assert_close(out, want)
    np.testing.assert_array_equal(model.predict(x, verbose=0), out)
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(np.mean((want - y) ** 2), rel=RTOL)
    # ...while a training step does see dropout: its reported loss is not the clean loss.
    assert model.train_on_batch(x, y) != pytest.approx(np.mean((want - y) ** 2), rel=1e-3)


def test_dropout_gradient_uses_the_forward_mask():
    """Input -> Dense(A) -> Dropout -> Dense(B): A's gradient equals torch's with the same mask.
    The mask is read from a probe with the same seed (equal seeds give equal masks)."""
    d, rate, seed = 32, 0.4, 11
    mask = next_mask(dropout_probe(rate, d, seed=seed))
    r = rng(17)
    model = Sequential([Input((5,)), Dense(d), Dropout(rate, seed=seed), Dense(2)])
    randomize(model, r)
    x, y = normal(r, (1, 5)), normal(r, (1, 2))
    m = torch.tensor(mask, dtype=F64)
    _, loss, grads = torch_reference(
        lambda x, w0, b0, w1, b1: torch_dense(torch_dense(x, w0, b0) * m, w1, b1), model.get_weights(), x, y
    )
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL)
    for g, ref in zip(got, grads):
        assert_close(g, ref)


def test_dropout_mask_is_the_seeded_uniform_draws():
    # The engine draws masks in blocks (csrc/rng.c's ptc_rng_fill_mask); they must stay the
    # draws of one ptc_rng_uniform per feature, in order: mask = scale where u < 1 - rate.
    # 1000 features: whole blocks of 256 and a partial one; two steps: the state advances by 1000.
    d, rate, seed = 1000, 0.3, 21
    model = dropout_probe(rate, d, seed=seed)
    state = pytrainc.utils.make_rng(seed)
    keep = np.float32(1) - np.float32(rate)
    for _ in range(2):
        u = np.empty(d, np.float32)
        _C.rng_fill(state, u, 0, 0.0, 1.0)  # low + (high - low) * u = u for [0, 1)
        want = np.where(u < keep, np.float32(1) / keep, np.float32(0))
        np.testing.assert_array_equal(next_mask(model), want)


def test_dropout_is_reproducible_for_a_seed_and_after_set_random_seed():
    def masks(seed=None, global_seed=None):
        if global_seed is not None:
            pytrainc.utils.set_random_seed(global_seed)
        model = dropout_probe(0.5, 500, seed=seed)
        return [next_mask(model) for _ in range(3)]

    a, b, c = masks(seed=123), masks(seed=123), masks(seed=124)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    g1, g2, g3 = masks(global_seed=7), masks(global_seed=7), masks(global_seed=8)
    for u, v in zip(g1, g2):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(g1[0], g3[0])


def test_dropout_rate_zero_is_identity_in_training():
    mask = next_mask(dropout_probe(0.0, 100, seed=1))
    np.testing.assert_array_equal(mask, np.ones(100, dtype=np.float32))


# ---------------------------------------------------------------------------
# Activations

ACTIVATIONS = {  # name: torch function
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.2),  # keras.activations.leaky_relu's default slope
    "elu": F.elu,
    "selu": F.selu,
    "gelu": lambda t: F.gelu(t, approximate="none"),  # Keras 3's default is the exact erf form
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6, Keras 3's definition
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
    "softmax": lambda t: F.softmax(t, dim=-1),
    "log_softmax": lambda t: F.log_softmax(t, dim=-1),
    "relu6": F.relu6,
    "mish": F.mish,
    "hard_tanh": F.hardtanh,
    "log_sigmoid": F.logsigmoid,
    "tanh_shrink": F.tanhshrink,
    "exponential": torch.exp,
    "celu": F.celu,  # alpha 1.0, Keras's default
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "squareplus": lambda t: (t + torch.sqrt(t * t + 4)) / 2,  # b = 4, Keras's default
    "sparse_plus": lambda t: torch.where(t <= -1, 0.0, torch.where(t >= 1, t, (t + 1) ** 2 / 4)),
    "hard_shrink": lambda t: F.hardshrink(t, 0.5),
    "soft_shrink": lambda t: F.softshrink(t, 0.5),
}


def activation_check(model, act, r, what):
    randomize(model, r)
    # Pre-activations of scale ~3 cover both sides of every kink and saturation (+-3 for hard_sigmoid).
    x = normal(r, (8, 4), 3.0)
    y = normal(r, (8, 6))

    def fn(x, w, b):
        return act(torch_dense(x, w, b))

    check_against_torch(model, fn, x, y, what)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_string_in_dense_matches_torch(name):
    model = Sequential([Input((4,)), Dense(6, activation=name)])
    activation_check(model, ACTIVATIONS[name], rng(18), f"Dense(activation={name!r})")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_layer_matches_torch(name):
    model = Sequential([Input((4,)), Dense(6), Activation(name)])
    activation_check(model, ACTIVATIONS[name], rng(19), f"Activation({name!r})")


@pytest.mark.parametrize(
    "layer, act",
    [
        (ReLU(), F.relu),
        (ReLU(negative_slope=0.1), lambda t: F.leaky_relu(t, 0.1)),
        (LeakyReLU(), lambda t: F.leaky_relu(t, 0.3)),  # the layer's default slope is 0.3, not 0.2
        (LeakyReLU(negative_slope=0.05), lambda t: F.leaky_relu(t, 0.05)),
        (ELU(), F.elu),
        (ELU(alpha=0.5), lambda t: F.elu(t, 0.5)),
        (Softmax(), lambda t: F.softmax(t, dim=-1)),
    ],
    ids=["relu", "relu_slope", "leaky_default", "leaky_0.05", "elu", "elu_0.5", "softmax"],
)
def test_activation_layers_match_torch(layer, act):
    model = Sequential([Input((4,)), Dense(6), layer])
    activation_check(model, act, rng(20), type(layer).__name__)


def test_activation_functions_are_accepted_as_objects():
    model = Sequential([Input((4,)), Dense(6, activation=pytrainc.activations.gelu)])
    assert model.layers[0].activation == "gelu"
    activation_check(model, ACTIVATIONS["gelu"], rng(21), "Dense(activation=activations.gelu)")


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "silu"])
def test_numpy_activation_functions_match_torch(name):
    x = normal(rng(22), (5, 7), 3.0)
    got = getattr(pytrainc.activations, name)(x)
    assert_close(got, ACTIVATIONS[name](torch.tensor(x, dtype=F64)).numpy(), what=name)


def test_activation_on_images_applies_per_pixel_and_softmax_on_channels():
    r = rng(23)
    x = normal(r, (2, 3, 4, 5), 2.0)
    model = Sequential([Input((3, 4, 5)), Activation("softmax")])
    assert_close(model.predict(x, verbose=0), F.softmax(torch.tensor(x, dtype=F64), dim=-1).numpy())


# ---------------------------------------------------------------------------
# Regularizers


def penalty_of(l1, l2):
    return lambda t: l1 * t.abs().sum() + l2 * (t**2).sum()


REGULARIZERS = {  # name: (factory, l1, l2)
    "l1_fn": (lambda: regularizers.l1(0.02), 0.02, 0.0),
    "l2_fn": (lambda: regularizers.l2(0.03), 0.0, 0.03),
    "l1_l2_fn": (lambda: regularizers.l1_l2(l1=0.01, l2=0.04), 0.01, 0.04),
    "L1": (lambda: regularizers.L1(0.05), 0.05, 0.0),
    "L2": (lambda: regularizers.L2(0.01), 0.0, 0.01),
    "L1L2": (lambda: regularizers.L1L2(l1=0.03, l2=0.02), 0.03, 0.02),
    "string_l2_default": (lambda: "l2", 0.0, 0.01),  # Keras: l2(0.01) adds 0.01 * sum(w**2)
    "string_l1_default": (lambda: "l1", 0.01, 0.0),
}


def regularized_check(model, fn, weights_index, slot, l1, l2, x, y):
    """train_on_batch's loss = MSE + penalty (weights before the step); its gradient step =
    torch's with the penalty in the loss; evaluate's loss = MSE + penalty after the step."""
    pen = penalty_of(l1, l2)

    def penalty(out, *ws):
        # Keras 3 (Layer.__call__) divides an activity penalty by the batch size.
        return pen(out) / out.shape[0] if slot == "activity" else pen(ws[weights_index])

    weights = model.get_weights()
    _, loss, grads = torch_reference(fn, weights, x, y, penalty)
    _, plain_loss, _ = torch_reference(fn, weights, x, y)
    assert loss - plain_loss > 1e-3 * loss  # the penalty matters at this tolerance
    reported, got = sgd_step(model, x, y)
    assert reported == pytest.approx(loss, rel=RTOL)
    for g, ref in zip(got, grads):
        assert_close(g, ref)
    _, after_loss, _ = torch_reference(fn, model.get_weights(), x, y, penalty)
    assert model.evaluate(x, y, batch_size=len(x), verbose=0) == pytest.approx(after_loss, rel=RTOL)


@pytest.mark.parametrize("slot", ["kernel", "bias", "activity"])
@pytest.mark.parametrize("reg", list(REGULARIZERS))
def test_dense_regularizers_follow_keras_formulas(reg, slot):
    factory, l1, l2 = REGULARIZERS[reg]
    layer = Dense(3, activation="tanh", **{f"{slot}_regularizer": factory()})
    model = Sequential([Input((4,)), layer])
    r = rng(24)
    randomize(model, r)
    # 8 samples: an activity penalty not divided by the batch size (Keras 3 divides) would be 8x too large.
    x, y = normal(r, (8, 4)), normal(r, (8, 3))
    regularized_check(
        model, lambda x, w, b: torch.tanh(torch_dense(x, w, b)), {"kernel": 0, "bias": 1}.get(slot), slot, l1, l2, x, y
    )


@pytest.mark.parametrize("slot", ["kernel", "bias", "activity"])
@pytest.mark.parametrize("reg", ["l1_l2_fn", "L2", "L1"])
def test_conv2d_regularizers_follow_keras_formulas(reg, slot):
    factory, l1, l2 = REGULARIZERS[reg]
    model = Sequential([Input((5, 5, 2)), Conv2D(3, 3, padding="same", **{f"{slot}_regularizer": factory()})])
    r = rng(25)
    randomize(model, r)
    x, y = normal(r, (4, 5, 5, 2)), normal(r, (4, 5, 5, 3))
    regularized_check(
        model,
        lambda x, k, b: torch_conv2d(x, k, b, (1, 1), "same", (1, 1)),
        {"kernel": 0, "bias": 1}.get(slot),
        slot,
        l1,
        l2,
        x,
        y,
    )


def test_activity_regularization_layer_and_penalty_reported_by_fit():
    r = rng(26)
    model = Sequential([Input((4,)), Dense(3), ActivityRegularization(l1=0.01, l2=0.02)])
    randomize(model, r)
    x, y = normal(r, (8, 4)), normal(r, (8, 3))
    regularized_check(model, lambda x, w, b: torch_dense(x, w, b), None, "activity", 0.01, 0.02, x, y)
    # fit's logged loss (one batch) is the same penalized loss.
    model.compile(optimizer=pytrainc.optimizers.SGD(learning_rate=0.0), loss="mse")
    w, b = (torch.tensor(v, dtype=F64) for v in model.get_weights())
    out = torch_dense(torch.tensor(x, dtype=F64), w, b)
    want = float(F.mse_loss(out, torch.tensor(y, dtype=F64)) + penalty_of(0.01, 0.02)(out) / len(x))
    hist = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(want, rel=RTOL)


def test_regularizer_objects_compute_keras_penalties():
    w = normal(rng(27), (6, 5))
    w64 = w.astype(np.float64)
    assert regularizers.l2(0.01)(w) == pytest.approx(0.01 * np.sum(w64**2), rel=1e-12)
    assert regularizers.L1(0.3)(w) == pytest.approx(0.3 * np.sum(np.abs(w64)), rel=1e-12)
    assert regularizers.l1_l2(l1=0.1, l2=0.2)(w) == pytest.approx(
        0.1 * np.abs(w64).sum() + 0.2 * (w64**2).sum(), rel=1e-12
    )
    assert regularizers.get("l1_l2")(w) == 0.0  # Keras 3's L1L2 defaults to l1=l2=0
    with pytest.raises(ValueError, match="finite number >= 0"):
        regularizers.l2(-0.1)


# ---------------------------------------------------------------------------
# Initializers

FANS_DENSE = (300, 200)  # fan_in 300, fan_out 200
FANS_CONV = (3, 3, 16, 32)  # fan_in 144, fan_out 288


def fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def normal_cdf(z):
    return 0.5 * (1 + _erf(z / math.sqrt(2)))


def ks_statistic(sample, cdf):
    s = np.sort(sample.astype(np.float64).ravel())
    n = s.size
    c = cdf(s)
    return max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))


def check_distribution(w, kind, a, b):
    """kind 'uniform' on [a, b), 'normal' (mean a, std b) or 'truncated' (a normal of mean a and
    std b cut at a +- 2b, TF's truncated normal). Checks the support, the mean and the variance
    within 5 standard errors, and the whole distribution with a Kolmogorov-Smirnov statistic
    below 2.23 / sqrt(n) (its exceedance probability is 2 exp(-2 * 2.23**2) = 1e-4)."""
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    if kind == "uniform":
        assert w.min() >= a and w.max() <= b
        mean, var, kurt = (a + b) / 2, (b - a) ** 2 / 12, 1.8

        def cdf(s):
            return np.clip((s - a) / (b - a), 0, 1)
    elif kind == "normal":
        mean, var, kurt = a, b**2, 3.0

        def cdf(s):
            return normal_cdf((s - a) / b)
    else:
        assert np.abs(w - a).max() <= 2 * b * (1 + 1e-6)
        z = normal_cdf(np.array([2.0]))[0] - normal_cdf(np.array([-2.0]))[0]
        # variance of a unit normal truncated to [-2, 2]: 1 - 2 * 2 * phi(2) / Z
        phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
        mean, var, kurt = a, b**2 * (1 - 4 * phi2 / z), 3.0  # kurtosis below the normal's: bound safe

        def cdf(s):
            return (normal_cdf((s - a) / b) - normal_cdf(np.array([-2.0]))[0]) / z

    sd = math.sqrt(var)
    assert abs(w.mean() - mean) < 5 * sd / math.sqrt(n)
    # Var of the sample variance is (mu4 - sigma**4) / n = (kurtosis - 1) sigma**4 / n.
    assert abs(w.var() - var) < 5 * var * math.sqrt((kurt - 1) / n)
    assert ks_statistic(w, cdf) < 2.23 / math.sqrt(n)


VS_INITS = {  # name: (scale, mode, distribution) as Keras 3 defines them
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated"),
}


@pytest.mark.parametrize("shape", [FANS_DENSE, FANS_CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", list(VS_INITS))
def test_variance_scaling_initializers_have_keras_distributions(name, shape):
    scale, mode, dist = VS_INITS[name]
    fan_in, fan_out = fans(shape)
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    pytrainc.utils.set_random_seed(31)
    w = initializers.get(name)(shape)
    assert w.shape == shape and w.dtype == np.float32
    if dist == "uniform":
        limit = math.sqrt(3 * scale / fan)
        check_distribution(w, "uniform", -limit, limit)
    else:  # Keras: truncated normal with stddev sqrt(scale / fan) / .8796 (so the result has sqrt(scale / fan))
        # (check_distribution's variance check is then against scale / fan itself)
        check_distribution(w, "truncated", 0.0, math.sqrt(scale / fan) / 0.87962566103423978)


@pytest.mark.parametrize(
    "name, kind, a, b",
    [
        ("random_uniform", "uniform", -0.05, 0.05),
        ("random_normal", "normal", 0.0, 0.05),
        ("truncated_normal", "truncated", 0.0, 0.05),
    ],
)
def test_random_initializers_keras_defaults(name, kind, a, b):
    pytrainc.utils.set_random_seed(32)
    check_distribution(initializers.get(name)((200, 300)), kind, a, b)


@pytest.mark.parametrize(
    "init, kind, a, b",
    [
        (initializers.RandomUniform(minval=1.0, maxval=3.0, seed=1), "uniform", 1.0, 3.0),
        (initializers.RandomNormal(mean=2.0, stddev=0.5, seed=2), "normal", 2.0, 0.5),
        (initializers.TruncatedNormal(mean=-1.0, stddev=0.3, seed=3), "truncated", -1.0, 0.3),
    ],
)
def test_random_initializers_with_arguments(init, kind, a, b):
    check_distribution(init((250, 240)), kind, a, b)


def test_constant_initializers():
    np.testing.assert_array_equal(initializers.get("zeros")((3, 4)), np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(initializers.get("ones")((2, 5)), np.ones((2, 5), np.float32))
    np.testing.assert_array_equal(initializers.Constant(0.25)((4,)), np.full(4, 0.25, np.float32))
    assert initializers.get("constant")((2,)).tolist() == [0.0, 0.0]
    model = Sequential([Input((3,)), Dense(2, kernel_initializer=initializers.Constant(1.5), bias_initializer="ones")])
    k, b = model.get_weights()
    np.testing.assert_array_equal(k, np.full((3, 2), 1.5, np.float32))
    np.testing.assert_array_equal(b, np.ones(2, np.float32))


SEEDED_INITS = (
    list(VS_INITS)
    + ["random_uniform", "random_normal", "truncated_normal"]
    + (["orthogonal"] if hasattr(initializers, "Orthogonal") else [])
)


@pytest.mark.parametrize("name", SEEDED_INITS)
def test_initializers_are_reproducible(name):
    cls = type(initializers.get(name))
    a, b, c = cls(seed=5)((20, 30)), cls(seed=5)((20, 30)), cls(seed=6)((20, 30))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # A seeded initializer gives the same values on every call, as in Keras.
    seeded = cls(seed=5)
    np.testing.assert_array_equal(seeded((20, 30)), seeded((20, 30)))
    # Unseeded ones draw from the global generator: reproducible after set_random_seed.
    pytrainc.utils.set_random_seed(9)
    u1, u2 = initializers.get(name)((20, 30)), initializers.get(name)((20, 30))
    pytrainc.utils.set_random_seed(9)
    np.testing.assert_array_equal(initializers.get(name)((20, 30)), u1)
    assert not np.array_equal(u1, u2)


def test_models_built_after_set_random_seed_have_identical_weights():
    def build():
        return Sequential(
            [
                Input((6, 6, 2)),
                Conv2D(3, 3, kernel_initializer="he_normal"),
                Flatten(),
                Dense(4, kernel_initializer="lecun_uniform", bias_initializer="random_normal"),
            ]
        )

    pytrainc.utils.set_random_seed(77)
    a = build().get_weights()
    pytrainc.utils.set_random_seed(77)
    b = build().get_weights()
    c = build().get_weights()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_orthogonal_initializer():
    """Keras's Orthogonal: for (rows, cols), orthonormal columns (rows >= cols) or rows, times gain."""
    if not hasattr(initializers, "Orthogonal"):
        pytest.skip("pytrainc.initializers has no Orthogonal initializer (reported as missing)")
    for shape in [(50, 20), (20, 50), (3, 3, 4, 8)]:
        w = initializers.get("orthogonal")(shape).reshape(-1, shape[-1]).astype(np.float64)
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
    w = initializers.Orthogonal(gain=2.0, seed=1)((10, 10)).astype(np.float64)
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(10), atol=1e-4)


# ---------------------------------------------------------------------------
# Bad input: clear exceptions, never a crash


def test_conv_model_fed_wrong_channel_count_names_both_shapes():
    model = Sequential([Input((32, 32, 3)), Conv2D(4, 3), MaxPooling2D()])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"\(None, 32, 32, 3\).*\(2, 32, 32, 1\)"):
        model.predict(np.zeros((2, 32, 32, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 32, 32, 3\).*\(2, 32, 32\)"):
        model.fit(np.zeros((2, 32, 32), np.float32), np.zeros((2, 15, 15, 4)), verbose=0)


@pytest.mark.parametrize(
    "layer", [Conv2D(4, 3), MaxPooling2D(), AveragePooling2D(2)], ids=["conv2d", "maxpool", "avgpool"]
)
def test_image_layers_refuse_wrong_rank(layer):
    with pytest.raises(ValueError, match=r"rank 4.*\(None, 32, 3\)"):
        Sequential([Input((32, 3)), layer])


def test_conv1d_refuses_image_input():
    with pytest.raises(ValueError, match=r"rank 3.*\(None, 8, 8, 3\)"):
        Sequential([Input((8, 8, 3)), Conv1D(2, 3)])


def test_built_conv_layer_refuses_other_channel_count():
    conv = Conv2D(4, 3)
    x = Input((32, 32, 3))
    Model(inputs=x, outputs=conv(x))
    with pytest.raises(ValueError, match=r"built for input shape \(None, 32, 32, 3\).*\(None, 32, 32, 1\)"):
        conv(Input((32, 32, 1)))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: Conv2D(2, (5, 5)), (4, 4, 1)),
        (lambda: Conv2D(2, (3, 3), dilation_rate=3), (6, 6, 1)),  # spans 7 > 6
        (lambda: Conv1D(2, 6), (5, 1)),
    ],
    ids=["conv2d", "conv2d_dilated", "conv1d"],
)
def test_kernel_larger_than_input_with_valid_padding(make, shape):
    with pytest.raises(ValueError, match="larger than its input"):
        Sequential([Input(shape), make()])


def test_same_padding_accepts_a_kernel_larger_than_the_input():
    model = Sequential([Input((4, 4, 1)), Conv2D(2, (5, 5), padding="same")])
    assert model.output_shape == (None, 4, 4, 2)


@pytest.mark.parametrize("layer_cls", [MaxPooling2D, AveragePooling2D])
def test_pool_larger_than_input(layer_cls):
    with pytest.raises(ValueError, match="larger than its input"):
        Sequential([Input((3, 5, 2)), layer_cls((4, 2))])


@pytest.mark.parametrize("rate", [1.0, 1, -0.1, 1.5, float("nan"), float("inf"), "0.5", None, True])
def test_dropout_rate_outside_range(rate):
    with pytest.raises(ValueError, match=r"rate.*\[?0.*1"):
        Dropout(rate)


@pytest.mark.parametrize("target, shape", [((5, 5), (4, 6)), ((-1, 5), (4, 6)), ((7,), (2, 3))])
def test_reshape_with_incompatible_sizes(target, shape):
    with pytest.raises(ValueError, match="Reshape") as info:
        Sequential([Input(shape), Reshape(target)])
    assert str(shape) in str(info.value) and str(target) in str(info.value)


def test_reshape_refuses_two_unknown_axes_and_zero():
    for target in [(-1, -1), (0, 4), (-2, 3)]:
        with pytest.raises(ValueError, match="target_shape"):
            Reshape(target)


@pytest.mark.parametrize("shapes, axis", [([(4, 3), (5, 3)], -1), ([(4, 3), (4, 2)], 1), ([(4,), (4, 1)], -1)])
def test_concatenate_of_mismatched_shapes(shapes, axis):
    a, b = Input(shapes[0]), Input(shapes[1])
    with pytest.raises(ValueError, match=r"Concatenate.*Received"):
        Concatenate(axis=axis)([a, b])


def test_merge_layers_refuse_mismatched_shapes_and_single_tensors():
    a, b = Input((4,)), Input((5,))
    with pytest.raises(ValueError, match=r"same shape.*\(None, 4\).*\(None, 5\)"):
        Add()([a, b])
    with pytest.raises(ValueError, match="list of inputs"):
        Add()(a)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Conv2D(0, 3),
        lambda: Conv2D(2, 0),
        lambda: Conv2D(2, 3, strides=0),
        lambda: Conv2D(2, 3, padding="full"),
        lambda: Conv2D(2, 3, padding="causal"),
        lambda: MaxPooling2D(padding="full"),
        lambda: Conv1D(2, (3, 3)),
        lambda: BatchNormalization(axis=1.5),
        lambda: BatchNormalization(momentum=1.5),
        lambda: BatchNormalization(epsilon=0.0),
        lambda: Conv2D(2, 3, data_format="channels_first"),
    ],
    ids=[
        "filters0",
        "kernel0",
        "strides0",
        "padding_full",
        "conv2d_causal",
        "pool_padding",
        "conv1d_2d_kernel",
        "bn_axis",
        "bn_momentum",
        "bn_epsilon",
        "channels_first",
    ],
)
def test_layer_arguments_are_validated(make):
    with pytest.raises(ValueError):
        make()
