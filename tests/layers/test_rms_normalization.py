"""RMSNormalization (issue #11) against Keras 3.15 on torch and torch's nn.RMSNorm: forward and
gradients with the same weights, .weights.h5 from Keras, fit, config."""

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()


@pytest.mark.parametrize("shape,epsilon", [((7,), 1e-6), ((4, 6), 0.1)])
def test_matches_keras_forward_and_gradients(shape, epsilon):
    def body(lib, t):
        return lib.Dense(1)(lib.Flatten()(lib.RMSNormalization(epsilon=epsilon)(lib.Dense(5)(t))))

    x, y = testing.data(6, shape), testing.data(6, (1,), s=1)
    testing.keras_parity(body, x, y, shape)


def test_matches_torch_rms_norm_and_loads_keras_weights(tmp_path):
    x = testing.data(5, (3, 8))
    k_model = keras.Sequential([keras.Input((3, 8)), keras.layers.RMSNormalization()])
    k_model.set_weights([np.linspace(0.5, 2, 8).astype(np.float32)])
    k_model.save_weights(tmp_path / "k.weights.h5")
    model = Sequential([L.Input((3, 8)), L.RMSNormalization()])
    model.load_weights(tmp_path / "k.weights.h5")
    norm = torch.nn.RMSNorm(8, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 2, 8))
        expected = norm(torch.from_numpy(x)).numpy()
    testing.assert_close(model.predict(x, verbose=0), expected, 1e-5, "vs torch")
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "vs keras")


def test_fit_config_and_errors():
    x, y = testing.data(32, (6,)), testing.data(32, (1,), s=1)
    model = Model(i := L.Input((6,)), L.Dense(1)(L.RMSNormalization(epsilon=1e-3)(L.Dense(6)(i))))
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    layer = L.RMSNormalization(epsilon=1e-3, name="rms")
    k_config = keras.layers.RMSNormalization(epsilon=1e-3, name="rms").get_config()
    assert (layer.get_config()["axis"], layer.get_config()["epsilon"]) == (k_config["axis"], k_config["epsilon"])
    assert L.RMSNormalization.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="last axis only"):
        L.RMSNormalization(axis=1)
