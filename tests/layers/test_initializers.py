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
