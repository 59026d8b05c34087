"""3-D layers (issue #11): Conv3D, MaxPooling3D, AveragePooling3D, GlobalAverage/MaxPooling3D,
UpSampling3D, ZeroPadding3D, Cropping3D and Identity against Keras 3.15 on torch (predictions and
gradients with the same weights), Conv3D's weights from a Keras .weights.h5, training with fit,
configs and Keras's aliases."""

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()

SHAPE = (5, 6, 7, 2)
LAYERS = {
    "conv-valid": lambda lib: lib.Conv3D(3, (2, 3, 2), strides=(1, 2, 1)),
    "conv-same": lambda lib: lib.Conv3D(3, 3, padding="same", strides=2, activation="relu"),
    "conv-dilated": lambda lib: lib.Conv3D(2, 2, dilation_rate=(2, 1, 2), use_bias=False),
    "max": lambda lib: lib.MaxPooling3D((2, 3, 2)),
    "max-same": lambda lib: lib.MaxPooling3D(2, strides=(1, 2, 2), padding="same"),
    "avg": lambda lib: lib.AveragePooling3D((2, 2, 3), strides=1),
    "avg-same": lambda lib: lib.AveragePooling3D(2, padding="same"),
    "upsampling": lambda lib: lib.UpSampling3D((2, 1, 3)),
    "padding": lambda lib: lib.ZeroPadding3D(((1, 0), (0, 2), (1, 1))),
    "cropping": lambda lib: lib.Cropping3D(((1, 0), (0, 2), (1, 1))),
    "global-avg": lambda lib: lib.GlobalAveragePooling3D(),
    "global-max": lambda lib: lib.GlobalMaxPooling3D(keepdims=True),
    "identity": lambda lib: lib.Identity(),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matches_keras_forward_and_gradients(name):
    def body(lib, t):
        return lib.Dense(1)(lib.Flatten()(LAYERS[name](lib)(lib.Dense(3)(t))))

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3,) + SHAPE).astype(np.float32), rng.normal(size=(3, 1)).astype(np.float32)
    testing.keras_parity(body, x, y, SHAPE)


def cnn3d(lib):
    seq = Sequential if lib is L else keras.Sequential
    return seq(
        [
            (L.Input if lib is L else keras.Input)((6, 8, 8, 1)),
            lib.Conv3D(4, 3, padding="same", activation="relu"),
            lib.MaxPool3D(2),
            lib.Conv3D(6, (2, 3, 3), activation="relu"),
            lib.GlobalAvgPool3D(),
            lib.Dense(2, activation="softmax"),
        ]
    )


def test_weights_h5_from_keras_and_fit(tmp_path):
    k_model = cnn3d(keras.layers)
    k_model.save_weights(tmp_path / "k.weights.h5")
    model = cnn3d(L)
    model.load_weights(tmp_path / "k.weights.h5")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 6, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype(np.int64)
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "loaded")
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=8, batch_size=4, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_configs_match_keras_and_round_trip():
    for name, make in LAYERS.items():
        ours, theirs = make(L), make(keras.layers)
        config, k_config = ours.get_config(), theirs.get_config()
        for key, value in config.items():
            if key in k_config and key not in ("name", "trainable", "dtype"):
                want = k_config[key]
                norm = (lambda v: [list(p) if isinstance(p, (list, tuple)) else p for p in v]) if isinstance(
                    value, (list, tuple)) else (lambda v: v)  # fmt: skip
                if key not in ("activation", "kernel_initializer", "bias_initializer"):
                    assert norm(value) == norm(want), (name, key, value, want)
        assert type(ours).from_config(config).get_config() == config


def test_aliases_and_errors():
    assert L.Convolution3D is L.Conv3D and L.Convolution2D is L.Conv2D and L.Convolution1D is L.Conv1D
    assert L.Convolution2DTranspose is L.Conv2DTranspose and L.SeparableConvolution2D is L.SeparableConv2D
    assert L.SeparableConvolution1D is L.SeparableConv1D and L.MaxPool3D is L.MaxPooling3D
    assert L.AvgPool3D is L.AveragePooling3D and L.GlobalAvgPool1D is L.GlobalAveragePooling1D
    assert L.GlobalMaxPool3D is L.GlobalMaxPooling3D and L.GlobalMaxPool1D is L.GlobalMaxPooling1D
    with pytest.raises(ValueError, match="rank 5"):
        L.Conv3D(2, 3)(L.Input((8, 8, 3)))
    with pytest.raises(ValueError, match="groups=1"):
        L.Conv3D(4, 3, groups=2)(L.Input((4, 4, 4, 2)))
    with pytest.raises(ValueError, match="larger than its input"):
        L.MaxPooling3D(4)(L.Input((3, 8, 8, 1)))
    with pytest.raises(ValueError, match="smaller than the input"):
        L.Cropping3D(((2, 2), (0, 0), (0, 0)))(L.Input((4, 5, 5, 1)))
    with pytest.raises(ValueError, match="3 elements"):
        L.ZeroPadding3D((1, 2))
    x = L.Input((4,))
    assert Model(x, L.Identity()(x)).predict(np.ones((2, 4), np.float32), verbose=0).tolist() == [[1.0] * 4] * 2


def test_to_torch_predicts_like_pytrainc():
    import torch

    from pytrainc import interop

    model = Sequential(
        [
            L.Input((5, 6, 7, 2)),
            L.ZeroPadding3D(((1, 0), (0, 1), (1, 1))),
            L.Conv3D(3, (2, 3, 2), strides=(1, 2, 1), padding="same", dilation_rate=1, activation="relu"),
            L.MaxPooling3D(2, padding="same"),
            L.UpSampling3D((1, 2, 1)),
            L.Cropping3D(((0, 1), (1, 0), (0, 0))),
            L.Conv3D(2, 2, dilation_rate=(1, 2, 1)),
            L.AveragePooling3D((1, 1, 2)),
            L.Identity(),
            L.GlobalMaxPooling3D(),
        ]
    )
    testing.randomize(model)
    x = np.random.default_rng(5).normal(size=(3, 5, 6, 7, 2)).astype(np.float32)
    module = interop.to_torch(model).eval()
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    testing.assert_close(got, model.predict(x, verbose=0), 1e-5, "to_torch")
