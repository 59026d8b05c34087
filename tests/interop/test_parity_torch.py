"""Tier 2: whole training runs against PyTorch.

The same 2-hidden-layer MLP (20 -> 32 relu -> 16 tanh -> out), the same initial
weights (pytrainc's `get_weights()` copied into torch; a Dense kernel (in, out)
is the transpose of torch's Linear weight (out, in)) and the same batches must
give the same loss at every step and the same final weights, within 1e-4
relative, over 52 optimizer steps (4 epochs of 13 batches: 12 of 16 samples and
a last one of 8). pytrainc is driven two ways: `train_on_batch` per batch, and
`fit(..., shuffle=False)`, whose epoch loop runs in C.

pytrainc fuses a final sigmoid/softmax into its loss and differentiates the
loss with respect to the logits; torch is given the logits too
(`binary_cross_entropy_with_logits`, `cross_entropy`), so both compute the same
function the same way and the comparison can be tight.
"""

import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pytrainc  # noqa: E402
from pytrainc import testing  # noqa: E402
from pytrainc.layers import Dense, Input  # noqa: E402
from pytrainc.models import Sequential  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_single_thread")

N_SAMPLES, N_FEATURES, BATCH, EPOCHS = 200, 20, 16, 4
STEPS_PER_EPOCH = -(-N_SAMPLES // BATCH)  # 13: the last batch holds 8 samples
N_CLASSES = 4
# Both sides compute in float32, so every step differs by float32 rounding (sgemm blocking,
# summation order of the loss and its gradient: ~1e-7 relative). Over 52 steps of a
# well-conditioned run those differences grow to ~1e-6; 1e-4 leaves a margin of ~100 and is
# still far below the effect of any real formula difference (see the sanity tests below).
RTOL = 1e-4

LOSSES = {  # name: (pytrainc loss, output units, output activation)
    "mse": ("mse", 3, None),
    "binary_crossentropy": ("binary_crossentropy", 1, "sigmoid"),
    "categorical_crossentropy": ("categorical_crossentropy", N_CLASSES, "softmax"),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", N_CLASSES, "softmax"),
}

OPTIMIZERS = {  # name: (pytrainc optimizer factory, torch optimizer factory, per-step hook)
    "sgd_momentum": (
        lambda: pytrainc.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
        None,
    ),
    "sgd_nesterov": (
        lambda: pytrainc.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        None,
    ),
    "adam": (
        lambda: pytrainc.optimizers.Adam(learning_rate=3e-3, epsilon=1e-7),
        lambda ps: torch.optim.Adam(ps, lr=3e-3, betas=(0.9, 0.999), eps=1e-7),
        # Keras adds epsilon to sqrt(v) with the bias corrections folded into the step
        # size; torch adds it to sqrt(v_hat). They are the same update when torch's
        # epsilon at step t is epsilon / sqrt(1 - beta_2**t) (see tests/csrc/test_kernels.py).
        lambda opt, t: opt.param_groups[0].__setitem__("eps", 1e-7 / math.sqrt(1 - 0.999**t)),
    ),
}


def make_data(loss_name, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((N_SAMPLES, N_FEATURES)).astype(np.float32)
    a = r.standard_normal((N_FEATURES, N_CLASSES)) / math.sqrt(N_FEATURES)
    scores = x @ a + 0.3 * r.standard_normal((N_SAMPLES, N_CLASSES))
    if loss_name == "mse":
        y = np.tanh(scores[:, :3])
    elif loss_name == "binary_crossentropy":
        y = (scores[:, :1] > 0).astype(np.float64)
    elif loss_name == "categorical_crossentropy":
        y = np.eye(N_CLASSES)[scores.argmax(axis=1)]
    else:
        y = scores.argmax(axis=1)[:, None]  # integer class ids
    return x, y.astype(np.float32)


def make_model(loss_name, opt_name, seed=0):
    loss, units, activation = LOSSES[loss_name]
    pytrainc.utils.set_random_seed(seed)  # the glorot_uniform kernels come from the global RNG
    model = Sequential(
        [
            Input((N_FEATURES,)),
            Dense(32, activation="relu"),
            Dense(16, activation="tanh"),
            Dense(units, activation=activation),
        ]
    )
    # Random biases too (the default initializer gives zeros), so that their handling
    # matters from the first step.
    r = np.random.default_rng(100 + seed)
    weights = [
        w + (0.1 * r.standard_normal(w.shape)).astype(np.float32) if w.ndim == 1 else w for w in model.get_weights()
    ]
    model.set_weights(weights)
    model.compile(optimizer=OPTIMIZERS[opt_name][0](), loss=loss)
    return model


def torch_mlp(weights):
    """torch.nn.Sequential with pytrainc's weights: Linear.weight is the kernel transposed."""
    k1, b1, k2, b2, k3, b3 = weights
    net = torch.nn.Sequential(
        torch.nn.Linear(*k1.shape),
        torch.nn.ReLU(),
        torch.nn.Linear(*k2.shape),
        torch.nn.Tanh(),
        torch.nn.Linear(*k3.shape),
    )
    with torch.no_grad():
        for layer, k, b in zip((net[0], net[2], net[4]), (k1, k2, k3), (b1, b2, b3)):
            layer.weight.copy_(torch.from_numpy(k.T.copy()))
            layer.bias.copy_(torch.from_numpy(b.copy()))
    return net


def torch_weights(net):
    """Back to pytrainc's order and layout: kernel (in, out), bias, per Dense."""
    out = []
    for layer in (net[0], net[2], net[4]):
        out += [layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()]
    return out


def torch_loss(loss_name, logits, y):
    if loss_name == "mse":
        return F.mse_loss(logits, y)
    if loss_name == "binary_crossentropy":
        return F.binary_cross_entropy_with_logits(logits, y)
    if loss_name == "categorical_crossentropy":
        return F.cross_entropy(logits, y)  # probability (one-hot) targets
    return F.cross_entropy(logits, y[:, 0].long())


def batches():
    """The batches of fit(shuffle=False, batch_size=16): in order, the last one smaller."""
    for _ in range(EPOCHS):
        for b in range(STEPS_PER_EPOCH):
            yield slice(b * BATCH, min((b + 1) * BATCH, N_SAMPLES))


def run_torch(loss_name, opt_name, weights, x, y):
    torch.manual_seed(0)
    net = torch_mlp(weights)
    _, make_opt, hook = OPTIMIZERS[opt_name]
    opt = make_opt(list(net.parameters()))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses, sizes = [], []
    for t, s in enumerate(batches(), start=1):
        if hook is not None:
            hook(opt, t)
        opt.zero_grad()
        loss = torch_loss(loss_name, net(xt[s]), yt[s])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        sizes.append(s.stop - s.start)
    return np.array(losses), np.array(sizes), torch_weights(net)


def epoch_means(losses, sizes):
    """Keras's epoch loss: the batch losses averaged with the batch sizes as weights."""
    losses, sizes = losses.reshape(EPOCHS, -1), sizes.reshape(EPOCHS, -1)
    return (losses * sizes).sum(axis=1) / sizes.sum(axis=1)


# Relative to the scale of each weight array: entries that pass through zero have no
# meaningful elementwise relative error.
assert_weights_close = functools.partial(testing.assert_weights_close, rtol=RTOL)


CASES = [(o, l) for o in OPTIMIZERS for l in LOSSES]


@pytest.fixture(scope="module")
def torch_runs():
    cache = {}

    def get(opt_name, loss_name):
        if (opt_name, loss_name) not in cache:
            x, y = make_data(loss_name)
            w0 = make_model(loss_name, opt_name).get_weights()
            cache[opt_name, loss_name] = (w0,) + run_torch(loss_name, opt_name, w0, x, y)
        return cache[opt_name, loss_name]

    return get


@pytest.mark.parametrize("opt_name,loss_name", CASES)
def test_train_on_batch_matches_torch(opt_name, loss_name, torch_runs):
    x, y = make_data(loss_name)
    model = make_model(loss_name, opt_name)
    w0, t_losses, _, t_weights = torch_runs(opt_name, loss_name)
    assert_weights_close(model.get_weights(), w0, rtol=0)  # same start (make_model is deterministic)
    losses = np.array([model.train_on_batch(x[s], y[s]) for s in batches()])
    assert losses.size == t_losses.size >= 50
    np.testing.assert_allclose(losses, t_losses, rtol=RTOL)
    assert_weights_close(model.get_weights(), t_weights)
    assert model.optimizer.iterations == losses.size
    # The run learned something, so the comparison is not between two idle runs.
    assert losses[-STEPS_PER_EPOCH:].mean() < 0.9 * losses[:STEPS_PER_EPOCH].mean()


@pytest.mark.parametrize("opt_name,loss_name", CASES)
def test_fit_matches_torch(opt_name, loss_name, torch_runs):
    x, y = make_data(loss_name)
    model = make_model(loss_name, opt_name)
    _, t_losses, t_sizes, t_weights = torch_runs(opt_name, loss_name)
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], epoch_means(t_losses, t_sizes), rtol=RTOL)
    assert_weights_close(model.get_weights(), t_weights)
    assert model.optimizer.iterations == EPOCHS * STEPS_PER_EPOCH


@pytest.mark.parametrize("opt_name,loss_name", [("adam", "categorical_crossentropy"), ("sgd_momentum", "mse")])
def test_fit_and_train_on_batch_agree_bitwise(opt_name, loss_name):
    # Both drive the same C step on the same batches: no reason for even one bit to differ.
    x, y = make_data(loss_name)
    a, b = make_model(loss_name, opt_name), make_model(loss_name, opt_name)
    for s in batches():
        a.train_on_batch(x[s], y[s])
    b.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------------------
# The comparison is sensitive: plausible mistakes move the result far beyond RTOL.


def test_parity_detects_a_different_learning_rate(torch_runs):
    x, y = make_data("mse")
    model = make_model("mse", "sgd_momentum")
    model.optimizer.learning_rate = 0.05 * (1 + 1e-3)
    _, t_losses, _, t_weights = torch_runs("sgd_momentum", "mse")
    losses = np.array([model.train_on_batch(x[s], y[s]) for s in batches()])
    assert np.max(np.abs(losses / t_losses - 1)) > 10 * RTOL
    with pytest.raises(AssertionError):
        assert_weights_close(model.get_weights(), t_weights)


def test_parity_detects_torch_adam_epsilon_placement():
    # Without the per-step epsilon mapping, torch's Adam is a different (if close) method:
    # with a large epsilon the runs separate clearly.
    x, y = make_data("categorical_crossentropy")
    model = make_model("categorical_crossentropy", "adam")
    model.compile(optimizer=pytrainc.optimizers.Adam(learning_rate=3e-3, epsilon=1e-2), loss="categorical_crossentropy")
    w0 = model.get_weights()
    net = torch_mlp(w0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, eps=1e-2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for s in batches():
        model.train_on_batch(x[s], y[s])
        opt.zero_grad()
        F.cross_entropy(net(xt[s]), yt[s]).backward()
        opt.step()
    with pytest.raises(AssertionError):
        assert_weights_close(model.get_weights(), torch_weights(net))
