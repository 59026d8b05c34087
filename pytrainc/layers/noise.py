"""Noise layers, as `keras.layers`: GaussianNoise, GaussianDropout, AlphaDropout and
SpatialDropout1D/2D/3D.

Each draws in C (csrc/noise.c) from the layer's own seeded generator, as Dropout does, so a
run is bitwise reproducible for a given seed; each is the identity in evaluate and predict.
The formulas are Keras 3's (keras/src/layers/regularization/).
"""

import math

import numpy as np

from pytrainc import _C, utils
from pytrainc.layers.core import Layer


def _check_fraction(value, name, upper_open=True):
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.floating))
        and math.isfinite(value)
        and 0 <= value
        and (value < 1 if upper_open else value <= 1)
    )
    if not ok:
        bound = "(1 excluded)" if upper_open else "(1 included)"
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float value between 0 and 1 {bound}. "
            f"Received: {name}={value!r}"
        )
    return float(value)


class _Noise(Layer):
    """A layer whose op draws from its own generator: `_op`, its float argument `_arg` and (S, C) of its input."""

    _op = "gaussian_dropout"
    _spatial = False

    def _init_rng(self, seed):
        self.seed = seed
        self.rng_state = utils.make_rng(seed) if seed is not None else utils.make_rng(_C.rng_next(utils.global_rng()))

    def _value(self):
        return self.rate

    def compute_output_shape(self, input_shape):
        rank = getattr(self, "_rank", None)
        if rank is not None and len(input_shape) != rank + 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {rank + 2} (batch, ..., channels). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return input_shape

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        channels = shape[-1] if self._spatial else math.prod(shape)
        out = builder.buffer(math.prod(shape))
        arg = "stddev" if self._op == "gaussian_noise" else "rate"
        builder.op(
            self._op, in_bufs, out, rng=builder.rng(self), s=math.prod(shape) // channels, c=channels,
            **({"q": 1} if self._spatial else {}), **{arg: self._value()},
        )  # fmt: skip
        return out

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(_Noise):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` in training: `x + N(0, stddev)`.

    Args:
        stddev: Float in [0, 1].
        seed: Optional int. Defaults to None (drawn from the global generator).

    Example:

    >>> model = Sequential([Input((8,)), GaussianNoise(0.1), Dense(1)])
    """

    _op = "gaussian_noise"

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _check_fraction(stddev, "stddev", upper_open=False)
        self._init_rng(seed)

    def _value(self):
        return self.stddev

    def get_config(self):
        return {**Layer.get_config(self), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies each input by `N(1, sqrt(rate / (1 - rate)))` noise in training.

    Args:
        rate: Float in [0, 1), the equivalent drop probability.
        seed: Optional int. Defaults to None.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_fraction(rate, "rate")
        self._init_rng(seed)


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalizing mean and variance: dropped inputs are set to
    SELU's negative saturation, then an affine map restores the moments (Keras 3's formula).

    Args:
        rate: Float in [0, 1), the drop probability.
        noise_shape: Not supported (must be None).
        seed: Optional int. Defaults to None.
    """

    _op = "alpha_dropout"

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise_shape is not None:
            raise ValueError(f"pytrainc's AlphaDropout does not support noise_shape yet. Received: {noise_shape!r}")
        self.rate = _check_fraction(rate, "rate")
        self._init_rng(seed)

    def get_config(self):
        return {**super().get_config(), "noise_shape": None}


class _SpatialDropout(_Noise):
    """Dropout of whole channels: one keep/drop per (sample, channel), survivors scaled by 1 / (1 - rate)."""

    _op = "spatial_dropout"
    _spatial = True
    _rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, data_format=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")
        self.rate = _check_fraction(rate, "rate")
        self._init_rng(seed)

    def get_config(self):
        config = super().get_config()
        config.pop("trainable")  # Keras's spatial dropouts take name, dtype, rate and seed only
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (None, steps, channels) inputs.

    Args:
        rate: Float in [0, 1).
        seed: Optional int. Defaults to None.
    """

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of (None, H, W, channels) inputs. Args as SpatialDropout1D."""

    _rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format=data_format)


class SpatialDropout3D(_SpatialDropout):
    """Drops whole channels of (None, D, H, W, channels) inputs. Args as SpatialDropout1D."""

    _rank = 3

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format=data_format)


LAYERS = {
    c.__name__: c
    for c in (GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
}
