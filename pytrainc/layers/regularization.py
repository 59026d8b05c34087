"""Dropout and ActivityRegularization, as `keras.layers`."""

import math

import numpy as np

from pytrainc import _C, regularizers, utils
from pytrainc.layers.core import Layer


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 during training and scales the
    rest by 1 / (1 - rate); does nothing in evaluate and predict.

    Masks are drawn in C from the layer's own seeded generator, so a run is
    bitwise reproducible for a given seed (or after `set_random_seed`).

    Args:
        rate: Float in [0, 1), the fraction to drop.
        noise_shape: Optional (None, d1, ..., dk): 1 on leading axes that share a draw, then the
            input's sizes (None stands for them), e.g. (None, 1, channels) drops whole channels of
            every step. Defaults to None (one draw per value).
        seed: Optional int. Defaults to None (drawn from the global generator).

    Example:

    >>> model = Sequential([Input((100,)), Dense(64, activation="relu"), Dropout(0.5), Dense(10)])
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float, np.floating))
            or not math.isfinite(rate)
            or not 0 <= rate < 1
        ):
            raise ValueError(
                f"Invalid value received for argument `rate`. Expected a float value between 0 and 1 "
                f"(1 excluded). Received: rate={rate!r}"
            )
        if noise_shape is not None:
            try:
                noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
            except (TypeError, ValueError):
                raise ValueError(f"noise_shape must be a tuple of ints or None. Received: {noise_shape!r}") from None
            if noise_shape[:1] not in ((None,), ()):
                raise ValueError(
                    "pytrainc's Dropout draws a mask per sample: noise_shape's first entry must be None. "
                    f"Received: noise_shape={noise_shape!r}"
                )
        self.noise_shape = noise_shape
        self.rate = float(rate)
        self.seed = seed
        self.rng_state = utils.make_rng(seed) if seed is not None else utils.make_rng(_C.rng_next(utils.global_rng()))

    def _shared_axes(self, shape):
        """How many leading sample axes share one draw (noise_shape 1 there, the full size after)."""
        if self.noise_shape is None:
            return 0
        dims = [shape[k] if d is None else d for k, d in enumerate(self.noise_shape[1:])]
        if len(dims) != len(shape):
            raise ValueError(
                f"Dropout '{self.name}': noise_shape {self.noise_shape} must have the rank of the input "
                f"(None,) + {tuple(shape)}"
            )
        shared = next((k for k, d in enumerate(dims) if d != 1), len(dims))
        if any(d != n for d, n in zip(dims[shared:], shape[shared:])):
            raise ValueError(
                f"pytrainc's Dropout takes a noise_shape of 1s on leading axes then the input's sizes "
                f"(e.g. (None, 1, channels), as SpatialDropout). Received: noise_shape={self.noise_shape} for "
                f"input shape (None,) + {tuple(shape)}"
            )
        return shared

    def build(self, input_shape):
        self._shared_axes(tuple(input_shape[1:]))
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        out = builder.buffer(math.prod(shape))
        shared = self._shared_axes(shape)
        if shared:  # one draw per (sample, position of the later axes), shared along the leading ones
            s = math.prod(shape[:shared])
            builder.op("spatial_dropout", in_bufs, out, rng=builder.rng(self), s=s, c=math.prod(shape) // s,
                       rate=self.rate)  # fmt: skip
        else:
            builder.op("dropout", in_bufs, out, rng=builder.rng(self), rate=self.rate)
        return out

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


class ActivityRegularization(Layer):
    """Adds `(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size` of its input to the
    loss, as Keras 3 does for every activity regularizer; passes the input
    through unchanged.

    Args:
        l1: Defaults to 0.0.
        l2: Defaults to 0.0.
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def _emit(self, builder, in_bufs, in_shapes):
        return self._emit_activity(builder, in_bufs[0])

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}


LAYERS = {"Dropout": Dropout, "ActivityRegularization": ActivityRegularization}
