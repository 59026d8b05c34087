"""Initializers: Keras's distributions and bounds, seeded reproducibility."""

import math

import numpy as np
import pytest

import pytrainc
from pytrainc import initializers


@pytest.mark.parametrize("shape", [(6, 4), (2, 5), (3, 3, 2, 8)])
def test_orthogonal_is_orthogonal(shape):
    w = initializers.Orthogonal(gain=2.0, seed=1)(shape)
    f = w.reshape(-1, shape[-1]) / 2.0
    small = min(f.shape)
    gram = f.T @ f if f.shape[0] >= f.shape[1] else f @ f.T
    np.testing.assert_allclose(gram, np.eye(small), atol=2e-6)


def test_orthogonal_rejects_vectors_and_round_trips():
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((5,))
    o = initializers.get("orthogonal")
    clone = initializers.get(initializers.serialize(initializers.Orthogonal(gain=0.5, seed=4)))
    assert isinstance(o, initializers.Orthogonal) and clone.gain == 0.5 and clone.seed == 4


@pytest.mark.parametrize(
    "name,limit",
    [
        ("glorot_uniform", math.sqrt(6 / (300 + 200))),
        ("he_uniform", math.sqrt(6 / 300)),
        ("lecun_uniform", math.sqrt(3 / 300)),
    ],
)
def test_uniform_variants_bounds_and_variance(name, limit):
    w = initializers.get(name)((300, 200)).astype(np.float64)
    assert np.abs(w).max() < limit
    # variance of U(-l, l) is l^2 / 3; 60,000 draws: the estimate is within 2% (about 7 standard errors)
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.02)


@pytest.mark.parametrize(
    "name,std",
    [
        ("glorot_normal", math.sqrt(2 / 500)),
        ("he_normal", math.sqrt(2 / 300)),
        ("lecun_normal", math.sqrt(1 / 300)),
    ],
)
def test_truncated_normal_variants(name, std):
    w = initializers.get(name)((300, 200)).astype(np.float64)
    # Keras scales the truncated normal so that its stddev is the target one.
    assert w.std() == pytest.approx(std, rel=0.02)
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-7


def test_seeded_and_global_reproducibility():
    a = initializers.RandomNormal(seed=5)((10, 10))
    assert np.array_equal(a, initializers.RandomNormal(seed=5)((10, 10)))
    pytrainc.utils.set_random_seed(9)
    b = initializers.GlorotUniform()((10, 10))
    pytrainc.utils.set_random_seed(9)
    assert np.array_equal(b, initializers.GlorotUniform()((10, 10)))
    assert not np.array_equal(b, initializers.GlorotUniform()((10, 10)))


def test_constant_zeros_ones_and_unknown():
    assert np.all(initializers.get("zeros")((3,)) == 0) and np.all(initializers.get("ones")((3,)) == 1)
    assert np.all(initializers.Constant(2.5)((2, 2)) == 2.5)
    with pytest.raises(ValueError, match="Unknown initializer"):
        initializers.get("nope")


# -- Keras 3's aliases, Identity, and plain functions as initializers --------------------------


def test_snake_case_names_are_the_classes_as_in_keras():
    from pytrainc import initializers as I

    assert I.glorot_uniform is I.GlorotUniform and I.he_normal is I.HeNormal and I.zeros is I.Zeros
    assert I.IdentityInitializer is I.Identity and I.OrthogonalInitializer is I.Orthogonal
    assert isinstance(I.get("identity"), I.Identity)
    assert isinstance(I.get(I.GlorotUniform), I.GlorotUniform)  # the class itself, as Keras accepts


def test_identity_matches_keras():
    from pytrainc import initializers as I
    from pytrainc.testing import keras_torch

    keras = keras_torch()
    for shape in [(2, 3), (4, 4), (5, 2)]:
        want = np.asarray(keras.initializers.Identity(gain=1.5)(shape))
        np.testing.assert_array_equal(I.Identity(gain=1.5)(shape), want)
    assert I.deserialize(I.serialize(I.Identity(2.0))).gain == 2.0


def test_function_initializer_builds_a_layer_and_serializes_as_keras_does():
    import pytrainc
    from pytrainc import initializers as I

    def halves(shape, dtype=None):
        return np.full(shape, 0.5)

    model = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(2, kernel_initializer=halves)])
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], np.full((3, 2), 0.5, np.float32))
    config = model.layers[0].get_config()["kernel_initializer"]
    assert config == {"module": "builtins", "class_name": "function", "config": "halves", "registered_name": "function"}
    again = I.deserialize(config, custom_objects={"halves": halves})
    np.testing.assert_array_equal(again((1, 2)), [[0.5, 0.5]])
    with pytest.raises(TypeError, match="Could not locate function .halves."):  # Keras's error
        I.deserialize(config)  # a function is found by name only through custom_objects


def test_regularizers_deserialize_round_trips():
    from pytrainc import regularizers as R

    reg = R.deserialize(R.serialize(R.L1L2(l1=0.1, l2=0.2)))
    assert isinstance(reg, R.L1L2) and (reg.l1, reg.l2) == (0.1, 0.2)
    assert R.deserialize(None) is None and isinstance(R.deserialize("l2"), R.L2)


def test_variance_scaling_input_and_output_axes_match_keras_fans():
    from pytrainc import initializers as I
    from pytrainc.testing import keras_torch

    keras = keras_torch()
    shape = (4, 3, 5, 6)  # e.g. an EinsumDense kernel whose fans are not the conv rule's
    ours = I.GlorotUniform(seed=0, input_axes=[0, 1], output_axes=[2, 3])
    limit = np.sqrt(6.0 / (12 + 30))
    x = ours(shape)
    assert x.shape == shape and np.abs(x).max() <= limit and np.abs(x).max() > 0.9 * limit
    theirs = keras.initializers.GlorotUniform(seed=0, input_axes=[0, 1], output_axes=[2, 3])
    assert np.abs(np.asarray(theirs(shape))).max() <= limit
    assert I.deserialize(I.serialize(ours)).get_config() == ours.get_config()
    assert "input_axes" not in I.GlorotUniform(seed=0).get_config()  # unchanged files when unset
    with pytest.raises(ValueError, match="must be axes of the shape"):
        I.HeNormal(input_axes=[5], output_axes=[0])((2, 2))
