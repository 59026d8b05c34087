"""Tier 2: the seed 004 CNN trained by pytrainc and by PyTorch, step by step.

The network of seed document 004 (examples/seed004_cnn.py): Conv2D(32, (3, 3),
relu) on 32x32x3 images, MaxPooling2D((2, 2)), Flatten, Dense(64, relu),
Dense(10, softmax), trained with Adam(learning_rate=1e-3) on categorical
cross-entropy in batches of 32 without shuffling. The same network is written
in PyTorch with the same initial weights and fed the same batches; the loss of
every one of the 32 steps and the final weights must agree.

Layout conversions: images NHWC -> NCHW; the Conv2D kernel (KH, KW, C, F) ->
torch's (F, C, KH, KW); a Dense kernel (IN, OUT) is the transpose of a Linear
weight. pytrainc's Flatten flattens NHWC activations (row-major over
height, width, channels), so the torch model permutes its NCHW activations to
NHWC before flattening and the first Linear layer takes the Dense kernel as is
(`test_flatten_order_sanity` shows the NCHW order would give another network).

Adam's epsilon: Keras adds epsilon to sqrt(v) and folds both bias corrections
into the step size (`lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
`w -= lr_t * m / (sqrt(v) + eps)`), torch adds it to sqrt(v_hat) =
sqrt(v / (1 - beta_2**t)). They are the same update when torch's epsilon at
step t is `eps / sqrt(1 - beta_2**t)`, which the torch run sets before each
step; with that, only rounding separates the two runs.

The torch run is in float64, so the differences are pytrainc's float32
rounding carried through 32 steps. Measured: the losses agree to 2e-7
relative; 99% of the weights agree to 3e-5 of their tensor's scale (max |w|),
most to 1e-7. The largest difference, 8e-5 of the conv kernel's scale, is in
one filter and appears at once at step 8 (from 1e-8 to 1e-6, with gradients of
1e-2: a jump, not a drift): a ReLU input or two max-pooled values within
float32 rounding of each other sent one gradient term the other way, and Adam's
moments carry that difference on. Tolerances: LOSS_RTOL = 1e-5 relative for
every step's loss and WEIGHT_RTOL = 1e-3 of each tensor's scale for the final
weights (margins of 50 and 12). Both are far below the effect of a formula
difference: torch's default epsilon placement alone (the run without the
per-step adjustment, `test_epsilon_placement_sanity`) moves the losses by 5e-4
and the weights by up to 1e-1 of their scale, because many gradients here are
small enough for epsilon to matter; a missing bias correction changes the first
step threefold.
"""

import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pytrainc  # noqa: E402
from pytrainc import testing  # noqa: E402

BATCH, STEPS, CLASSES = 32, 32, 10
LR, EPS, BETA_1, BETA_2 = 1e-3, 1e-7, 0.9, 0.999
LOSS_RTOL, WEIGHT_RTOL = 1e-5, 1e-3


@pytest.fixture(autouse=True, scope="module")
def _single_threads():
    # Small matrices: one thread each for torch and OpenBLAS. On a loaded machine, spinning
    # BLAS/OpenMP workers competing for cores made a step 30x slower than the work it does.
    before = torch.get_num_threads(), pytrainc.blas_info()["num_threads"]
    torch.set_num_threads(1)
    pytrainc.set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    pytrainc.set_num_threads(before[1])


def simple_network(input_shape=(32, 32, 3), num_classes=CLASSES):
    """As the seed: the functional API, tf.keras spelling."""
    inputs = pytrainc.keras.layers.Input(shape=input_shape)
    x = pytrainc.keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = pytrainc.keras.layers.MaxPooling2D((2, 2))(x)
    x = pytrainc.keras.layers.Flatten()(x)
    x = pytrainc.keras.layers.Dense(64, activation="relu")(x)
    x = pytrainc.keras.layers.Dense(num_classes, activation="softmax")(x)
    return pytrainc.keras.Model(inputs, x)


def compile_seed(model):
    model.compile(
        optimizer=pytrainc.keras.optimizers.Adam(learning_rate=LR, epsilon=EPS),
        loss=pytrainc.keras.losses.categorical_crossentropy,
        metrics=["accuracy"],
    )


def synthetic_cifar(n=BATCH * STEPS, seed=4):
    """Images in [0, 1) (as CIFAR-10 / 255) whose class depends on color and position, one-hot labels."""
    r = np.random.default_rng(seed)
    x = r.random((n, 32, 32, 3)).astype(np.float32)
    feats = np.concatenate([x[:, :16].mean(axis=(1, 2)), x[:, 16:].mean(axis=(1, 2))], axis=1)  # (n, 6)
    scores = (feats - feats.mean(0)) @ r.standard_normal((6, CLASSES))
    return x, pytrainc.utils.to_categorical(scores.argmax(axis=1), CLASSES)


class TorchSeedNet(torch.nn.Module):
    def __init__(self, weights, flatten_nhwc=True):
        super().__init__()
        k, kb, w1, b1, w2, b2 = (torch.tensor(w, dtype=torch.float64) for w in weights)
        self.conv = torch.nn.Conv2d(3, 32, 3).double()
        self.fc1 = torch.nn.Linear(15 * 15 * 32, 64).double()
        self.fc2 = torch.nn.Linear(64, CLASSES).double()
        with torch.no_grad():
            self.conv.weight.copy_(k.permute(3, 2, 0, 1))
            self.conv.bias.copy_(kb)
            self.fc1.weight.copy_(w1.T)
            self.fc1.bias.copy_(b1)
            self.fc2.weight.copy_(w2.T)
            self.fc2.bias.copy_(b2)
        self.flatten_nhwc = flatten_nhwc

    def forward(self, x_nhwc):  # returns logits; the softmax is in the loss (F.cross_entropy)
        h = F.max_pool2d(F.relu(self.conv(x_nhwc.permute(0, 3, 1, 2))), 2)
        if self.flatten_nhwc:
            h = h.permute(0, 2, 3, 1)
        h = F.relu(self.fc1(h.reshape(len(h), -1)))
        return self.fc2(h)

    def keras_weights(self):
        return [
            self.conv.weight.detach().permute(2, 3, 1, 0).numpy(),
            self.conv.bias.detach().numpy(),
            self.fc1.weight.detach().T.numpy(),
            self.fc1.bias.detach().numpy(),
            self.fc2.weight.detach().T.numpy(),
            self.fc2.bias.detach().numpy(),
        ]


def torch_losses(net, x, y, keras_epsilon=True):
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(BETA_1, BETA_2), eps=EPS)
    losses = []
    for t in range(1, STEPS + 1):
        xb = torch.tensor(x[(t - 1) * BATCH : t * BATCH], dtype=torch.float64)
        yb = torch.tensor(y[(t - 1) * BATCH : t * BATCH], dtype=torch.float64)
        if keras_epsilon:
            opt.param_groups[0]["eps"] = EPS / math.sqrt(1 - BETA_2**t)  # Keras's epsilon placement
        opt.zero_grad()
        loss = F.cross_entropy(net(xb), yb)  # probabilities as targets: mean of -sum(y log softmax)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return np.array(losses)


assert_weights_close = functools.partial(testing.assert_weights_close, rtol=WEIGHT_RTOL)


@pytest.fixture(scope="module")
def pytrainc_run():
    """The seed network trained by pytrainc: (data, initial weights, 32 step losses, final weights)."""
    pytrainc.utils.set_random_seed(4)
    model = simple_network()
    assert model.output_shape == (None, CLASSES)
    assert [w.shape for w in model.get_weights()] == [(3, 3, 3, 32), (32,), (7200, 64), (64,), (64, 10), (10,)]
    compile_seed(model)
    x, y = synthetic_cifar()
    initial = model.get_weights()
    losses = np.array(
        [model.train_on_batch(x[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH])[0] for b in range(STEPS)]
    )
    return x, y, initial, losses, model.get_weights()


def test_seed004_cnn_matches_torch_step_by_step(pytrainc_run):
    x, y, initial, ours, final = pytrainc_run
    net = TorchSeedNet(initial)
    theirs = torch_losses(net, x, y)
    np.testing.assert_allclose(ours, theirs, rtol=LOSS_RTOL)
    assert theirs[-4:].mean() < 0.95 * theirs[:4].mean()  # it learns: the trajectory is not flat
    assert_weights_close(final, net.keras_weights())

    # fit(batch_size=32, shuffle=False) runs the same 32 steps in one C call.
    again = simple_network()
    again.set_weights(initial)
    compile_seed(again)
    hist = again.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(theirs.mean(), rel=LOSS_RTOL)
    assert_weights_close(again.get_weights(), net.keras_weights())


def test_epsilon_placement_sanity(pytrainc_run):
    """torch's Adam with its own epsilon placement (eps added to sqrt(v_hat), not adjusted) is a
    different optimizer at these tolerances: the comparison above can tell them apart."""
    x, y, initial, ours, final = pytrainc_run
    net = TorchSeedNet(initial)
    theirs = torch_losses(net, x, y, keras_epsilon=False)
    assert np.abs(ours / theirs - 1).max() > 10 * LOSS_RTOL
    with pytest.raises(AssertionError):
        assert_weights_close(final, net.keras_weights())


def test_flatten_order_sanity():
    """With torch flattening NCHW, the same weights give another network: its first loss differs
    from pytrainc's by far more than LOSS_RTOL, so the step-by-step test checks the layout."""
    pytrainc.utils.set_random_seed(4)
    model = simple_network()
    compile_seed(model)
    x, y = synthetic_cifar(n=BATCH)
    ours = model.test_on_batch(x, y)[0]
    right = TorchSeedNet(model.get_weights(), flatten_nhwc=True)
    wrong = TorchSeedNet(model.get_weights(), flatten_nhwc=False)
    xb, yb = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    with torch.no_grad():
        assert ours == pytest.approx(float(F.cross_entropy(right(xb), yb)), rel=LOSS_RTOL)
        assert abs(ours - float(F.cross_entropy(wrong(xb), yb))) > 100 * LOSS_RTOL * ours
