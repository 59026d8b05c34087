"""pytrainc <-> PyTorch conversion (pytrainc.interop) against torch==2.13.0.

Three checks: the module from `to_torch` against pytrainc's `predict`; the
same module against naive NumPy references of the channels-last layers (conv
with TensorFlow's 'same' padding, pooling over real cells, inference batch
norm), which needs no pytrainc kernel; and `from_torch` models against the
original PyTorch module. Predictions agree within 1e-5."""

import functools
import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import pytrainc  # noqa: E402
from pytrainc import interop, testing  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402
from pytrainc.testing import data, randomize  # noqa: E402

TOL = 1e-5
close = functools.partial(testing.assert_close_abs, atol=TOL)


def seed(s=0):
    testing.seed(s)
    torch.manual_seed(s)


def run(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x))).numpy()


# ---------------------------------------------------------------------------
# Naive NumPy references, channels last


def same_or_valid(n, k, s, d, padding):
    """Output size and cells of padding before, as TensorFlow's conv ops define them."""
    span = (k - 1) * d + 1
    if padding == "valid":
        return (n - span) // s + 1, 0
    out = -(-n // s)
    return out, max((out - 1) * s + span - n, 0) // 2


def ref_conv2d(x, kernel, bias, strides, padding, dilation=(1, 1)):
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    N, H, W, C = x.shape
    KH, KW, _, F = kernel.shape
    OH, pt = same_or_valid(H, KH, strides[0], dilation[0], padding)
    OW, pl = same_or_valid(W, KW, strides[1], dilation[1], padding)
    out = np.zeros((N, OH, OW, F))
    for i in range(OH):
        for j in range(OW):
            for a in range(KH):
                for b in range(KW):
                    h, w = i * strides[0] + a * dilation[0] - pt, j * strides[1] + b * dilation[1] - pl
                    if 0 <= h < H and 0 <= w < W:
                        out[:, i, j, :] += x[:, h, w, :] @ kernel[a, b]
    return out + (0 if bias is None else bias)


def ref_pool2d(x, kind, pool, strides, padding):
    N, H, W, C = x.shape
    OH, pt = same_or_valid(H, pool[0], strides[0], 1, padding)
    OW, pl = same_or_valid(W, pool[1], strides[1], 1, padding)
    out = np.zeros((N, OH, OW, C))
    for i in range(OH):
        for j in range(OW):
            h0, w0 = i * strides[0] - pt, j * strides[1] - pl
            window = x[:, max(h0, 0) : h0 + pool[0], max(w0, 0) : w0 + pool[1], :]  # real cells only
            out[:, i, j, :] = window.max(axis=(1, 2)) if kind == "max" else window.mean(axis=(1, 2))
    return out


def ref_bn(x, bn):
    return (x - bn.moving_mean.numpy()) / np.sqrt(
        bn.moving_variance.numpy() + bn.epsilon
    ) * bn.gamma.numpy() + bn.beta.numpy()


def ref_forward(model, x):
    """Run a Sequential model of Conv2D/BN/pooling/Flatten/Dense/Activation layers in NumPy."""
    y = x.astype(np.float64)
    for layer in model.layers:
        if isinstance(layer, L.Conv2D):
            y = ref_conv2d(
                y,
                layer.kernel.numpy(),
                layer.bias.numpy() if layer.use_bias else None,
                layer.strides,
                layer.padding,
                layer.dilation_rate,
            )
            y = getattr(pytrainc.activations, layer.activation)(y).astype(np.float64)
        elif isinstance(layer, L.BatchNormalization):
            y = ref_bn(y, layer)
        elif isinstance(layer, (L.MaxPooling2D,)):
            kind = "avg" if isinstance(layer, L.AveragePooling2D) else "max"
            y = ref_pool2d(y, kind, layer.pool_size, layer.strides, layer.padding)
        elif isinstance(layer, L.GlobalAveragePooling2D):
            y = y.mean(axis=(1, 2))
        elif isinstance(layer, L.Flatten):
            y = y.reshape(len(y), -1)
        elif isinstance(layer, L.Dense):
            y = y @ layer.kernel.numpy() + (layer.bias.numpy() if layer.use_bias else 0)
            y = getattr(pytrainc.activations, layer.activation)(y).astype(np.float64)
        elif isinstance(layer, L.Dropout):
            pass
        else:
            raise AssertionError(type(layer).__name__)
    return y


def convnet(padding="same", s=0):
    seed(s)
    return randomize(
        Sequential(
            [
                L.Input((13, 11, 3)),
                L.Conv2D(4, (3, 2), strides=(2, 1), padding=padding, activation="relu"),
                L.BatchNormalization(momentum=0.9, epsilon=1e-2),
                L.MaxPooling2D((2, 2), padding="same"),
                L.Conv2D(5, 2, dilation_rate=(1, 2) if padding == "valid" else 1, padding=padding),
                L.AveragePooling2D((2, 2), strides=1, padding=padding),
                L.Flatten(),
                L.Dropout(0.3),
                L.Dense(6, activation="tanh"),
                L.Dense(2),
            ]
        ),
        s=s + 1,
    )


# ---------------------------------------------------------------------------
# to_torch


ACTIVATIONS = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "hard_sigmoid",
    "softplus",
    "softsign",
    "swish",
    "log_softmax",
    "linear",
    "relu6",
    "mish",
    "hard_tanh",
    "log_sigmoid",
    "tanh_shrink",
    "hard_silu",
    "celu",
    "hard_shrink",
    "soft_shrink",
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_dense_predicts_like_pytrainc(activation):
    seed(0)
    model = randomize(
        Sequential(
            [
                L.Input((8,)),
                L.Dense(12, activation=activation),
                L.Dropout(0.5),
                L.Dense(5, use_bias=False),
                L.Dense(3, activation=activation),
            ]
        )
    )
    module = interop.to_torch(model)
    x = data() * 3
    close(run(module, x), model.predict(x, verbose=0))


def test_to_torch_structure_weights_and_mode():
    seed(0)
    model = randomize(Sequential([L.Input((8,)), L.Dense(6, activation="relu"), L.Dropout(0.25), L.Dense(2)]))
    module = interop.to_torch(model)
    assert isinstance(module, nn.Sequential)
    assert [type(m) for m in module] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert not module.training  # as predict runs; .train() to train in PyTorch
    assert module[2].p == 0.25
    kernel = model.layers[0].kernel.numpy()
    assert module[0].weight.shape == (6, 8)
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), kernel.T)  # bitwise: (in, out) -> (out, in)
    np.testing.assert_array_equal(module[3].bias.detach().numpy(), model.layers[2].bias.numpy())
    assert all(p.dtype == torch.float32 and p.requires_grad for p in module.parameters())
    # Copies, both ways.
    with torch.no_grad():
        module[0].weight.add_(1.0)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel)
    model.layers[2].bias.assign(np.full(2, 7.0, np.float32))
    assert not torch.any(module[3].bias == 7.0)


def test_to_torch_activation_layers():
    seed(0)
    model = randomize(
        Sequential(
            [
                L.Input((8,)),
                L.Dense(6),
                L.ReLU(negative_slope=0.1),
                L.Dense(6),
                L.LeakyReLU(),
                L.Dense(6),
                L.ELU(alpha=0.7),
                L.ActivityRegularization(l2=0.1),
                L.Dense(6),
                L.ReLU(),
                L.Activation("gelu"),
                L.Dense(4),
                L.Softmax(),
            ]
        )
    )
    module = interop.to_torch(model)
    x = data() * 3
    close(run(module, x), model.predict(x, verbose=0))
    assert [m.negative_slope for m in module if isinstance(m, nn.LeakyReLU)] == [pytest.approx(0.1), 0.3]


def test_to_torch_functional_graph_with_merges_and_a_shared_layer():
    seed(0)
    x = L.Input((6,))
    h = L.Dense(6, activation="relu")(x)
    shared = L.Dense(6, activation="tanh")
    a = L.Add()([x, shared(h)])
    b = shared(a)  # the same weights, called twice
    z = L.Concatenate()([a, b, L.Subtract()([a, b]), L.Multiply()([a, h]), L.Average()([a, b, h])])
    model = randomize(Model(inputs=x, outputs=L.Dense(3, activation="softmax")(z)))
    module = interop.to_torch(model)
    assert isinstance(module, interop.PytraincGraph)
    assert len(module.layers) == len(model.layers) - 1  # model.layers also lists the InputLayer
    assert sum(1 for i, _ in module.nodes if module.layers[i] is module.layers[1]) == 2
    assert sum(p.numel() for p in module.parameters()) == model.count_params()
    xs = data(shape=(6,), s=3) * 2
    close(run(module, xs), model.predict(xs, verbose=0))


def test_to_torch_concatenate_on_an_inner_axis():
    seed(0)
    x = L.Input((4, 3))
    y = L.Concatenate(axis=1)([x, L.Dense(3)(x)])
    model = randomize(Model(inputs=x, outputs=L.Dense(2)(L.Flatten()(y))))
    xs = data(shape=(4, 3))
    close(run(interop.to_torch(model), xs), model.predict(xs, verbose=0))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_to_torch_conv_net_against_numpy_reference(padding):
    # No pytrainc kernel runs here: the module against naive channels-last NumPy.
    model = convnet(padding)
    module = interop.to_torch(model)
    x = data(4, (13, 11, 3), s=2)
    y = run(module, x)
    assert y.shape == (4, 2)
    close(y, ref_forward(model, x))


def test_to_torch_conv_kernel_and_batchnorm_mapping():
    model = convnet()
    module = interop.to_torch(model)
    conv = module[0].conv
    assert isinstance(conv, nn.Conv2d) and conv.weight.shape == (4, 3, 3, 2)  # (F, C, KH, KW)
    np.testing.assert_array_equal(conv.weight.detach().numpy(), model.layers[0].kernel.numpy().transpose(3, 2, 0, 1))
    bn = module[2].bn
    keras_bn = model.layers[1]
    assert isinstance(bn, nn.BatchNorm2d)
    assert bn.eps == 1e-2 and bn.momentum == pytest.approx(0.1)  # torch momentum = 1 - Keras momentum
    np.testing.assert_array_equal(bn.running_mean.numpy(), keras_bn.moving_mean.numpy())
    np.testing.assert_array_equal(bn.running_var.numpy(), keras_bn.moving_variance.numpy())
    np.testing.assert_array_equal(bn.weight.detach().numpy(), keras_bn.gamma.numpy())
    np.testing.assert_array_equal(bn.bias.detach().numpy(), keras_bn.beta.numpy())
    default = interop.to_torch(Sequential([L.Input((3,)), L.BatchNormalization()]))[0].bn
    assert default.eps == 1e-3 and default.momentum == pytest.approx(0.01)


def test_to_torch_conv1d_and_global_pooling_against_numpy():
    seed(0)
    model = randomize(
        Sequential(
            [
                L.Input((10, 3)),
                L.Conv1D(4, 3, padding="causal", dilation_rate=2),
                L.MaxPooling1D(2, padding="same"),
                L.Conv1D(2, 2, strides=2, padding="same"),
                L.GlobalAveragePooling1D(),
            ]
        )
    )
    x = data(3, (10, 3))
    y = x.astype(np.float64)
    c1 = model.layers[0]
    padded = np.concatenate([np.zeros((3, 4, 3)), y], axis=1)  # causal: (k - 1) * d cells before
    y = ref_conv2d(padded[:, None], c1.kernel.numpy()[None], c1.bias.numpy(), (1, 1), "valid", (1, 2))[:, 0]
    y = ref_pool2d(y[:, None], "max", (1, 2), (1, 2), "same")[:, 0]
    c2 = model.layers[2]
    y = ref_conv2d(y[:, None], c2.kernel.numpy()[None], c2.bias.numpy(), (1, 2), "same")[:, 0]
    close(run(interop.to_torch(model), x), y.mean(axis=1))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_to_torch_conv_net_predicts_like_pytrainc(padding):
    model = convnet(padding)
    x = data(8, (13, 11, 3), s=4)
    close(run(interop.to_torch(model), x), model.predict(x, verbose=0))


def test_to_torch_module_pickles():
    seed(0)
    x = L.Input((5, 5, 2))
    y = L.Conv2D(3, 2, padding="same")(x)
    model = randomize(Model(inputs=x, outputs=L.Add()([L.Flatten()(y), L.Flatten()(y)])))
    module = interop.to_torch(model)
    again = pickle.loads(pickle.dumps(module))
    xs = data(2, (5, 5, 2))
    np.testing.assert_array_equal(run(again, xs), run(module, xs))


def test_to_torch_errors():
    class Custom(L.Layer):
        def _emit(self, builder, in_bufs, in_shapes):
            return in_bufs[0]

    model = Sequential([L.Input((3,)), L.Dense(2), Custom(name="mystery")])
    with pytest.raises(ValueError, match=r"layer 'mystery' \(Custom\) has no PyTorch equivalent"):
        interop.to_torch(model)
    with pytest.raises(TypeError, match="pytrainc Model"):
        interop.to_torch(model.state_dict())
    with pytest.raises(ValueError, match="no input shape"):
        interop.to_torch(Sequential([L.Dense(3)]))


def test_missing_torch_gives_a_clear_import_error(monkeypatch):
    model = Sequential([L.Input((3,)), L.Dense(2)])
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install torch"):
        interop.to_torch(model)
    with pytest.raises(ImportError, match=r"pip install torch"):
        interop.from_torch(object(), (3,))


# ---------------------------------------------------------------------------
# from_torch


def torch_run(module, x):
    with torch.no_grad():
        return module.eval()(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def test_from_torch_mlp_predicts_like_torch():
    seed(0)
    net = nn.Sequential(
        nn.Linear(8, 16),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(16, 16, bias=False),
        nn.Tanh(),
        nn.Sequential(nn.Linear(16, 4), nn.Softmax(dim=1)),
    )
    model = interop.from_torch(net, input_shape=(8,))
    assert isinstance(model, Sequential) and not model.compiled
    assert [type(layer) for layer in model.layers] == [
        L.Dense,
        L.Activation,
        L.Dropout,
        L.Dense,
        L.Activation,
        L.Dense,
        L.Activation,
    ]
    assert model.layers[2].rate == 0.3 and not model.layers[3].use_bias
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), net[0].weight.detach().numpy().T)
    x = data() * 2
    close(model.predict(x, verbose=0), torch_run(net, x))
    # And it trains: a pytrainc model like any other.
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(16) % 4, epochs=1, verbose=0)


TORCH_ACTIVATIONS = [
    nn.ReLU(),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.SELU(),
    nn.SiLU(),
    nn.GELU(),
    nn.ELU(alpha=0.5),
    nn.LeakyReLU(0.05),
    nn.Softplus(),
    nn.Softsign(),
    nn.Hardsigmoid(),
    nn.Softmax(dim=-1),
    nn.LogSoftmax(dim=1),
    nn.Identity(),
    nn.ReLU6(),
    nn.Mish(),
    nn.Hardtanh(),
    nn.LogSigmoid(),
    nn.Tanhshrink(),
    nn.Hardswish(),
    nn.CELU(),
    nn.Hardshrink(),
    nn.Softshrink(),
]


@pytest.mark.parametrize("act", TORCH_ACTIVATIONS, ids=lambda m: type(m).__name__)
def test_from_torch_activations(act):
    seed(0)
    net = nn.Sequential(nn.Linear(8, 6), act, nn.Linear(6, 5), act)
    model = interop.from_torch(net, (8,))
    x = data() * 4
    close(model.predict(x, verbose=0), torch_run(net, x))


def test_from_torch_batchnorm1d_mapping():
    seed(0)
    bn = nn.BatchNorm1d(6, eps=1e-5, momentum=0.2)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    net = nn.Sequential(nn.Linear(8, 6), bn, nn.ReLU(), nn.Linear(6, 2))
    model = interop.from_torch(net, (8,))
    layer = model.layers[1]
    assert isinstance(layer, L.BatchNormalization)
    assert layer.momentum == pytest.approx(0.8) and layer.epsilon == 1e-5
    np.testing.assert_array_equal(layer.moving_variance.numpy(), bn.running_var.numpy())
    # Inference mode in pytrainc (the engine) and through to_torch's module.
    x = data() * 2
    close(run(interop.to_torch(model), x), torch_run(net, x))
    close(model.predict(x, verbose=0), torch_run(net, x))


def torch_convnet(s=0):
    seed(s)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 11x9 -> 5x4
        nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 0), bias=False),  # 'same' rows, 'valid' columns
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(6 * 2 * 1, 8),
        nn.BatchNorm1d(8),
        nn.GELU(),
        nn.Linear(8, 3),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 2)
                m.bias.uniform_(-1, 1)
    return net.eval()


def torch_convnet_same_rows():
    # nn.Conv2d(padding=(1, 0)) pads rows as 'same' and columns as 'valid': pytrainc has
    # one padding for both axes, so this is refused; build the supported variant.
    seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),  # on 5x3: TF 'same' pads (1, 1) too
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(6 * 3 * 2, 8),
        nn.BatchNorm1d(8),
        nn.GELU(),
        nn.Linear(8, 3),
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 2)
                m.bias.uniform_(-1, 1)
    return net.eval()


def nchw(x_nhwc):
    return np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))


def test_from_torch_refuses_mixed_padding():
    with pytest.raises(ValueError, match=r"layer #4 \(Conv2d.*pads \(1, 0\)"):
        interop.from_torch(torch_convnet(), (11, 9, 3))


def test_from_torch_conv_net_through_to_torch():
    # to_torch is checked against NumPy above, so this checks from_torch's
    # weights (kernel permutation, Flatten's column order) without the engine.
    net = torch_convnet_same_rows()
    model = interop.from_torch(net, (10, 6, 3))
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "MaxPooling2D",
        "Conv2D",
        "AveragePooling2D",
        "Flatten",
        "Dropout",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dense",
    ]
    assert model.layers[0].padding == "same" and model.layers[4].padding == "same"
    assert model.layers[5].padding == "same"
    x = data(5, (10, 6, 3), s=7)
    close(run(interop.to_torch(model), x), torch_run(net, nchw(x)))


def test_from_torch_conv_net_predicts_like_torch():
    net = torch_convnet_same_rows()
    model = interop.from_torch(net, (10, 6, 3))
    x = data(5, (10, 6, 3), s=7)
    close(model.predict(x, verbose=0), torch_run(net, nchw(x)))


def test_from_torch_flatten_column_order_matters():
    # Without the permutation of the Linear's columns the results differ: this
    # is what test_from_torch_conv_net_through_to_torch guards.
    seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Flatten(), nn.Linear(3 * 2 * 2, 2)).eval()
    model = interop.from_torch(net, (2, 2, 2))
    naive = net[2].weight.detach().numpy().T
    assert not np.array_equal(model.layers[2].kernel.numpy(), naive)
    assert sorted(model.layers[2].kernel.numpy().ravel()) == sorted(naive.ravel())
    x = data(3, (2, 2, 2))
    close(run(interop.to_torch(model), x), torch_run(net, nchw(x)))


def test_from_torch_global_pooling():
    seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2), nn.Softmax(dim=1)
    ).eval()
    model = interop.from_torch(net, (6, 5, 3))
    x = data(4, (6, 5, 3))
    close(run(interop.to_torch(model), x), torch_run(net, nchw(x)))


@pytest.mark.parametrize(
    "layers,shape,message",
    [
        ([nn.Linear(4, 3), nn.PReLU()], (4,), r"layer #1 \(PReLU\(.*\)\) is not supported"),
        (
            [nn.Linear(4, 3), nn.CELU(0.3)],
            (4,),
            r"layer #1 \(CELU\(alpha=0.3\)\) is not supported: pytrainc's 'celu' has alpha=1.0",
        ),
        ([nn.Linear(4, 3), nn.Hardtanh(0, 2)], (4,), r"pytrainc's 'hard_tanh' has min_val=-1.0, max_val=1.0"),
        ([nn.LSTM(4, 3)], (4,), r"layer #0 \(LSTM.*is not supported"),
        ([nn.Conv2d(4, 4, 3, groups=2)], (8, 8, 4), r"groups=2"),
        ([nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")], (8, 8, 3), r"padding_mode='reflect'"),
        ([nn.Conv2d(3, 4, 3, stride=2, padding=1)], (8, 8, 3), r"pads \(1, 1\) with stride \(2, 2\) on a 8x8 input"),
        ([nn.Conv2d(3, 4, 3)], (8, 8, 2), r"expects 3 channels"),
        ([nn.Linear(8, 2)], (8, 8, 3), r"acts on the width axis.*nn.Flatten"),
        ([nn.Linear(7, 2)], (8,), r"expects 7 input features. Received: 8"),
        ([nn.Conv2d(3, 4, 3), nn.Flatten()], (8, 8, 3), r"ends with flattened \(C, H, W\) values"),
        ([nn.Softmax(dim=2)], (4, 4, 3), r"dim=2"),
        ([nn.Softmax()], (4,), r"dim=None"),
        ([nn.GELU(approximate="tanh")], (4,), r"approximate='tanh'"),
        ([nn.Softplus(beta=2)], (4,), r"beta=1"),
        ([nn.Dropout2d(0.1)], (4, 4, 3), r"Dropout2d.*is not supported"),
        ([nn.BatchNorm2d(3, track_running_stats=False)], (4, 4, 3), r"track_running_stats=True"),
        ([nn.BatchNorm2d(3, momentum=None)], (4, 4, 3), r"momentum"),
        ([nn.BatchNorm1d(3)], (4, 4, 3), r"does not fit its input"),
        ([nn.MaxPool2d(2, ceil_mode=True)], (5, 5, 3), r"ceil_mode=True"),
        ([nn.AvgPool2d(3, stride=1, padding=1)], (5, 5, 3), r"count_include_pad=True"),
        ([nn.Flatten(start_dim=2)], (4, 4, 3), r"start_dim=1"),
        ([nn.Identity()], (4,), r"no layers to convert"),
        ([nn.Linear(3, 2)], (3, 3), r"input_shape must be \(features,\) or \(H, W, C\)"),
    ],
)
def test_from_torch_unsupported(layers, shape, message):
    with pytest.raises(ValueError, match=message):
        interop.from_torch(nn.Sequential(*layers), shape)


def test_from_torch_accepts_same_equivalent_padding_only_where_it_is():
    # stride 2, kernel 3, padding 1: TensorFlow's 'same' pads (1, 1) on odd sizes, (0, 1) on even ones.
    net = nn.Sequential(nn.Conv2d(3, 2, 3, stride=2, padding=1)).eval()
    model = interop.from_torch(net, (9, 7, 3))
    assert model.layers[0].padding == "same"
    x = data(2, (9, 7, 3))
    close(run(interop.to_torch(model), x), torch_run(net, nchw(x)).transpose(0, 2, 3, 1))
    with pytest.raises(ValueError, match="pads"):
        interop.from_torch(net, (8, 7, 3))


def test_from_torch_needs_a_sequential():
    with pytest.raises(TypeError, match=r"expects a torch.nn.Sequential. Received: Linear"):
        interop.from_torch(nn.Linear(3, 2), (3,))
