"""UnitNormalization, GroupNormalization and Dot (issue #11) against Keras 3.15 on torch:
predictions and gradients with the same weights (1e-5), configs, .weights.h5 and errors."""

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model

keras = testing.keras_torch()


def data(shape, out_shape=(1,), n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n,) + shape).astype(np.float32) * 2 + 0.5, rng.normal(size=(n,) + out_shape).astype(
        np.float32
    )


@pytest.mark.parametrize("shape,groups", [((4, 6), 3), ((3, 2, 8), 2), ((8,), -1), ((5, 4), 1)])
def test_group_normalization_matches_keras(shape, groups):
    def body(lib, x):
        h = lib.GroupNormalization(groups=groups, epsilon=1e-3)(lib.Dense(shape[-1])(x))
        return lib.Dense(1)(lib.Flatten()(h))

    x, y = data(shape)
    model, _ = testing.keras_parity(body, x, y, shape)
    layer = model.layers[2]  # after the InputLayer and the Dense
    assert [w.shape for w in layer.weights] == [(shape[-1],), (shape[-1],)]
    assert L.GroupNormalization.from_config(layer.get_config()).groups == layer.groups


def test_unit_normalization_matches_keras():
    def body(lib, x):
        return lib.Dense(1)(lib.Flatten()(lib.UnitNormalization()(lib.Dense(4)(x))))

    x, y = data((3, 5))
    testing.keras_parity(body, x, y, (3, 5))


@pytest.mark.parametrize("axes,normalize", [(1, False), (1, True), ((2, 2), False), ((1, 2), True), (-1, False)])
def test_dot_matches_keras(axes, normalize):
    rank3 = axes != 1

    def body(lib, x):
        a, b = lib.Dense(4)(x), lib.Dense(4, activation="tanh")(x)
        if not rank3:
            a, b = lib.Flatten()(a), lib.Flatten()(b)
        return lib.Dense(1)(lib.Flatten()(lib.Dot(axes=axes, normalize=normalize)([a, b])))

    shape = (4, 3) if rank3 else (3,)
    x, y = data(shape)
    testing.keras_parity(body, x, y, shape)


def test_group_normalization_weights_h5_from_keras(tmp_path):
    x, _ = data((4, 6))

    def model_of(lib):
        inp = (L.Input if lib is L else keras.Input)((4, 6))
        return (Model if lib is L else keras.Model)(inp, lib.GroupNormalization(groups=2)(inp))

    k_model, model = model_of(keras.layers), model_of(L)
    rng = np.random.default_rng(1)
    k_model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in k_model.get_weights()])
    k_model.save_weights(tmp_path / "g.weights.h5")
    model.load_weights(tmp_path / "g.weights.h5")
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "loaded")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="invalid value for argument `groups`"):
        L.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="must be a multiple of the number of channels"):
        Model(x := L.Input((6,)), L.GroupNormalization(groups=4)(x))
    with pytest.raises(ValueError, match="last axis only"):
        L.UnitNormalization(axis=1)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        a = L.Input((3,))
        L.Dot(axes=1)([a, a, a])
