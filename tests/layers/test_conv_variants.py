"""Convolution variants, resampling, noise and preprocessing layers (issue #11) against Keras 3.15.1
(torch backend) and torch: predictions and every weight's gradient, `.weights.h5` both ways, `.keras`
both ways, `to_torch`, configs, and clear errors.

Tolerances: predictions within 1e-5 (float32 on both sides, sums of a few dozen products);
gradients within 1e-4 relative to their largest entry (the same sums, then a mean squared error's
backward: a wrong index or a missing term is off by far more).
"""

import warnings

import numpy as np
import pytest
import torch

from pytrainc import testing

keras = testing.keras_torch()

from pytrainc import layers as L  # noqa: E402
from pytrainc import optimizers  # noqa: E402
from pytrainc.models import Sequential, load_model  # noqa: E402

K = keras.layers
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.usefixtures("torch_single_thread"),
]

# name -> (input shape, pytrainc layer factory, Keras layer factory): the same arguments on both sides.
T2 = dict(kernel_size=3, strides=2, padding="same")
CASES = {
    "conv2d_transpose-same": ((5, 6, 3), lambda: L.Conv2DTranspose(4, **T2), lambda: K.Conv2DTranspose(4, **T2)),
    "conv2d_transpose-valid-op": (
        (4, 5, 2),
        lambda: L.Conv2DTranspose(3, (2, 3), strides=(3, 2), output_padding=(1, 1), activation="relu"),
        lambda: K.Conv2DTranspose(3, (2, 3), strides=(3, 2), output_padding=(1, 1), activation="relu"),
    ),
    "conv2d_transpose-dilated": (
        (4, 4, 2),
        lambda: L.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", use_bias=False),
        lambda: K.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", use_bias=False),
    ),
    "conv1d_transpose": (
        (7, 3),
        lambda: L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1),
        lambda: K.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1),
    ),
    "upsampling2d": ((3, 4, 2), lambda: L.UpSampling2D((2, 3)), lambda: K.UpSampling2D((2, 3))),
    "upsampling2d-bilinear": (
        (3, 4, 2),
        lambda: L.UpSampling2D(2, interpolation="bilinear"),
        lambda: K.UpSampling2D(2, interpolation="bilinear"),
    ),
    "upsampling1d": ((4, 3), lambda: L.UpSampling1D(3), lambda: K.UpSampling1D(3)),
    "zero_padding2d": ((3, 4, 2), lambda: L.ZeroPadding2D(((1, 0), (2, 1))), lambda: K.ZeroPadding2D(((1, 0), (2, 1)))),
    "zero_padding1d": ((4, 3), lambda: L.ZeroPadding1D((2, 1)), lambda: K.ZeroPadding1D((2, 1))),
    "cropping2d": ((5, 6, 2), lambda: L.Cropping2D(((1, 2), (0, 3))), lambda: K.Cropping2D(((1, 2), (0, 3)))),
    "cropping1d": ((6, 3), lambda: L.Cropping1D((2, 1)), lambda: K.Cropping1D((2, 1))),
    "conv2d-groups": (
        (5, 6, 4),
        lambda: L.Conv2D(6, 3, strides=2, padding="same", groups=2),
        lambda: K.Conv2D(6, 3, strides=2, padding="same", groups=2),
    ),
    "conv1d-groups": ((7, 6), lambda: L.Conv1D(3, 2, groups=3), lambda: K.Conv1D(3, 2, groups=3)),
    "depthwise_conv2d": (
        (5, 6, 3),
        lambda: L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="tanh"),
        lambda: K.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="tanh"),
    ),
    "depthwise_conv2d-strided": (
        (6, 5, 2),
        lambda: L.DepthwiseConv2D((2, 3), strides=(2, 1), use_bias=False),
        lambda: K.DepthwiseConv2D((2, 3), strides=(2, 1), use_bias=False),
    ),
    "depthwise_conv1d": (
        (7, 3),
        lambda: L.DepthwiseConv1D(3, dilation_rate=2),
        lambda: K.DepthwiseConv1D(3, dilation_rate=2),
    ),
    "separable_conv2d": (
        (5, 6, 3),
        lambda: L.SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
        lambda: K.SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
    ),
    "separable_conv1d": (
        (7, 3),
        lambda: L.SeparableConv1D(5, 3, strides=2, activation="relu"),
        lambda: K.SeparableConv1D(5, 3, strides=2, activation="relu"),
    ),
    "prelu": (
        (3, 4, 2),
        lambda: L.PReLU("random_normal", shared_axes=[1, 2]),
        lambda: K.PReLU("random_normal", shared_axes=[1, 2]),
    ),
    "prelu-full": ((5,), lambda: L.PReLU(), lambda: K.PReLU()),
}

# Noise layers: the identity in predict (so predictions agree with Keras), random in training.
NOISE = {
    "gaussian_noise": ((4, 3), lambda: L.GaussianNoise(0.3, seed=1), lambda: K.GaussianNoise(0.3, seed=1)),
    "gaussian_dropout": ((6,), lambda: L.GaussianDropout(0.4, seed=2), lambda: K.GaussianDropout(0.4, seed=2)),
    "alpha_dropout": ((6,), lambda: L.AlphaDropout(0.2, seed=3), lambda: K.AlphaDropout(0.2, seed=3)),
    "spatial_dropout1d": ((5, 4), lambda: L.SpatialDropout1D(0.5, seed=4), lambda: K.SpatialDropout1D(0.5, seed=4)),
    "spatial_dropout2d": ((3, 4, 2), lambda: L.SpatialDropout2D(0.5), lambda: K.SpatialDropout2D(0.5)),
    "spatial_dropout3d": ((2, 3, 4, 2), lambda: L.SpatialDropout3D(0.25), lambda: K.SpatialDropout3D(0.25)),
}
# torch has no GaussianNoise/GaussianDropout module, and its PReLU's alpha is per channel only.
TORCH_MODULES = sorted((set(CASES) | set(NOISE)) - {"gaussian_noise", "gaussian_dropout", "prelu", "prelu-full"})


def models(name, seed=0):
    """The case's layer between an input and a Dense(1) head, in pytrainc and in Keras, same weights."""
    shape, make, k_make = CASES[name] if name in CASES else NOISE[name]
    model = Sequential([L.Input(shape), make(), L.Flatten(), L.Dense(1)])
    k_model = keras.Sequential([keras.Input(shape), k_make(), K.Flatten(), K.Dense(1)])
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    return model, k_model, weights


def data(model, n=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n,) + model.input_shape[1:]).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_predictions_and_gradients_match_keras(name):
    model, k_model, weights = models(name)
    x, y = data(model)
    assert model.layers[0].compute_output_shape((None,) + model.input_shape[1:]) == tuple(
        k_model.layers[0].compute_output_shape((None,) + model.input_shape[1:])
    )
    testing.assert_close_abs(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5)
    xt = torch.tensor(x, requires_grad=True)
    loss = ((k_model(xt) - torch.tensor(y)) ** 2).mean()
    loss.backward()
    k_grads = [v.value.grad.numpy() for v in k_model.weights]
    model.compile(optimizer=optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(x, y)  # one SGD step of rate 1 moves each weight by minus its gradient
    for got, want in zip([w0 - w1 for w0, w1 in zip(weights, model.get_weights())], k_grads):
        testing.assert_close_abs(got, want, 1e-4 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("name", sorted(CASES) + sorted(NOISE))
def test_weights_h5_both_ways_and_keras_files(tmp_path, name):
    model, k_model, _ = models(name)
    x, _ = data(model)
    k_model.set_weights([w * 0.7 for w in k_model.get_weights()])
    k_model.save_weights(tmp_path / "k.weights.h5")
    model.load_weights(tmp_path / "k.weights.h5")
    testing.assert_close_abs(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5)
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    testing.assert_close_abs(k_model.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)
    # .keras: Keras reads pytrainc's file and pytrainc reads Keras's, with the same predictions.
    model.save(tmp_path / "p.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_loaded = keras.models.load_model(tmp_path / "p.keras")
    testing.assert_close_abs(k_loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)
    k_model.save(tmp_path / "k.keras")
    loaded = load_model(tmp_path / "k.keras")
    testing.assert_close_abs(loaded.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5)
    assert loaded.layers[0].get_config() | {"name": None} == model.layers[0].get_config() | {"name": None}


@pytest.mark.parametrize("name", TORCH_MODULES)
def test_to_torch_computes_what_predict_computes(name):
    from pytrainc.interop import to_torch

    model, _, _ = models(name)
    x, _ = data(model)
    with torch.no_grad():
        got = to_torch(model).eval()(torch.from_numpy(x)).numpy()
    testing.assert_close_abs(got, model.predict(x, verbose=0), 1e-5)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(NOISE))
def test_config_round_trip_and_training_is_reproducible(name):
    model, _, _ = models(name)
    x, y = data(model, n=16)
    clone = Sequential.from_config(model.get_config())
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    runs = []
    for _ in range(2):
        testing.seed(0)
        m, _, _ = models(name)
        m.compile(optimizer="adam", loss="mse")
        m.fit(x, y, epochs=2, batch_size=4, verbose=0)
        runs.append(m.get_weights())
    assert testing.same_arrays(*runs)


def test_conv_transpose_matches_torch_conv_transpose2d():
    """With padding='valid' and output_padding=None, Keras's and torch's transposed convolutions coincide."""
    rng = np.random.default_rng(3)
    layer = L.Conv2DTranspose(3, (3, 3), strides=(2, 3))  # kernel >= stride: Keras adds no cells
    model = Sequential([L.Input((4, 5, 2)), layer])
    k, b = rng.normal(size=(3, 3, 3, 2)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    model.set_weights([k, b])
    x = rng.normal(size=(2, 4, 5, 2)).astype(np.float32)
    ref = torch.nn.functional.conv_transpose2d(
        testing.nchw(torch.tensor(x)), torch.tensor(k).permute(3, 2, 0, 1), torch.tensor(b), stride=(2, 3)
    )
    testing.assert_close_abs(model.predict(x, verbose=0), testing.nhwc(ref).numpy(), 1e-5)


def test_global_pooling_2d_keepdims_matches_keras():
    x = np.random.default_rng(4).normal(size=(3, 4, 5, 2)).astype(np.float32)
    for cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        model = Sequential([L.Input((4, 5, 2)), getattr(L, cls)(keepdims=True)])
        k_model = keras.Sequential([keras.Input((4, 5, 2)), getattr(K, cls)(keepdims=True)])
        assert model.output_shape == (None, 1, 1, 2)
        testing.assert_close_abs(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-6)


@pytest.mark.parametrize(
    "name",
    ["Conv2DTranspose", "Conv1DTranspose", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
    + ["Cropping1D", "Cropping2D", "DepthwiseConv2D", "SeparableConv2D", "GaussianNoise", "GaussianDropout"]
    + ["AlphaDropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "PReLU"],
)
def test_signature_is_keras_3s(name):
    import inspect

    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values() if p.name != "kwargs"]

    assert params(getattr(L, name)) == params(getattr(K, name))


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="output_padding` must be strictly less than `strides`"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="strides > 1` not supported in conjunction with `dilation_rate > 1"):
        L.Conv1DTranspose(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        L.Conv1DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="channels_last"):
        L.Conv2DTranspose(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="channels_last"):
        L.UpSampling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="interpolation='nearest' and 'bilinear'. Received: interpolation='bicubic'"):
        L.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="must be smaller than the input"):
        Sequential([L.Input((4, 3)), L.Cropping1D((2, 2))])
    with pytest.raises(ValueError, match=r"expects inputs of rank 4, \(batch, height, width, channels\)"):
        Sequential([L.Input((4, 3)), L.ZeroPadding2D()])
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 'nonneg'"):
        L.Conv2DTranspose(2, 3, kernel_constraint="nonneg")


def noise_run(op, x, dout, **args):
    return testing.run_op(op, [x], x.shape[1], dout=dout, rng_state=np.array([5, 6, 7, 8], np.uint64), **args)


def test_noise_ops_draw_keras_distributions_and_route_gradients():
    rng = np.random.default_rng(5)
    n, width = 400, 50
    x = rng.normal(size=(n, width)).astype(np.float32)
    g = np.ones_like(x)
    # GaussianNoise: x + N(0, 0.3); gradient 1.
    out, (dx,), _ = noise_run("gaussian_noise", x, g, s=1, c=width, rng=0, stddev=0.3)
    assert abs((out - x).mean()) < 0.01 and abs((out - x).std() - 0.3) < 0.01
    np.testing.assert_array_equal(dx, g)
    # GaussianDropout: x * N(1, sqrt(rate / (1 - rate))); gradient the factor.
    out, (dx,), _ = noise_run("gaussian_dropout", x, g, s=1, c=width, rng=0, rate=0.2)
    factor = out / x
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.std() - 0.5) < 0.01
    testing.assert_close_abs(dx, factor, 1e-4)
    # AlphaDropout: kept values a * x + b, dropped ones a * alpha_p + b; SELU-normal inputs keep mean 0, var 1.
    rate, alpha_p = 0.2, -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    out, (dx,), _ = noise_run("alpha_dropout", x, g, s=1, c=width, rng=0, rate=rate)
    dropped = np.isclose(out, a * alpha_p + b, atol=1e-6) & ~np.isclose(x, alpha_p, atol=1e-3)
    assert abs(dropped.mean() - rate) < 0.01
    testing.assert_close_abs(out[~dropped], (a * x + b)[~dropped], 1e-5)
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03
    np.testing.assert_allclose(dx, np.where(dropped, 0.0, a), rtol=1e-6)
    # SpatialDropout: one keep/drop per (sample, channel) over all positions, survivors scaled by 1 / (1 - rate).
    S, C = 10, 5
    out, (dx,), _ = noise_run("spatial_dropout", x, g, s=S, c=C, q=1, rng=0, rate=0.4)
    mask = (out / x).reshape(n, S, C)
    assert np.allclose(mask, mask[:, :1]) and abs((mask[:, 0] == 0).mean() - 0.4) < 0.03
    assert np.allclose(mask[mask != 0], 1 / 0.6)
    testing.assert_close_abs(dx.reshape(n, S, C), mask, 1e-5)
    for op, arg in (("gaussian_noise", "stddev"), ("alpha_dropout", "rate"), ("spatial_dropout", "rate")):
        q = {"q": 1} if op == "spatial_dropout" else {}
        inference, _, _ = testing.run_op(op, [x], width, training=False, s=1, c=width, rng=0, **q, **{arg: 0.3})
        np.testing.assert_array_equal(inference, x)


def test_noise_layers_are_identity_in_predict_and_differ_by_seed_in_training():
    x = np.random.default_rng(6).normal(size=(32, 6)).astype(np.float32)
    y = np.zeros((32, 1), np.float32)
    for make in (lambda s: L.GaussianNoise(0.5, seed=s), lambda s: L.AlphaDropout(0.3, seed=s)):
        runs = []
        for seed in (1, 1, 2):
            testing.seed(0)
            model = Sequential([L.Input((6,)), make(seed), L.Dense(1)])
            kernel, bias = model.get_weights()
            testing.assert_close_abs(model.predict(x, verbose=0), x @ kernel + bias, 1e-5)
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
            runs.append(model.get_weights())
        assert testing.same_arrays(runs[0], runs[1]) and not testing.same_arrays(runs[0], runs[2])


def test_noise_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match=r"`stddev`. Expected a float value between 0 and 1 \(1 included\)"):
        L.GaussianNoise(1.5)
    with pytest.raises(ValueError, match="`rate`. Expected a float value between 0 and 1"):
        L.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        L.AlphaDropout(0.1, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="channels_last"):
        L.SpatialDropout2D(0.1, data_format="channels_first")
    with pytest.raises(ValueError, match=r"expects inputs of rank 4"):
        Sequential([L.Input((4, 3)), L.SpatialDropout2D(0.1)])


def preprocessing_models(kind):
    rng = np.random.default_rng(7)
    if kind == "normalization":
        x = (rng.normal(size=(40, 3, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]).astype(np.float32)
        norm, k_norm = L.Normalization(), K.Normalization()
        norm.adapt(x)
        k_norm.adapt(x)
        layers = (norm, k_norm)
    elif kind == "normalization-given":
        x = rng.normal(size=(40, 3, 4)).astype(np.float32)
        stats = dict(mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 0.5, 2.0])
        layers = (L.Normalization(**stats), K.Normalization(**stats))
    elif kind == "rescaling":
        x = rng.uniform(0, 255, size=(40, 3, 4)).astype(np.float32)
        layers = (L.Rescaling(1 / 127.5, offset=-1.0), K.Rescaling(1 / 127.5, offset=-1.0))
    else:
        mode = kind.split("-")[1]
        x = rng.integers(0, 6, size=(40, 1 if mode == "one_hot" else 3)).astype(np.float32)
        layers = (L.CategoryEncoding(6, output_mode=mode), K.CategoryEncoding(6, output_mode=mode))
    model = Sequential([L.Input(x.shape[1:]), layers[0], L.Flatten(), L.Dense(1)])
    k_model = keras.Sequential([keras.Input(x.shape[1:]), layers[1], K.Flatten(), K.Dense(1)])
    k_model.layers[-1].set_weights(model.layers[-1].get_weights())
    return model, k_model, x


PREPROCESSING = ["normalization", "normalization-given", "rescaling"] + [
    f"category_encoding-{m}" for m in ("one_hot", "multi_hot", "count")
]


@pytest.mark.parametrize("kind", PREPROCESSING)
def test_preprocessing_layers_match_keras_and_move_between_files(tmp_path, kind):
    model, k_model, x = preprocessing_models(kind)
    assert [w.shape for w in model.weights] == [tuple(w.shape) for w in k_model.weights]
    for got, want in zip(model.layers[0].get_weights(), k_model.layers[0].get_weights()):
        testing.assert_close_abs(got, want, 1e-5)
    testing.assert_close_abs(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5)
    k_model.save_weights(tmp_path / "k.weights.h5")
    model.load_weights(tmp_path / "k.weights.h5")
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    testing.assert_close_abs(k_model.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)
    model.save(tmp_path / "p.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_loaded = keras.models.load_model(tmp_path / "p.keras")
    testing.assert_close_abs(k_loaded.predict(x, verbose=0), model.predict(x, verbose=0), 1e-5)
    k_model.save(tmp_path / "k.keras")
    loaded = load_model(tmp_path / "k.keras")
    testing.assert_close_abs(loaded.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5)
    clone = Sequential.from_config(model.get_config())
    assert type(clone.layers[0]) is type(model.layers[0])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((len(x), 1), np.float32), epochs=1, batch_size=8, verbose=0)  # trains through it


def test_normalization_of_a_constant_feature_follows_keras_floor():
    x = np.random.default_rng(8).normal(size=(6, 2)).astype(np.float32)
    model = Sequential([L.Input((2,)), L.Normalization(mean=[0.0, 1.0], variance=[0.0, 1.0])])
    k_model = keras.Sequential([keras.Input((2,)), K.Normalization(mean=[0.0, 1.0], variance=[0.0, 1.0])])
    np.testing.assert_allclose(model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-6)


def test_preprocessing_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="axis=-1"):
        L.Normalization(axis=1)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="invert=True"):
        L.Normalization(invert=True)
    with pytest.raises(ValueError, match="output_mode"):
        L.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="finite number"):
        L.Rescaling(float("nan"))
    with pytest.raises(ValueError, match="features"):
        norm = L.Normalization()
        norm.adapt(np.ones((4, 3)))
        norm.adapt(np.ones((4, 2)))


def test_discretization_buckets_as_numpy_digitize():
    x = np.random.default_rng(9).normal(size=(50, 3)).astype(np.float32)
    x[0, :2] = [0.0, 1.0]  # on a boundary: the upper bucket, as digitize
    bounds = [-1.0, 0.0, 1.0]
    model = Sequential([L.Input((3,)), L.Discretization(bin_boundaries=bounds)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.digitize(x, bounds))
    hot = Sequential([L.Input((3,)), L.Discretization(bin_boundaries=bounds, output_mode="count")])
    want = np.stack([(np.digitize(x, bounds) == k).sum(1) for k in range(4)], 1)
    np.testing.assert_array_equal(hot.predict(x, verbose=0), want)
    layer = L.Discretization(num_bins=4)
    layer.adapt(x)
    np.testing.assert_allclose(layer.bin_boundaries, np.quantile(x.astype(np.float64), [0.25, 0.5, 0.75]))
    clone = Sequential.from_config(Sequential([L.Input((3,)), layer]).get_config())
    assert clone.layers[0].bin_boundaries == layer.bin_boundaries
    with pytest.raises(ValueError, match="Both `num_bins` and `bin_boundaries`"):
        L.Discretization(bin_boundaries=[0.0], num_bins=3)


def test_lookups_map_raw_data_outside_the_model_as_keras():
    words = np.array([["b", "a", "c"], ["a", "a", "z"]])
    lookup = L.StringLookup()
    lookup.adapt(np.array(["a", "b", "a", "c", "b", "a", "d"]))
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b", "d", "c"]  # by count, ties in reverse token order
    np.testing.assert_array_equal(lookup(words), [[2, 1, 4], [1, 1, 0]])
    masked = L.StringLookup(vocabulary=["x", "y"], mask_token="")
    np.testing.assert_array_equal(masked(np.array(["", "y", "q"])), [0, 3, 1])
    assert masked.vocabulary_size() == 4
    back = L.StringLookup(vocabulary=["x", "y"], invert=True)
    assert back(np.array([2, 0, 1])).tolist() == ["y", "[UNK]", "x"]
    ints = L.IntegerLookup(vocabulary=[12, 36, 1138], output_mode="multi_hot")
    np.testing.assert_array_equal(ints(np.array([[12, 5], [36, 36]])), [[1, 1, 0, 0], [0, 0, 1, 0]])
    clone = L.StringLookup.from_config(lookup.get_config())
    np.testing.assert_array_equal(clone(words), lookup(words))
    # ids made by the lookup train a model; inside a model the lookup refuses with a pointer to the data pipeline
    model = Sequential([L.Input((3,)), L.Embedding(lookup.vocabulary_size(), 2), L.Flatten(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(lookup(words).astype(np.float32), np.zeros((2, 1), np.float32), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="Apply it to the data before fit/predict"):
        lookup(L.Input((3,)))
    with pytest.raises(ValueError, match="num_oov_indices 0 or 1"):
        L.IntegerLookup(num_oov_indices=2)
