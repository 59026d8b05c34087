"""Every registered op on its own (`_C.run_op`, through the engine's dispatch table):
forward against torch or NumPy, backward against finite differences.

CASES holds one or more cases per op of `_C.OPS`; tests/csrc/test_registry.py checks that
none is missing.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pytrainc import _C
from pytrainc._plan import PlanBuilder, pack_named
from pytrainc.testing import f32, run_op

RNG_STATE = np.array([1, 2, 3, 4], dtype=np.uint64)


def run(name, ins, out_size, params=None, dout=None, training=True, **args):
    """Runs op `name` on float32 inputs (N, size_k); params: {name: array} of its weights."""
    return run_op(name, ins, out_size, params, dout, training, RNG_STATE.copy(), **args)


def t(x):
    return torch.from_numpy(np.asarray(x, np.float64))


R = np.random.default_rng(0)
N = 3


def conv_case():
    H, W, C, KH, KW, F_ = 5, 6, 2, 3, 2, 4
    x, k, b = R.normal(size=(N, H, W, C)), R.normal(size=(KH, KW, C, F_)), R.normal(size=F_)
    # stride 2x1, dilation 1x2, 'same'-like padding top 1, left 1 (torch pads symmetrically: OH, OW follow)
    SH, SW, DH, DW, PT, PL = 2, 1, 1, 2, 1, 1
    ref = (
        F.conv2d(
            t(x).permute(0, 3, 1, 2),
            t(k).permute(3, 2, 0, 1),
            t(b),
            stride=(SH, SW),
            padding=(PT, PL),
            dilation=(DH, DW),
        )
        .permute(0, 2, 3, 1)
        .numpy()
    )
    OH, OW = ref.shape[1:3]
    args = dict(h=H, w=W, c=C, kh=KH, kw=KW, f=F_, sh=SH, sw=SW, dh=DH, dw=DW, pt=PT, pl=PL, oh=OH, ow=OW)
    return dict(ins=[x.reshape(N, -1)], params={"kernel": k, "bias": b}, args=args, ref=ref.reshape(N, -1))


def pool_case(name, relu=0):
    """relu=1: the max pool with a ReLU folded in (the plan's fold, pytrainc/_plan.py), against
    torch's max_pool2d(relu(x)); half the inputs negative, so whole windows pass no gradient."""
    H, W, C, KH, KW, SH, SW = 5, 6, 3, 2, 3, 2, 2
    # Distinct values 0.1 apart, none 0, so no finite-difference step (1e-2) changes a window's
    # argmax or crosses the ReLU's kink.
    x = R.permutation(N * H * W * C).reshape(N, H, W, C) * 0.1 - (0.05 + 0.1 * (N * H * W * C // 2)) * relu
    tx = t(x).permute(0, 3, 1, 2)
    tx = F.relu(tx) if relu else tx
    pooled = F.max_pool2d(tx, (KH, KW), (SH, SW)) if name == "maxpool2d" else F.avg_pool2d(tx, (KH, KW), (SH, SW))
    ref = pooled.permute(0, 2, 3, 1).numpy()
    OH, OW = ref.shape[1:3]
    args = dict(h=H, w=W, c=C, kh=KH, kw=KW, sh=SH, sw=SW, pt=0, pl=0, oh=OH, ow=OW)
    if name == "maxpool2d":
        args["relu"] = relu
    return dict(ins=[x.reshape(N, -1)], args=args, ref=ref.reshape(N, -1), **({"op": name} if relu else {}))


def batchnorm_case():
    rows, C = 4, 3
    x, g, b = R.normal(size=(N, rows, C)), R.uniform(0.5, 2, C), R.normal(size=C)
    flat = x.reshape(-1, C)
    ref = (flat - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-3) * g + b  # Keras: biased batch variance
    params = {"gamma": g, "beta": b, "moving_mean": np.zeros(C), "moving_var": np.ones(C)}
    return dict(
        ins=[x.reshape(N, -1)],
        params=params,
        args=dict(c=C, frozen=0, momentum=0.99, epsilon=1e-3),
        ref=ref.reshape(N, -1),
        fd_params=("gamma", "beta"),
    )


def merge_case(name):
    a, b, c = (R.normal(size=(N, 5)) for _ in range(3))
    ins = [a, b] if name == "subtract" else [a, b, c]
    ref = {
        "add": a + b + c,
        "subtract": a - b,
        "multiply": a * b * c,
        "average": (a + b + c) / 3,
        "maximum": np.maximum(np.maximum(a, b), c),
        "minimum": np.minimum(np.minimum(a, b), c),
    }[name]
    return dict(ins=ins, args={}, ref=ref)


def sparsemax_reference(x):
    """Sparsemax by its definition: the Euclidean projection of each row onto the simplex, by bisection on tau."""
    lo, hi = x.max(-1, keepdims=True) - 1, x.max(-1, keepdims=True)
    for _ in range(200):
        tau = (lo + hi) / 2
        over = np.maximum(x - tau, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(over, tau, lo), np.where(over, hi, tau)
    return np.maximum(x - (lo + hi) / 2, 0)


def activation_cases():
    x = R.normal(size=(N, 6)) * 2
    tx = t(x)
    refs = {
        "linear": x,
        "relu": F.relu(tx),
        "sigmoid": torch.sigmoid(tx),
        "tanh": torch.tanh(tx),
        "softmax": F.softmax(tx, -1),
        "leaky_relu": F.leaky_relu(tx, 0.2),
        "elu": F.elu(tx, 1.0),
        "selu": F.selu(tx),
        "gelu": F.gelu(tx),
        "gelu_tanh": F.gelu(tx, approximate="tanh"),
        "hard_sigmoid": F.relu6(tx + 3) / 6,
        "softplus": F.softplus(tx),
        "softsign": F.softsign(tx),
        "swish": F.silu(tx),
        "log_softmax": F.log_softmax(tx, -1),
        "relu6": F.relu6(tx),
        "mish": F.mish(tx),
        "hard_tanh": F.hardtanh(tx),
        "log_sigmoid": F.logsigmoid(tx),
        "tanh_shrink": F.tanhshrink(tx),
        "exponential": torch.exp(tx),
        "celu": F.celu(tx, 0.7),
        "hard_silu": F.hardswish(tx),
        "squareplus": (tx + torch.sqrt(tx * tx + 4)) / 2,
        "sparse_plus": torch.where(tx <= -1, 0.0, torch.where(tx >= 1, tx, (tx + 1) ** 2 / 4)),
        "hard_shrink": F.hardshrink(tx, 0.5),
        "soft_shrink": F.softshrink(tx, 0.5),
        "sparse_sigmoid": torch.clamp((tx + 1) / 2, 0, 1),
        "sparsemax": sparsemax_reference(x),
    }
    assert set(refs) == set(_C.ACTIVATIONS), "an activation kind has no reference here"
    alpha = {"leaky_relu": 0.2, "elu": 1.0, "celu": 0.7, "squareplus": 4.0, "hard_shrink": 0.5, "soft_shrink": 0.5}
    return {
        f"activation-{k}": dict(
            op="activation",
            ins=[x],
            args=dict(kind=_C.ACTIVATIONS[k], width=6, alpha=alpha.get(k, 0.0)),
            ref=np.asarray(v),
        )
        for k, v in refs.items()
    }


def prim_cases():
    """The primitive ops of pytrainc.ops (csrc/prim.c), with broadcasting and weights as operands.

    Per-sample shapes (2, 3, 4) sit in D3..D5 (left-padded to D1..D5): bit 2 + j of a mask is axis j.
    """
    from pytrainc.ops._trace import dims_args, mask_of

    U, B, Rk = _C.UNARY_KINDS, _C.BINARY_KINDS, _C.REDUCE_KINDS
    a, b = R.normal(size=(N, 2, 3, 4)), R.normal(size=(N, 3, 1))
    w = R.normal(size=(4,))
    x = R.normal(size=(N, 2, 3, 4))
    m1, m2, wk = R.normal(size=(N, 2, 3, 4)), R.normal(size=(N, 2, 4, 5)), R.normal(size=(4, 3))
    bcast = dict(kind=B["divide"], **dims_args((2, 3, 4)), mask_a=mask_of((2, 3, 4), 3), mask_b=mask_of((3, 1), 3))
    b_pos = np.abs(b) + 0.5
    return {
        "unary-exp": dict(
            op="unary", ins=[x.reshape(N, -1)], args=dict(kind=U["exp"], alpha=0, beta=0), ref=np.exp(x).reshape(N, -1)
        ),
        "unary-pow": dict(
            op="unary",
            ins=[np.abs(x.reshape(N, -1)) + 0.5],
            args=dict(kind=U["pow_scalar"], alpha=1.5, beta=0),
            ref=(np.abs(x.reshape(N, -1)) + 0.5) ** 1.5,
        ),
        "binary-broadcast": dict(
            op="binary",
            ins=[a.reshape(N, -1), b_pos.reshape(N, -1)],
            params={"lhs": None, "rhs": None},
            args=bcast,
            ref=(a / b_pos[:, None]).reshape(N, -1),
        ),
        "binary-weight": dict(
            op="binary",
            ins=[a.reshape(N, -1)],
            params={"lhs": None, "rhs": w},
            args=dict(kind=B["multiply"], **dims_args((2, 3, 4)), mask_a=0, mask_b=mask_of((4,), 3)),
            ref=(a * w).reshape(N, -1),
        ),
        "reduce-mean": dict(
            op="reduce",
            ins=[x.reshape(N, -1)],
            args=dict(kind=Rk["mean"], **dims_args((2, 3, 4)), axes=(1 << 2) | (1 << 4)),
            ref=x.mean(axis=(1, 3)).reshape(N, -1),
        ),
        "reduce-max": dict(
            op="reduce",
            ins=[x.reshape(N, -1)],
            args=dict(kind=Rk["max"], **dims_args((2, 3, 4)), axes=(1 << 3) | (1 << 4)),
            ref=x.max(axis=(2, 3)).reshape(N, -1),
        ),
        "matmul-weight": dict(
            op="matmul",
            ins=[x.reshape(N, -1)],
            params={"lhs": None, "rhs": wk},
            args=dict(batch=1, m=6, k=4, cols=3, bcast_a=0, per_batch_a=0, per_batch_b=0, bcast_b=1),
            ref=(x.reshape(N, 6, 4) @ wk).reshape(N, -1),
        ),
        "matmul-batched": dict(
            op="matmul",
            ins=[m1.reshape(N, -1), m2.reshape(N, -1)],
            params={"lhs": None, "rhs": None},
            args=dict(batch=2, m=3, k=4, cols=5, bcast_a=0, per_batch_a=0, per_batch_b=0, bcast_b=0),
            ref=(m1 @ m2).reshape(N, -1),
        ),
        "where": dict(  # the condition is a weight (0/1, no gradient): finite differences skip it
            ins=[a.reshape(N, -1), b.reshape(N, -1)],
            params={"cond": (w > 0).astype(float), "lhs": None, "rhs": None},
            fd_params=[],
            args=dict(**dims_args((2, 3, 4)), mask_c=mask_of((4,), 3), mask_a=0, mask_b=mask_of((3, 1), 3)),
            ref=np.where(w > 0, a, b[:, None]).reshape(N, -1),
        ),
        "transpose": dict(
            ins=[x.reshape(N, -1)],
            args=dict(**dims_args((2, 3, 4)), p1=0, p2=1, p3=4, p4=2, p5=3),
            ref=x.transpose(0, 3, 1, 2).reshape(N, -1),
        ),
    }


def torch_rnn(cell, inputs, units, seed=0):
    """A torch nn.RNN/LSTM/GRU (float64, seeded) and its weights in Keras's layout.

    Keras and torch share the LSTM's gate order (i, f, c/g, o); the GRU's Keras z, r, h
    are torch's rows z (U:2U), r (0:U), n (2U:3U), and its bias rows are torch's b_ih
    and b_hh. The other cells' single bias is b_ih + b_hh.
    """
    torch.manual_seed(seed)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell]
    m = module(inputs, units, batch_first=True).double()
    perm = np.r_[units : 2 * units, 0:units, 2 * units : 3 * units] if cell == "gru" else slice(None)
    wi, wh, bi, bh = (p.detach().numpy()[perm] for p in (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0))
    bias = np.stack([bi, bh]) if cell == "gru" else bi + bh
    return m, perm, {"kernel": wi.T, "recurrent_kernel": wh.T, "bias": bias}


def rnn_case(cell, return_sequences=0, go_backwards=0, T=3, IN=2, U=2):
    m, _, params = torch_rnn(cell, IN, U)
    x = R.normal(size=(N, T, IN))
    with torch.no_grad():
        y = m(t(x[:, ::-1].copy() if go_backwards else x))[0].numpy()  # Keras: outputs in processing order
    ref = y.reshape(N, -1) if return_sequences else y[:, -1]
    args = dict(t=T, units_in=IN, units=U, act=_C.ACTIVATIONS["tanh"], recurrent_act=_C.ACTIVATIONS["sigmoid"])
    args.update(go_backwards=go_backwards, return_sequences=return_sequences, rng=0, dropout=0.0, recurrent_dropout=0.0)
    args.update(input_order=0, zero_masked=0, initial_state=0, return_state=0)
    return dict(op=cell, ins=[x.reshape(N, -1)], params=params, args=args, ref=ref)


def layernorm_case():
    x, g, b = R.normal(size=(N, 2, 5)), R.uniform(0.5, 2, 5), R.normal(size=5)
    ref = F.layer_norm(t(x), (5,), t(g), t(b), eps=1e-3).numpy().reshape(N, -1)
    return dict(ins=[x.reshape(N, -1)], params={"gamma": g, "beta": b}, args=dict(c=5, epsilon=1e-3), ref=ref)


def embedding_case():
    V, D, T = 5, 3, 4
    ids, emb = R.integers(0, V, size=(N, T)).astype(np.float64), R.normal(size=(V, D))
    ids[0, :2] = 1  # a repeated id: its rows of the gradient add up
    ref = emb[ids.astype(int)].reshape(N, -1)
    # Ids have no gradient (and a finite-difference step would make them non-integers).
    return dict(ins=[ids], params={"embeddings": emb}, args=dict(t=T, v=V, d=D), ref=ref, fd_ins=False)


def step_mask(T, seed=0):
    """A (N, T) mask of 0/1 with a skipped first step, a hole and a row that keeps every step."""
    m = np.ones((N, T))
    m[0, 0] = 0
    m[1, 1:2] = 0
    m[2, -1] = 0
    return m


def masked_rnn_case(cell, return_sequences, go_backwards):
    """The cell with Keras's mask, against a NumPy transcription of Keras's masked rnn loop
    (keras/src/backend/torch/rnn.py: a skipped step keeps the states and the previous output)
    driven by torch's cells one step at a time."""
    case = rnn_case(cell, return_sequences, go_backwards)
    T, IN, U = case["args"]["t"], case["args"]["units_in"], case["args"]["units"]
    m, _, _ = torch_rnn(cell, IN, U)
    x = case["ins"][0].reshape(N, T, IN)
    mask = step_mask(T)
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    h = torch.zeros(1, N, U, dtype=torch.float64)
    c = torch.zeros(1, N, U, dtype=torch.float64)
    outs = []
    with torch.no_grad():
        for st in order:
            xt = t(x[:, st : st + 1])
            if cell == "lstm":
                _, (h1, c1) = m(xt, (h, c))
            else:
                _, h1 = m(xt, h)
                c1 = c
            keep = t(mask[:, st]).reshape(1, N, 1) > 0
            h, c = torch.where(keep, h1, h), torch.where(keep, c1, c)
            outs.append(h[0].numpy())
    y = np.stack(outs, 1)
    case["ref"] = y.reshape(N, -1) if return_sequences else y[:, -1]
    case["ins"] = case["ins"] + [mask]
    case["fd_ins"] = [0]  # the mask has no gradient
    return case


def dropout_masks(count, size, rate, state):
    """count masks of size floats, as rng_mask.h draws them: 1 / keep where a uniform is below keep."""
    u = np.zeros(count * size, np.float32)
    _C.rng_fill(state, u, 0, 0.0, 1.0)
    keep = np.float32(1) - np.float32(rate)
    return (u < keep).reshape(count, size) / keep


def keras_cells_reference(cell, x, params, dm, rm):
    """Keras 3's cells step by step in float64 (keras/src/layers/rnn/*.py, implementation 1):
    gate g's input is x * dm[g % len(dm)] and its recurrent input h * rm[g % len(rm)]."""
    n, steps, _ = x.shape
    k, rk, b = params["kernel"], params["recurrent_kernel"], params["bias"]
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]
    u = rk.shape[0]
    ib, rb = (b[0], b[1]) if cell == "gru" else (b, np.zeros_like(b))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h, c, outs = np.zeros((n, u)), np.zeros((n, u)), []
    for st in range(steps):
        cols = [slice(g * u, (g + 1) * u) for g in range(gates)]
        xs = [(x[:, st] * dm[g % len(dm)]) @ k[:, cols[g]] + ib[cols[g]] for g in range(gates)]
        rs = [(h * rm[g % len(rm)]) @ rk[:, cols[g]] + rb[cols[g]] for g in range(gates)]
        if cell == "simple_rnn":
            h = np.tanh(xs[0] + rs[0])
        elif cell == "lstm":
            i, f, o = sig(xs[0] + rs[0]), sig(xs[1] + rs[1]), sig(xs[3] + rs[3])
            c = f * c + i * np.tanh(xs[2] + rs[2])
            h = o * np.tanh(c)
        else:
            z, r = sig(xs[0] + rs[0]), sig(xs[1] + rs[1])
            h = z * h + (1 - z) * np.tanh(xs[2] + r * rs[2])
        outs.append(h)
    return np.stack(outs, 1)


def dropout_rnn_case(cell, dropout, recurrent_dropout):
    """Dropout of the inputs and the state with the masks the op draws from RNG_STATE: input masks
    first, then recurrent ones, one per gate with recurrent dropout (LSTM, GRU) as Keras."""
    case = rnn_case(cell, 1, 0)
    T, IN, U = case["args"]["t"], case["args"]["units_in"], case["args"]["units"]
    case["args"].update(dropout=dropout, recurrent_dropout=recurrent_dropout)
    count = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell] if recurrent_dropout else 1
    state = RNG_STATE.copy()
    dm = dropout_masks(count, N * IN, dropout, state).reshape(count, N, IN) if dropout else np.ones((1, N, IN))
    rm = dropout_masks(count, N * U, recurrent_dropout, state).reshape(count, N, U) if recurrent_dropout else [1.0]
    x = case["ins"][0].reshape(N, T, IN)
    case["ref"] = keras_cells_reference(cell, x, case["params"], dm, rm).reshape(N, -1)
    return case


def masked_avgpool_case():
    x = R.normal(size=(N, 4, 3))
    mask = step_mask(4)
    ref = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return dict(op="global_avgpool", ins=[x.reshape(N, -1), mask], args=dict(s=4, c=3), ref=ref, fd_ins=[0])


def masking_cases():
    x = R.normal(size=(N, 4, 3))
    x[0, 1] = 0.5  # every feature equals the mask value: the step is dropped
    x[1, 2, 0] = 0.5  # one feature does: the step is kept
    x[2, 0] = np.nan  # NaN differs from everything: kept
    kept = np.any(x != 0.5, axis=-1)
    args = dict(t=4, c=3, value=0.5)
    finite = np.where(np.isnan(x), 1.0, x)  # finite differences need finite values
    return {
        "seq_mask": dict(ins=[x.reshape(N, -1)], args=args, ref=kept.astype(float), fd_ins=[]),
        # A step at the mask value is a discontinuity for finite differences: the gradient is
        # checked on its own below.
        "masking": dict(
            ins=[finite.reshape(N, -1)], args=args, ref=np.where(kept[..., None], finite, 0).reshape(N, -1), fd_ins=[]
        ),
    }


def index_cases():
    """The index primitives (csrc/prim_index.c) on (OUTER, EXTENT, INNER) = (2, 5, 3) per sample."""
    x = R.normal(size=(N, 2, 5, 3))
    distinct = R.permutation(N * 30).reshape(N, 2, 5, 3) * 0.1  # no finite-difference step moves an argmax
    dims = dict(outer=2, extent=5, inner=3)
    idx = np.array([4, 0, -1, 0], np.float64)  # a repeated and a negative index: their gradients add
    per_sample = R.integers(-5, 5, size=(N, 2, 4, 3)).astype(np.float64)
    weight = R.normal(size=(5, 3))
    prod_x = x.copy()
    prod_x[0, 0, 1, 0] = 0.0  # one zero factor: only it gets a gradient, the product of the others
    return {
        "slice": dict(
            ins=[x.reshape(N, -1)], args=dict(**dims, start=4, step=-2, len=3), ref=x[:, :, 4::-2].reshape(N, -1)
        ),
        "take-constant": dict(
            op="take",
            ins=[x.reshape(N, -1)],
            params={"x": None, "idx": idx},
            fd_params=[],
            args=dict(**dims, j=4, along=0),
            ref=np.take(x, idx.astype(int), axis=2).reshape(N, -1),
        ),
        "take-weight": dict(  # an embedding lookup: per-sample ids into a weight's rows
            op="take",
            ins=[R.integers(0, 5, size=(N, 4)).astype(np.float64)],
            params={"x": weight, "idx": None},
            fd_ins=False,
            args=dict(outer=1, extent=5, inner=3, j=4, along=0),
            ref=None,
        ),
        "take-along": dict(
            op="take",
            ins=[x.reshape(N, -1), per_sample.reshape(N, -1)],
            params={"x": None, "idx": None},
            fd_ins=[0],
            args=dict(**dims, j=4, along=1),
            ref=np.take_along_axis(x, np.where(per_sample < 0, per_sample + 5, per_sample).astype(int), 2).reshape(
                N, -1
            ),
        ),
        "arg_reduce": dict(
            ins=[distinct.reshape(N, -1)], args=dict(**dims, argmin=0), ref=distinct.argmax(2).reshape(N, -1)
        ),
        "arg_reduce-min": dict(
            op="arg_reduce",
            ins=[distinct.reshape(N, -1)],
            args=dict(**dims, argmin=1),
            ref=distinct.argmin(2).reshape(N, -1),
        ),
        "prod": dict(ins=[prod_x.reshape(N, -1)], args=dims, ref=prod_x.prod(2).reshape(N, -1)),
    }


def conv_transpose_case():
    H, W, C, KH, KW, F_, SH, SW = 3, 4, 2, 3, 2, 3, 2, 1
    x, k, b = R.normal(size=(N, H, W, C)), R.normal(size=(KH, KW, F_, C)), R.normal(size=F_)
    # torch's transposed conv with padding (1, 0): the adjoint of a Conv2D with padding before 1, 0.
    ref = F.conv_transpose2d(t(x).permute(0, 3, 1, 2), t(k).permute(3, 2, 0, 1), t(b), stride=(SH, SW), padding=(1, 0))
    ref = ref.permute(0, 2, 3, 1).numpy()
    OH, OW = ref.shape[1:3]
    args = dict(h=H, w=W, c=C, kh=KH, kw=KW, f=F_, sh=SH, sw=SW, dh=1, dw=1, pt=1, pl=0, oh=OH, ow=OW)
    return dict(ins=[x.reshape(N, -1)], params={"kernel": k, "bias": b}, args=args, ref=ref.reshape(N, -1))


def upsample_case(bilinear):
    H, W, C, SH, SW = 3, 2, 2, 2, 3
    x = R.normal(size=(N, H, W, C))
    mode = dict(mode="bilinear", align_corners=False) if bilinear else dict(mode="nearest")
    ref = F.interpolate(t(x).permute(0, 3, 1, 2), scale_factor=(SH, SW), **mode).permute(0, 2, 3, 1).numpy()
    args = dict(h=H, w=W, c=C, sh=SH, sw=SW, bilinear=int(bilinear))
    return dict(op="upsample2d", ins=[x.reshape(N, -1)], args=args, ref=ref.reshape(N, -1))


def pad2d_case(pt, pl, oh, ow):
    H, W, C = 3, 4, 2
    x = R.normal(size=(N, H, W, C))
    pads = (0, 0, pl, ow - W - pl, pt, oh - H - pt)  # F.pad: last axis first; negative amounts crop
    ref = F.pad(t(x), pads).numpy()
    args = dict(h=H, w=W, c=C, oh=oh, ow=ow, pt=pt, pl=pl)
    return dict(op="pad2d", ins=[x.reshape(N, -1)], args=args, ref=ref.reshape(N, -1))


def grouped_conv_case(G, Cg, Fg):
    H, W, KH, KW, C, F_ = 4, 5, 2, 3, G * Cg, G * Fg
    x, k, b = R.normal(size=(N, H, W, C)), R.normal(size=(KH, KW, Cg, F_)), R.normal(size=F_)
    ref = F.conv2d(t(x).permute(0, 3, 1, 2), t(k).permute(3, 2, 0, 1), t(b), stride=(1, 2), padding=(1, 1), groups=G)
    ref = ref.permute(0, 2, 3, 1).numpy()
    OH, OW = ref.shape[1:3]
    args = dict(h=H, w=W, c=C, kh=KH, kw=KW, f=F_, sh=1, sw=2, dh=1, dw=1, pt=1, pl=1, oh=OH, ow=OW, g=G)
    return dict(op="conv2d_grouped", ins=[x.reshape(N, -1)], params={"kernel": k, "bias": b}, args=args,
                ref=ref.reshape(N, -1))  # fmt: skip


CASES = {
    "dense": dict(
        ins=[R.normal(size=(N, 8))],
        params={"kernel": R.normal(size=(4, 5)), "bias": R.normal(size=5)},
        args=dict(rows=2, units_in=4, units_out=5),
        ref=None,
    ),
    "dense-nobias": dict(
        op="dense",
        ins=[R.normal(size=(N, 4))],
        params={"kernel": R.normal(size=(4, 2)), "bias": None},
        args=dict(rows=1, units_in=4, units_out=2),
        ref=None,
    ),
    **activation_cases(),
    "conv2d": conv_case(),
    "maxpool2d": pool_case("maxpool2d"),
    "maxpool2d-relu": pool_case("maxpool2d", relu=1),
    "avgpool2d": pool_case("avgpool2d"),
    "global_avgpool": dict(ins=[R.normal(size=(N, 4 * 3))], args=dict(s=4, c=3), ref=None),
    "global_maxpool": dict(ins=[R.permutation(N * 4 * 3).reshape(N, 12) * 0.1], args=dict(s=4, c=3), ref=None),
    "batchnorm": batchnorm_case(),
    "add": merge_case("add"),
    "subtract": merge_case("subtract"),
    "multiply": merge_case("multiply"),
    "average": merge_case("average"),
    "maximum": merge_case("maximum"),
    "minimum": merge_case("minimum"),
    "concat": dict(ins=[R.normal(size=(N, 2 * 3)), R.normal(size=(N, 2 * 1))], args=dict(outer=2), ref=None),
    "activity_reg": dict(ins=[R.normal(size=(N, 5))], args=dict(l1=0.01, l2=0.02), ref=None, out_size=0),
    **prim_cases(),
    "embedding": embedding_case(),
    "layernorm": layernorm_case(),
    **index_cases(),
    **{
        f"{cell}{'-seq' if seq else ''}{'-back' if back else ''}": rnn_case(cell, seq, back)
        for cell in ("simple_rnn", "lstm", "gru")
        for seq, back in ((0, 0), (1, 0), (1, 1))
    },
    **{
        f"{cell}-mask{'-seq' if seq else ''}{'-back' if back else ''}": masked_rnn_case(cell, seq, back)
        for cell in ("simple_rnn", "lstm", "gru")
        for seq, back in ((0, 0), (1, 1), (0, 1))
    },
    **{
        f"{cell}-dropout-{rate}-{rate_r}": dropout_rnn_case(cell, rate, rate_r)
        for cell in ("simple_rnn", "lstm", "gru")
        for rate, rate_r in ((0.4, 0.0), (0.0, 0.5), (0.3, 0.4))
    },
    "global_avgpool-mask": masked_avgpool_case(),
    **masking_cases(),
    # Convolution variants and resampling (issue #11)
    "conv2d_transpose": conv_transpose_case(),
    "upsample2d": upsample_case(False),
    "upsample2d-bilinear": upsample_case(True),
    "pad2d": pad2d_case(1, 2, 5, 7),
    "pad2d-crop": pad2d_case(-1, 0, 1, 3),
    "conv2d_grouped": grouped_conv_case(2, 2, 3),
    "conv2d_grouped-depthwise": grouped_conv_case(3, 1, 2),
    # Layer.add_loss (issue #9)
    "add_loss": dict(ins=[R.normal(size=(N, 5))], args=dict(per_batch=0, scale=0.5), ref=None, out_size=0),
    "add_loss-mean": dict(
        op="add_loss", ins=[R.normal(size=(N, 3))], args=dict(per_batch=1, scale=2.0), ref=None, out_size=0
    ),
}
# Traced weight updates (issue #9, csrc/batch_stats.c): per-batch values fill every row.
_bx = R.normal(size=(N, 70))  # more columns than one block of the kernels
CASES.update(
    {
        "batch_reduce": dict(ins=[_bx], args=dict(mean=1, ref=0), ref=np.repeat(_bx.mean(0, keepdims=True), N, 0)),
        "batch_reduce-sum-ref": dict(
            op="batch_reduce", ins=[_bx], args=dict(mean=0, ref=1), ref=np.repeat(_bx.sum(0, keepdims=True), N, 0)
        ),
        "read_weight": dict(
            ins=[R.normal(size=(N, 2))], params={"w": R.normal(size=5)}, args={}, fd_ins=False, ref=None
        ),
        "assign": dict(ins=[R.normal(size=(N, 4))], params={"w": R.normal(size=4)}, args={}, ref=None, out_size=0),
        "mode_select": dict(ins=[R.normal(size=(N, 3)), R.normal(size=(N, 3))], args={}, ref=None),
        "batch_broadcast": dict(ins=[_bx], args={}, ref=np.repeat(_bx[:1], N, 0)),  # row 0 of a per-batch op
    }
)
CASES["read_weight"]["ref"] = np.repeat(CASES["read_weight"]["params"]["w"][None], N, 0)
CASES["assign"]["ref"] = CASES["assign"]["ins"][0]
CASES["mode_select"]["ref"] = CASES["mode_select"]["ins"][0]
# dropout and random are random: tested on their own below.
CASES["dropout"] = None
CASES["random"] = None
tw = CASES["take-weight"]
tw["ref"] = tw["params"]["x"][tw["ins"][0].astype(int)].reshape(N, -1)
# ... and so are the noise layers' ops (tests/layers/test_conv_variants.py checks their draws and gradients).
CASES.update(gaussian_noise=None, gaussian_dropout=None, alpha_dropout=None, spatial_dropout=None)


def conv3d_case(ref, N=N, D=3, H=4, W=3, C=2, F_=3):
    """Conv3D against torch's conv3d: strides (2, 1, 1), dilation (1, 1, 2), padding before (1, 0, 1)."""
    x, k, b = R.normal(size=(N, D, H, W, C)), R.normal(size=(2, 2, 2, C, F_)), R.normal(size=F_)
    st, dil, pad = (2, 1, 1), (1, 1, 2), (1, 0, 1)
    ref_out = F.conv3d(t(x).permute(0, 4, 1, 2, 3), t(k).permute(4, 3, 0, 1, 2), t(b), st, pad, dil)
    ref_out = ref_out.permute(0, 2, 3, 4, 1).numpy()
    od, oh, ow = ref_out.shape[1:4]
    args = dict(d=D, h=H, w=W, c=C, kd=2, kh=2, kw=2, f=F_, sd=2, sh=1, sw=1, dd=1, dh=1, dw=2, pf=1, pt=0, pl=1)
    args.update(od=od, oh=oh, ow=ow, ref=ref)
    return dict(op="conv3d", ins=[x.reshape(N, -1)], params={"kernel": k, "bias": b}, args=args,
                ref=ref_out.reshape(N, -1))  # fmt: skip


CASES.update({"conv3d": conv3d_case(0), "conv3d-ref": conv3d_case(1)})  # Conv3D (issue #11, session 10)
x0 = CASES["dense"]["ins"][0].reshape(N * 2, 4)
CASES["dense"]["ref"] = (x0 @ CASES["dense"]["params"]["kernel"] + CASES["dense"]["params"]["bias"]).reshape(N, -1)
CASES["dense-nobias"]["ref"] = CASES["dense-nobias"]["ins"][0] @ CASES["dense-nobias"]["params"]["kernel"]
g = CASES["global_avgpool"]["ins"][0].reshape(N, 4, 3)
CASES["global_avgpool"]["ref"] = g.mean(1)
CASES["global_maxpool"]["ref"] = CASES["global_maxpool"]["ins"][0].reshape(N, 4, 3).max(1)
c = CASES["concat"]["ins"]
CASES["concat"]["ref"] = np.concatenate([c[0].reshape(N, 2, 3), c[1].reshape(N, 2, 1)], -1).reshape(N, -1)
CASES["activity_reg"]["ref"] = CASES["activity_reg"]["ins"][0]
for _k in ("add_loss", "add_loss-mean"):
    CASES[_k]["ref"] = CASES[_k]["ins"][0]

DIFFERENTIABLE = [k for k, v in CASES.items() if v is not None]


def op_of(key):
    return CASES[key].get("op", key)


def forward(case, ins=None, params=None, training=True):
    ins = case["ins"] if ins is None else ins
    params = case.get("params") if params is None else params
    size = case.get("out_size", np.asarray(case["ref"]).shape[1])
    return run(op_of(case["_key"]), ins, size, params, training=training, **case["args"])[0]


@pytest.fixture(params=DIFFERENTIABLE)
def case(request):
    return {**CASES[request.param], "_key": request.param}


def test_forward_matches_reference(case):
    out = forward(case)
    np.testing.assert_allclose(out, np.asarray(case["ref"]), rtol=2e-5, atol=2e-5)


def test_backward_matches_finite_differences(case):
    """d(sum(out * G))/d(input or parameter), central differences in float32 with eps 1e-2."""
    ref_shape = np.asarray(case["ref"]).shape
    G = R.normal(size=ref_shape)
    size = case.get("out_size", ref_shape[1])
    params = case.get("params") or {}
    _, dins, dparams = run(op_of(case["_key"]), case["ins"], size, params, dout=G, **case["args"])

    def loss(ins, ps):
        out = forward(case, ins, ps).astype(np.float64)
        total = float((out * G).sum())
        if op_of(case["_key"]) == "activity_reg":  # the penalty the op adds to the loss
            x = ins[0].astype(np.float32).astype(np.float64)
            # Keras 3 divides an activity penalty by the batch size (rows of the input here).
            total += (case["args"]["l1"] * np.abs(x).sum() + case["args"]["l2"] * (x * x).sum()) / len(x)
        if op_of(case["_key"]) == "add_loss":  # Keras 3 adds ops.sum of an added loss (a mean: over the batch)
            x = ins[0].astype(np.float32).astype(np.float64)
            total += case["args"]["scale"] * x.sum() / (len(x) if case["args"]["per_batch"] else 1)
        return total

    eps = 1e-2
    fd_ins = case.get("fd_ins", True)  # True, False or the indices of the inputs to check
    fd_ins = range(len(case["ins"])) if fd_ins is True else (fd_ins or [])
    targets = [("in", k) for k in fd_ins]
    targets += [("param", p) for p in case.get("fd_params", [p for p, v in params.items() if v is not None])]
    for kind, key in targets:
        base = (
            [np.array(x, np.float64) for x in case["ins"]]
            if kind == "in"
            else {p: (None if v is None else np.array(v, np.float64)) for p, v in params.items()}
        )
        arr = base[key]
        got = dins[key] if kind == "in" else dparams[key]
        num = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(base, params) if kind == "in" else loss(case["ins"], base)
            arr[idx] = old - eps
            down = loss(base, params) if kind == "in" else loss(case["ins"], base)
            arr[idx] = old
            num[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(got, num, rtol=2e-2, atol=2e-2, err_msg=f"{case['_key']} d/d{kind} {key}")


def test_dropout_masks_scale_survivors_and_route_gradients():
    x = R.normal(size=(64, 50))
    out, (dx,), _ = run("dropout", [x], 50, dout=np.ones((64, 50)), rng=0, rate=0.25)
    mask = out / f32(x)
    assert np.all(np.isclose(mask, 0.0) | np.isclose(mask, 1 / 0.75))
    assert 0.2 < (mask == 0).mean() < 0.3
    np.testing.assert_allclose(dx, mask, rtol=1e-6)
    inference, _, _ = run("dropout", [x], 50, training=False, rng=0, rate=0.25)
    np.testing.assert_array_equal(inference, f32(x))


def test_random_draws_normal_and_uniform_values_from_the_generator():
    x = np.zeros((64, 100))
    normal, _, _ = run("random", [x], 100, rng=0, uniform=0, low_or_mean=1.0, high_or_stddev=2.0)
    assert abs(normal.mean() - 1.0) < 0.1 and abs(normal.std() - 2.0) < 0.1
    again, _, _ = run("random", [x], 100, rng=0, uniform=0, low_or_mean=1.0, high_or_stddev=2.0)
    np.testing.assert_array_equal(normal, again)  # the same generator state: the same draws
    uniform, (dx,), _ = run(
        "random", [x], 100, dout=np.ones((64, 100)), rng=0, uniform=1, low_or_mean=-1, high_or_stddev=3
    )
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.1
    np.testing.assert_array_equal(dx, 0.0)  # no gradient to the input, whose values it ignores
    inference, _, _ = run("random", [x], 100, training=False, rng=0, uniform=1, low_or_mean=-1, high_or_stddev=3)
    np.testing.assert_array_equal(inference, uniform)  # keras.random draws in inference too


def test_take_refuses_an_index_out_of_range_naming_the_op():
    x = R.normal(size=(2, 5))
    with pytest.raises(
        ValueError, match=r"op 0 \(take\) expects integer indices in \[-5, 5\). Received: a value of 5.0"
    ):
        run("take", [x, np.full((2, 1), 5.0)], 1, {"x": None, "idx": None}, outer=1, extent=5, inner=1, j=1, along=1)
    with pytest.raises(ValueError, match=r"Received: a value of 0.5"):
        run("take", [x], 1, {"x": None, "idx": np.array([0.5])}, outer=1, extent=5, inner=1, j=1, along=0)


def test_run_op_refuses_malformed_ops():
    with pytest.raises(ValueError, match="op 0 is malformed"):
        run(
            "dense",
            [R.normal(size=(2, 4))],
            3,
            {"kernel": R.normal(size=(4, 3)), "bias": None},
            rows=1,
            units_in=5,
            units_out=3,
        )  # units_in does not match the input's width
    builder = PlanBuilder({})
    with pytest.raises(ValueError, match=r"parameters takes the arguments \['kernel', 'bias'\]. Missing: \['bias'\]"):
        builder.op("dense", [0], 1, params={"kernel": None}, rows=1, units_in=4, units_out=3)
    with pytest.raises(ValueError, match=r"Missing: \['units_out'\]; unknown: \['units'\]"):
        builder.op("dense", [0], 1, params={"kernel": None, "bias": None}, rows=1, units_in=4, units=3)
    with pytest.raises(ValueError, match="Unknown op 'dense2'"):
        builder.op("dense2", [0], 1)
    with pytest.raises(ValueError, match="takes 2 to 2 inputs"):
        builder.op("subtract", [0], 1)
    with pytest.raises(RuntimeError, match="generator"):
        spec = _C.OPS["dropout"]
        _C.run_op(
            spec["id"],
            [f32(np.ones((2, 2)))],
            2,
            np.zeros(0, np.float32),
            np.full(_C.MAX_PARAM, -1),
            pack_named(spec["iargs"], {"rng": 1}, "", np.int64, _C.MAX_IARG),
            pack_named(spec["fargs"], {"rate": 0.5}, "", np.float64, _C.MAX_FARG),
            None,
            True,
            RNG_STATE.copy(),
        )


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_rnn_dropout_is_off_in_inference_and_masks_are_per_sequence(cell):
    case = {**CASES[f"{cell}-dropout-0.3-0.4"], "_key": f"{cell}-dropout-0.3-0.4"}
    size = case["ref"].shape[1]
    plain = run(cell, case["ins"], size, case["params"], **{**case["args"], "dropout": 0.0, "recurrent_dropout": 0.0})
    inference = run(cell, case["ins"], size, case["params"], training=False, **case["args"])
    np.testing.assert_array_equal(inference[0], plain[0])
    assert not np.allclose(forward(case), plain[0], atol=1e-3)
    # One input mask per sequence: a sequence of identical steps gets identical dropped steps.
    steps = np.repeat(R.normal(size=(N, 1, 2)), 3, axis=1).reshape(N, -1)
    args = {**case["args"], "recurrent_dropout": 0.0, "dropout": 0.5}
    zero_k = {**case["params"], "recurrent_kernel": np.zeros_like(case["params"]["recurrent_kernel"])}
    if cell == "simple_rnn":  # no recurrence: every step's output is the same function of its dropped input
        out = run(cell, [steps], size, zero_k, **args)[0].reshape(N, 3, -1)
        np.testing.assert_array_equal(out[:, 0], out[:, 1])
        np.testing.assert_array_equal(out[:, 0], out[:, 2])


def test_masking_routes_gradients_to_the_kept_steps_only():
    case = CASES["masking"]
    dout = R.normal(size=(N, 12))
    _, (dx,), _ = run("masking", case["ins"], 12, dout=dout, **case["args"])
    kept = np.repeat(CASES["seq_mask"]["ref"], 3, axis=1)
    assert kept.min() == 0 and kept.max() == 1
    np.testing.assert_array_equal(dx, f32(dout) * kept)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_extremum_ties_route_to_the_first_input_and_nan_propagates(name):
    a = f32([[1.0, 2.0, np.nan, 0.0]])
    b = f32([[1.0, np.nan, 5.0, 0.0]])
    c = f32([[1.0, 1.0, 1.0, 0.0]])
    out, (da, db, dc), _ = run(name, [a, b, c], 4, dout=np.ones((1, 4)))
    assert out[0, 0] == 1.0 and np.isnan(out[0, 1]) and np.isnan(out[0, 2])
    np.testing.assert_array_equal(da, f32([[1, 0, 1, 1]]))  # ties (columns 0, 3) and a's NaN go to a
    np.testing.assert_array_equal(db, f32([[0, 1, 0, 0]]))  # b's NaN wins column 1
    np.testing.assert_array_equal(dc, f32([[0, 0, 0, 0]]))


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("seqs,back", [(0, 0), (1, 1)])
def test_rnn_kernels_match_their_naive_reference(cell, seqs, back):
    """The cells with BLAS's sgemm against the same cells with the naive double-accumulating gemm."""
    N_, T_, IN_, U_ = 4, 7, 3, 5
    g = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell] * U_
    r = np.random.default_rng(9)
    x, k, rk = (r.normal(size=s).astype(np.float32) for s in ((N_, T_, IN_), (IN_, g), (U_, g)))
    b = r.normal(size=(2, g) if cell == "gru" else g).astype(np.float32)
    dout = r.normal(size=(N_, T_, U_) if seqs else (N_, U_)).astype(np.float32)
    acts = _C.ACTIVATIONS["tanh"], _C.ACTIVATIONS["sigmoid"]
    mask = (r.uniform(size=(N_, T_)) > 0.3).astype(np.float32)
    for m in (None, mask):
        fast = _C.rnn_run(cell, x, k, rk, b, dout, *acts, back, seqs, False, m)
        ref = _C.rnn_run(cell, x, k, rk, b, dout, *acts, back, seqs, True, m)
        for name, got, want in zip(("out", "dinp", "dkernel", "drkernel", "dbias"), fast, ref):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name}, mask {m is not None}")
    _, _, _, _, no_bias = _C.rnn_run(cell, x, k, rk, None, dout, *acts, back, seqs, False)
    assert no_bias is None


@pytest.mark.parametrize("act,exact", [("tanh", np.tanh), ("sigmoid", lambda v: 1.0 / (1.0 + np.exp(-v)))])
def test_rnn_cells_fast_activations_are_accurate_and_keep_nan_and_inf(act, exact):
    """rnn.c's branch-free exp, sigmoid and tanh (the gate loops vectorize with them): a one-unit
    SimpleRNN over one step with kernel 1 and no bias outputs act(x) itself."""
    x = np.r_[np.linspace(-30, 30, 20001), [0.0, -0.0, 1e-30, 0.62, 0.63, 87.5, 89.0, -87.5, -89.0, 1e4, -1e4]]
    x = np.r_[x, [np.inf, -np.inf, np.nan]].astype(np.float32)
    kind = _C.ACTIVATIONS[act]
    out = _C.rnn_run(
        "simple_rnn",
        x.reshape(-1, 1, 1),
        f32([[1.0]]),
        f32([[0.0]]),
        None,
        np.zeros((x.size, 1), np.float32),
        kind,
        _C.ACTIVATIONS["sigmoid"],
        0,
        0,
        False,
    )[0].ravel()
    with np.errstate(over="ignore"):  # exp(1e4) in float64: inf, and the sigmoid 0 it should be
        want = exact(x[:-1].astype(np.float64))
    got = out[:-1].astype(np.float64)
    # within 3e-7 absolute and 4 float32 ulps relative (sigmoid's tail below 1e-30 flushes to 0)
    assert np.all(
        np.abs(got - want) <= np.maximum(3e-7 * np.minimum(1.0, np.abs(want)) + 1e-37, 4 * 2**-23 * np.abs(want))
    )
    assert np.isnan(out[-1])
    assert np.all((out[:-1] >= (-1.0 if act == "tanh" else 0.0)) & (out[:-1] <= 1.0))


def test_conv3d_matches_its_naive_reference_over_chunks():
    """The im2col + sgemm kernel against the naive sums (REF = 1), forward and every gradient, on
    a batch whose im2col matrix spans several chunks of samples."""
    case = conv3d_case(0, N=200, D=8, H=9, W=10, C=5, F_=4)  # about 2.6M floats of im2col
    G = R.normal(size=np.asarray(case["ref"]).shape)
    size = G.shape[1]
    fast = run("conv3d", case["ins"], size, case["params"], dout=G, **case["args"])
    naive = run("conv3d", case["ins"], size, case["params"], dout=G, **{**case["args"], "ref": 1})
    np.testing.assert_allclose(fast[0], case["ref"], rtol=1e-4, atol=1e-4)
    for a, b in [(fast[0], naive[0]), (fast[1][0], naive[1][0])] + [(fast[2][k], naive[2][k]) for k in fast[2]]:
        # float32 sums of up to 64000 products in a different order: tolerance scaled by the largest value
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=3e-5 * float(np.abs(b).max()))
