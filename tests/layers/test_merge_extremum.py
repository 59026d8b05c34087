"""Maximum and Minimum merges: training against torch, predictions against Keras 3, config round trip."""

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import optimizers, testing
from pytrainc.models import Model


def build(kind, seed=0):
    x = L.Input((6,))
    a, b = L.Dense(4, name="a")(x), L.Dense(4, name="b")(x)
    merged = (L.Maximum if kind == "max" else L.Minimum)()([a, b])
    model = Model(x, L.Dense(1, name="out")(merged))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def torch_loss_trajectory(weights, kind, x, y, steps, lr):
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    ka, ba, kb, bb, ko, bo = params
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    pick = torch.maximum if kind == "max" else torch.minimum
    losses = []
    opt = torch.optim.SGD(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        out = pick(xt @ ka + ba, xt @ kb + bb) @ ko + bo
        loss = ((out - yt) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_training_matches_torch(kind):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 6)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    model = build(kind)
    expected = torch_loss_trajectory(model.get_weights(), kind, x, y, 50, 0.05)
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    got = np.array([model.train_on_batch(x, y) for _ in range(50)])
    # float32 against float64: the trajectories agree to float32 rounding.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_predictions_match_keras(kind):
    keras = testing.keras_torch()
    model = build(kind)
    x = keras.Input((6,))
    a, b = keras.layers.Dense(4)(x), keras.layers.Dense(4)(x)
    merged = (keras.layers.Maximum if kind == "max" else keras.layers.Minimum)()([a, b])
    k_model = keras.Model(x, keras.layers.Dense(1)(merged))
    k_model.set_weights(model.get_weights())
    data = np.random.default_rng(2).normal(size=(32, 6)).astype(np.float32)
    np.testing.assert_allclose(model.predict(data, verbose=0), k_model.predict(data, verbose=0), rtol=1e-5, atol=1e-5)


def test_config_round_trip_and_shape_errors():
    model = build("max")
    clone = Model.from_config(model.get_config())
    assert [type(layer).__name__ for layer in clone.layers].count("Maximum") == 1
    with pytest.raises(ValueError, match="Maximum '.*' needs inputs of the same shape"):
        L.Maximum()([L.Input((3,)), L.Input((4,))])
    with pytest.raises(ValueError, match="takes 2 to 8 inputs. Received: 1"):
        L.Minimum()([L.Input((3,))])
