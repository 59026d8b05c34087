"""NaN and +-inf through every C kernel (issue 13, item 5): no kernel turns a NaN into a number.

The reference is PyTorch 2.13 (Keras 3 on the torch backend runs the same torch ops). Where
TensorFlow differs it is said at the test. The rules, kernel family by kernel family:

- activations: the forward equals torch's on NaN and +-inf (ReLU keeps NaN, as torch.relu and
  tf.nn.relu; it mapped NaN to 0 before). A NaN upstream gradient reaches the input wherever
  the derivative is not 0. ReLU's derivative at a NaN input is 1, torch's.
- ops (dense, conv, pooling, batch norm, dropout, merges, concat): a NaN input makes NaN every
  output it feeds (found by moving that input and seeing which outputs move), and no other
  sample's output (batch norm in training mode mixes the batch, as it must). Max pooling and
  maximum/minimum let NaN win, as torch does; dropout multiplies, so a dropped NaN stays NaN.
- losses: a NaN prediction or target gives a NaN loss. The gradient of a clipped probability
  loss at a NaN prediction is 0 (torch.clamp's derivative there), and MAE's is 0 (torch's
  l1_loss), so TerminateOnNaN and stop_on_nonfinite see the NaN in the loss itself.
- metrics: sums of errors (mse, mae) are NaN; accuracies stay counts. argmax and top-k rank
  NaN above every number (numpy.argmax, torch.argmax/topk); a NaN target score is never in
  the top k (tf.math.in_top_k and Keras's torch in_top_k). Thresholds compare `p > t`: a NaN
  prediction is a negative, as Keras's `y_pred > threshold`.
- optimizers: a NaN gradient makes its weight NaN with or without clipvalue, weight decay and
  momentum; clipnorm and global_clipnorm make the whole variable NaN, as Keras's
  clip_by_norm (an infinite gradient: clipvalue clips it to the bound, torch.clamp too).
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pytrainc import _C
from pytrainc.testing import f32

sys.path.insert(0, str(Path(__file__).parent))
from test_ops import CASES, op_of, run  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")

nan, inf = np.nan, np.inf

# ---------------------------------------------------------------------------
# Activations

TORCH_ACT = {
    "linear": lambda x: x,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: F.softmax(x, -1),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "hard_sigmoid": lambda x: F.relu6(x + 3) / 6,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "log_softmax": lambda x: F.log_softmax(x, -1),
    "relu6": F.relu6,
    "mish": F.mish,
    "hard_tanh": F.hardtanh,
    "log_sigmoid": F.logsigmoid,
    "tanh_shrink": F.tanhshrink,
    "exponential": torch.exp,
    "celu": F.celu,
    "hard_silu": F.hardswish,
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4)) / 2,
    "sparse_plus": lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "hard_shrink": F.hardshrink,
    "soft_shrink": F.softshrink,
    "sparse_sigmoid": lambda x: torch.where(x <= -1, 0.0, torch.where(x >= 1, 1.0, 0.5 * (x + 1))),  # Keras's
    "sparsemax": lambda x: sparsemax_torch(x),
}


def sparsemax_torch(x):
    """Sparsemax by Martins & Astudillo's algorithm (tau from the k-th cumulative sum); NaN rows where
    a value is NaN or +inf (no projection onto the simplex), as pytrainc's kernel."""
    z = torch.sort(x, -1, descending=True)[0]
    cum = torch.cumsum(z, -1)
    support = z - (cum - 1) / torch.arange(1, x.shape[-1] + 1, dtype=x.dtype) > 0
    tau = (torch.where(support, z, 0.0).sum(-1, keepdim=True) - 1) / support.sum(-1, keepdim=True)
    out = torch.clamp(x - tau, min=0.0)
    bad = (torch.isnan(x) | (x == torch.inf)).any(-1, keepdim=True)
    return torch.where(bad, torch.nan, out)


ALPHA = {"leaky_relu": 0.2, "elu": 1.0, "celu": 1.0, "squareplus": 4.0, "hard_shrink": 0.5, "soft_shrink": 0.5}
# One special value per row, so the row-wise kinds (softmax) are checked for each on its own.
SPECIAL_ROWS = f32(
    [
        [nan, 1.0, -1.0, 0.0, 2.5, -3.0],
        [inf, 1.0, -1.0, 0.0, 2.5, -3.0],
        [-inf, 1.0, -1.0, 0.0, 2.5, -3.0],
        [nan, inf, -inf, 0.5, -0.5, 0.0],
    ]
)


def act(name, x, dout=None):
    return run("activation", [x], x.shape[1], dout=dout, kind=_C.ACTIVATIONS[name], width=x.shape[1],
               alpha=ALPHA.get(name, 0.0))  # fmt: skip


def test_every_activation_kind_is_in_the_table():
    assert set(TORCH_ACT) == set(_C.ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(TORCH_ACT))
def test_activation_forward_on_nan_and_inf_equals_torch(name):
    out, _, _ = act(name, SPECIAL_ROWS)
    # torch in float64: its float32 AVX-512 gelu gives NaN at +inf (the vectorized erf), where the
    # formula, torch's float64 and its AVX2 float32 give inf; the float64 values are the reference.
    ref = TORCH_ACT[name](torch.from_numpy(SPECIAL_ROWS.astype(np.float64))).numpy().astype(np.float32)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref), err_msg=f"{name}: NaN where torch has none or back")
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6, err_msg=name)  # equal_nan, inf == inf


def test_relu_keeps_nan_and_passes_its_gradient_as_torch():
    x = f32([[nan, inf, -inf, 0.0, -0.0, 1.0, -1.0, 3.0]])
    out, (dx,), _ = act("relu", x, dout=np.ones(x.shape))
    tx = torch.from_numpy(x).requires_grad_(True)
    F.relu(tx).sum().backward()
    np.testing.assert_array_equal(out, F.relu(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(dx, tx.grad.numpy())


@pytest.mark.parametrize("name", sorted(TORCH_ACT))
def test_activation_backward_passes_a_nan_gradient_on(name):
    x = f32([[1.5, 0.5, -0.5, 2.0]])
    dout = f32([[nan, 1.0, 1.0, 1.0]])
    _, (dx,), _ = act(name, x, dout=dout)
    tx = torch.from_numpy(x).requires_grad_(True)
    (ref,) = torch.autograd.grad(TORCH_ACT[name](tx), tx, grad_outputs=torch.from_numpy(dout))
    # Where the derivative is non-zero the NaN passes on (row-wise kinds: to the whole row); a kind
    # whose derivative is exactly 0 there masks it, as torch does.
    np.testing.assert_array_equal(np.isnan(dx), np.isnan(ref.numpy()), err_msg=f"{name}: {dx} vs torch {ref}")
    assert np.isnan(dx[0, 0]) or name in ("hard_tanh", "sparse_sigmoid"), dx  # derivative 0 at 1.5


# ---------------------------------------------------------------------------
# Ops through the dispatch table: a NaN input reaches every output it feeds.

TABLE_KEYS = [k for k, v in CASES.items() if v is not None and not k.startswith("activation")]
TABLE_KEYS.append("batchnorm-inference")
# training-mode batch norm and the batch reductions: one sample's NaN reaches the batch's statistics
BATCH_MIXING = {"batchnorm", "batch_reduce", "batch_reduce-sum-ref", "batch_broadcast"}
IDS_INPUT = {"embedding", "take-weight"}  # cases whose only input holds ids (a NaN id is refused)


def op_case(key):
    if key == "batchnorm-inference":
        return {**CASES["batchnorm"], "_key": "batchnorm", "training": False}
    return {**CASES[key], "_key": key, "training": True}


def op_out(case, ins):
    size = case.get("out_size", np.asarray(case["ref"]).shape[1])
    args = case["args"]
    return run(op_of(case["_key"]), ins, size, case.get("params"), training=case["training"], **args)[0]


def test_every_op_is_in_the_table():
    names = {op_of(op_case(k)["_key"]) for k in TABLE_KEYS} | {"dropout", "random"} | set(NOISE_OPS)
    assert names == set(_C.OPS) - {"activation"}


@pytest.mark.parametrize("key", TABLE_KEYS)
@pytest.mark.parametrize("which", ["first", "last"])  # the first and last element of sample 0 that feed an output
def test_op_forward_propagates_nan(key, which):
    case = op_case(key)
    if op_of(case["_key"]) in ("activity_reg", "add_loss"):
        pytest.skip("no output of its own: its penalty is checked in test_activity_penalty_of_nan_is_nan")
    if case["_key"] in IDS_INPUT:
        pytest.skip("its input holds ids, not values: a NaN id is refused (test_embedding_refuses_a_nan_id)")
    if op_of(case["_key"]) == "seq_mask":
        pytest.skip("a mask of 0/1: a NaN step is kept, as Keras's not_equal (its case in tests/csrc/test_ops.py)")
    if op_of(case["_key"]) == "arg_reduce":
        pytest.skip("its output is an index: a NaN counts as the extreme (numpy.argmax), tested in tests/ops")
    if op_of(case["_key"]) == "read_weight":
        pytest.skip("its input gives only the batch size: its values feed no output")
    ins = [np.array(x, np.float64) for x in case["ins"]]
    base = op_out(case, ins)

    def fed_by(j):  # the outputs element j feeds: those that move when it moves far up or down
        fed = np.zeros(base.shape, bool)
        for value in (1e3, -1e3):
            moved = [x.copy() for x in ins]
            moved[0][0, j] = value
            fed |= op_out(case, moved) != base
        return fed

    width = ins[0].shape[1]
    order = range(width) if which == "first" else range(width - 1, -1, -1)
    j = next(j for j in order if fed_by(j)[0].any())  # valid pooling leaves edge cells unread
    fed = fed_by(j)
    ins[0][0, j] = nan
    out = op_out(case, ins)
    assert np.isnan(out[fed]).all(), f"{key}: outputs fed by a NaN are numbers: {out[fed]}"
    if case["_key"] not in BATCH_MIXING or not case["training"]:
        assert np.isfinite(out[1:]).all(), f"{key}: the NaN of sample 0 reached another sample"


@pytest.mark.parametrize("key", TABLE_KEYS)
def test_op_backward_propagates_a_nan_gradient(key):
    case = op_case(key)
    size = case.get("out_size", np.asarray(case["ref"]).shape[1])
    if size == 0:
        pytest.skip("no output, so no upstream gradient")
    if op_of(case["_key"]) == "seq_mask":
        pytest.skip("a mask carries no gradient")
    n = case["ins"][0].shape[0]
    dout = np.ones((n, size))
    dout[0, :] = nan
    if op_of(case["_key"]) == "arg_reduce":
        pytest.skip("an index has no gradient")
    _, dins, dparams = run(op_of(case["_key"]), case["ins"], size, case.get("params"), dout=dout,
                           training=case["training"], **case["args"])  # fmt: skip
    if case["_key"] not in IDS_INPUT and op_of(case["_key"]) != "read_weight":  # ids take no gradient; nor
        # does read_weight's input (the batch size only): the embeddings' and the weight's are checked below
        assert any(np.isnan(d[0]).any() for d in dins), f"{key}: a NaN gradient reached no input"
    for name, g in dparams.items():
        if name in ("kernel", "bias", "gamma", "beta", "embeddings", "recurrent_kernel", "w") or (
            case["_key"] == "take-weight" and name == "x"
        ):
            assert np.isnan(g).any(), f"{key}: a NaN gradient reached no {name} gradient"


def test_embedding_refuses_a_nan_id():
    case = CASES["embedding"]
    ids = np.array(case["ins"][0], dtype=np.float64)
    ids[0, 0] = nan
    with pytest.raises(ValueError, match="expects integer ids"):
        run("embedding", [ids], np.asarray(case["ref"]).shape[1], case.get("params"), **case["args"])


# The noise layers' ops (random, so outside CASES): a NaN stays NaN, except where AlphaDropout
# drops it (Keras's formula replaces a dropped value by a constant), and a NaN gradient passes back.
NOISE_OPS = {"gaussian_noise": "stddev", "gaussian_dropout": "rate", "alpha_dropout": "rate", "spatial_dropout": "rate"}


@pytest.mark.parametrize("op", sorted(NOISE_OPS))
def test_noise_ops_propagate_nan_forward_and_backward(op):
    x = np.ones((4, 8))
    x[0, 3] = nan
    dout = np.ones((4, 8))
    dout[1, 2] = nan
    out, (dx,), _ = run(
        op,
        [x],
        8,
        dout=dout,
        rng=0,
        s=2,
        c=4,
        **({"q": 1} if op == "spatial_dropout" else {}),
        **{NOISE_OPS[op]: 0.001},
    )  # almost nothing dropped
    assert np.isnan(out[0, 3]) and np.isfinite(out[1:]).all(), out
    assert np.isnan(dx[1, 2]) and np.isfinite(dx[2:]).all(), dx


def test_dropout_keeps_a_dropped_nan_as_torch():
    x = np.full((8, 16), nan)
    out, _, _ = run("dropout", [x], 16, rng=0, rate=0.5)
    assert np.isnan(out).all()  # x * mask: torch's dropout multiplies too
    assert np.isnan(F.dropout(torch.from_numpy(f32(x)), 0.5, training=True)).all()


def test_activity_penalty_of_nan_is_nan():
    """activity_reg has no output: its penalty (a sum in double, csrc/penalty.c) joins the loss."""
    import pytrainc as ptc

    reg = ptc.layers.Dense(2, input_dim=3, activity_regularizer="l1_l2", kernel_regularizer="l2")
    model = ptc.Sequential([reg, ptc.layers.Dense(1)])
    model.compile(loss="mse")
    w = model.get_weights()
    w[0][0, 0] = nan  # the inputs refuse NaN; a weight may become NaN in training
    model.set_weights(w)
    x = np.ones((4, 3), np.float32)
    assert np.isnan(model.evaluate(x, np.zeros((4, 1), np.float32), verbose=0))


# ---------------------------------------------------------------------------
# Losses

LOSS_PRED = {  # probabilities for the probability losses, logits for the fused ones
    "mse": [[0.2, 0.3, 0.5]],
    "mae": [[0.2, 0.3, 0.5]],
    "bce": [[0.2, 0.3, 0.5]],
    "cce": [[0.2, 0.3, 0.5]],
    "sparse_cce": [[0.2, 0.3, 0.5]],
    "sigmoid_bce": [[0.2, -1.3, 0.5]],
    "softmax_cce": [[0.2, -1.3, 0.5]],
    "softmax_sparse_cce": [[0.2, -1.3, 0.5]],
    **{  # issue #11's kinds, their parameters all 0 (_C.loss's default)
        name: [[0.2, 0.3, 0.5]]
        for name in ("huber", "log_cosh", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine")
        + ("mape", "msle", "bfce", "cfce", "dice", "tversky")
    },
    "sigmoid_bfce": [[0.2, -1.3, 0.5]],
    "softmax_cfce": [[0.2, -1.3, 0.5]],
}


def test_every_loss_kind_is_in_the_table():
    # "traced" has no row kernel: the plan reduces values that traced primitives computed, each of
    # which is in the op table below (tests/losses/test_custom_losses.py runs it end to end).
    assert set(LOSS_PRED) == set(_C.LOSSES) - {"traced"}


def loss_target(name):
    return f32([[2.0]]) if "sparse" in name else f32([[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("name", sorted(LOSS_PRED))
@pytest.mark.parametrize("col", [0, 2])  # off and on the target class
def test_loss_of_a_nan_prediction_is_nan(name, col):
    pred = f32(LOSS_PRED[name])
    pred[0, col] = nan
    loss, _ = _C.loss(_C.LOSSES[name], pred, loss_target(name))
    assert np.isnan(loss), f"{name}: loss {loss}"


@pytest.mark.parametrize("name", [n for n in sorted(LOSS_PRED) if "sparse" not in n])
def test_loss_of_a_nan_target_is_nan(name):
    y = loss_target(name)
    y[0, 0] = nan
    loss, _ = _C.loss(_C.LOSSES[name], f32(LOSS_PRED[name]), y)
    assert np.isnan(loss), f"{name}: loss {loss}"


@pytest.mark.parametrize("name", ["sparse_cce", "softmax_sparse_cce"])
def test_sparse_loss_refuses_a_nan_label(name):
    with pytest.raises(ValueError):
        _C.loss(_C.LOSSES[name], f32(LOSS_PRED[name]), f32([[nan]]))


@pytest.mark.parametrize("name", ["mse", "mae", "bce", "cce", "sigmoid_bce", "softmax_cce"])
@pytest.mark.parametrize("value", [inf, -inf])
# A -inf logit is a class of probability 0: the fused softmax loss skips the t = 0 terms, so its
# loss is finite, as Keras's softmax activation then categorical_crossentropy (the reference here).
# Keras's from_logits=True on torch computes -sum(t * log_softmax), 0 * -inf = NaN; pytrainc
# follows the math there (no NaN is hidden: the input has none).
def test_loss_of_an_infinite_prediction_equals_torch(name, value):
    """Keras's formulas in torch: the probability losses clip to [eps, 1 - eps] (so +-inf gives
    a finite loss, as in Keras), the fused ones work on logits."""
    pred = f32(LOSS_PRED[name])
    pred[0, 0] = value
    y = loss_target(name)
    p, t = torch.from_numpy(pred), torch.from_numpy(y)
    eps = 1e-7  # keras.backend.epsilon(); Keras clips in float32, where 1 - eps rounds to 1 - 1.19e-7
    ref = {
        "mse": lambda: ((p - t) ** 2).mean(),
        "mae": lambda: (p - t).abs().mean(),
        "bce": lambda: F.binary_cross_entropy(p.clamp(eps, 1 - eps).double(), t.double()),
        "cce": lambda: -(t * torch.log((p / p.sum(-1, keepdim=True)).clamp(eps, 1 - eps))).sum(),
        "sigmoid_bce": lambda: F.binary_cross_entropy_with_logits(p, t),
        "softmax_cce": lambda: -(t * torch.log(F.softmax(p.double(), -1).clamp(eps, 1 - eps))).sum(),
    }[name]().item()
    loss, _ = _C.loss(_C.LOSSES[name], pred, y)
    if name == "sigmoid_bce" and np.isinf(ref):
        # max(z, 0) - z * y + log1p(exp(-|z|)) at z = inf, y = 0 is inf - 0 * inf: NaN here and in
        # tf.nn.sigmoid_cross_entropy_with_logits, inf in torch. Not finite either way.
        assert not np.isfinite(loss)
    elif np.isnan(ref):
        assert np.isnan(loss), f"{name}: {loss}, torch NaN"
    else:
        np.testing.assert_allclose(loss, ref, rtol=1e-5, err_msg=name)


# ---------------------------------------------------------------------------
# Metrics


def metric_sum(name, pred, y):
    return _C.metric_sum(_C.METRICS[name], f32(pred), f32(y))


@pytest.mark.parametrize("name", ["mse", "mae"])
def test_error_metrics_of_nan_are_nan(name):
    assert np.isnan(metric_sum(name, [[nan, 0.3], [0.1, 0.2]], [[1.0, 0.0], [0.0, 1.0]]))


@pytest.mark.parametrize("nan_col", [0, 1, 2])
def test_accuracy_ranks_nan_first_as_torch_argmax(nan_col):
    pred = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.2, 0.9]], np.float32)
    pred[:, nan_col] = nan
    pred[2, :] = [nan, nan, 0.1]  # two NaNs: the first one wins
    labels = np.array([0, 1, 2])
    hits = (torch.from_numpy(pred).argmax(-1).numpy() == labels).sum()
    assert np.argmax(pred, -1).tolist() == torch.from_numpy(pred).argmax(-1).tolist()
    assert metric_sum("sparse_categorical_accuracy", pred, labels[:, None]) == hits
    assert metric_sum("categorical_accuracy", pred, np.eye(3)[labels]) == hits


def test_binary_accuracy_counts_a_nan_prediction_as_negative():
    # Keras: mean((y_pred > 0.5) == y_true) over the last axis; NaN > 0.5 is False.
    assert metric_sum("binary_accuracy", [[nan, nan]], [[0.0, 1.0]]) == 0.5


def keras_torch_in_top_k(pred, targets, k):
    """keras/src/backend/torch/math.py in_top_k."""
    p = torch.from_numpy(pred)
    top = torch.topk(p, k).values
    target_values = torch.take_along_dim(p, torch.from_numpy(targets)[:, None], dim=-1)
    return (target_values >= top).any(-1).numpy()


def test_top_k_with_nan_follows_keras_on_torch():
    pred = f32([[nan, 0.5, 0.4, 0.1], [0.3, nan, 0.2, 0.1], [0.1, 0.2, nan, 0.9], [nan, nan, 0.1, 0.2]])
    for k in (1, 2, 3):
        for t in range(4):
            targets = np.full(4, t, np.int64)
            ref = keras_torch_in_top_k(pred, targets, k).sum()
            got = _C.metric_accumulate(_C.METRICS["sparse_top_k"], k, 0.5, pred, f32(targets[:, None]))
            assert got[0] == ref, (k, t, got, ref)


# ---------------------------------------------------------------------------
# Optimizers


def hyper(**kw):
    d = dict(learning_rate=0.01, momentum=0.0, nesterov=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-7, rho=0.9,
             centered=0.0, amsgrad=0.0, weight_decay=0.0, clipnorm=0.0, clipvalue=0.0, global_clipnorm=0.0,
             beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0)  # fmt: skip
    d.update(kw)
    return np.array([d.get(k, 0.0) for k in _C.OPTIMIZER_HYPER], np.float64)


SETTINGS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "weight_decay": {"weight_decay": 0.1},
    "clipvalue": {"clipvalue": 0.5},
    "clipnorm": {"clipnorm": 1.0},
    "global_clipnorm": {"global_clipnorm": 1.0},
}
EXTRA = {"adam": [{"amsgrad": 1.0}], "rmsprop": [{"centered": 1.0}]}


def opt_cases():
    for name in sorted(_C.OPTIMIZERS):
        for label, kw in SETTINGS.items():
            yield name, label, kw
        for kw in EXTRA.get(name, []):
            yield name, next(iter(kw)), kw


def step(name, kw, g):
    P = g.size
    w = np.ones(P, np.float32)
    m, v = np.zeros(P, np.float32), np.zeros(P, np.float32)
    u = np.zeros(1 if name == "nadam" else P, np.float32)  # Nadam's u is its one u_product
    if name == "nadam":
        u[0] = 1.0
    _C.optimizer_step(_C.OPTIMIZERS[name], hyper(**kw), w, f32(g), m, v, u, np.zeros(1, np.int64))
    return w


@pytest.mark.parametrize("name,label,kw", list(opt_cases()))
def test_optimizer_step_keeps_a_nan_gradient(name, label, kw):
    g = f32([nan, 0.1, -0.2, 0.3])
    w = step(name, kw, g)
    assert np.isnan(w[0]), f"{name} {label}: a NaN gradient left the weight {w[0]}"
    if label in ("clipnorm", "global_clipnorm") or name == "adafactor":
        assert np.isnan(w).all()  # Keras: the NaN norm (Adafactor: the update's RMS) scales the whole variable
    else:
        assert np.isfinite(w[1:]).all()


@pytest.mark.parametrize("name", sorted(_C.OPTIMIZERS))
def test_clipvalue_clips_an_infinite_gradient_as_torch_clamp(name):
    g = f32([inf, -inf, 0.1])
    clipped = step(name, {"clipvalue": 0.5}, g)
    ref = step(name, {}, torch.from_numpy(g).clamp(-0.5, 0.5).numpy())
    np.testing.assert_array_equal(clipped, ref)


# ---------------------------------------------------------------------------
# End to end: the NaN reaches predict, the loss, and TerminateOnNaN (the repro).


def relu_model_with_a_nan_weight():
    import pytrainc as ptc

    ptc.utils.set_random_seed(0)
    model = ptc.Sequential([ptc.layers.Dense(4, input_dim=3, activation="relu"), ptc.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    w = model.get_weights()
    w[0][0, 0] = nan
    model.set_weights(w)
    return model


def test_nan_weight_reaches_predict_and_terminate_on_nan():
    import pytrainc as ptc

    x, y = np.ones((16, 3), np.float32), np.ones((16, 1), np.float32)
    model = relu_model_with_a_nan_weight()
    assert np.isnan(model.predict(x, verbose=0)).all()  # zeros before the ReLU fix
    assert np.isnan(model.evaluate(x, y, verbose=0))
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[ptc.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
