"""Dropout and ActivityRegularization, as `keras.layers`."""

import math

import numpy as np

from pytrainc import _C, regularizers, utils
from pytrainc.layers.core import Layer
from pytrainc.ops import _trace


class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 during training and scales the
    rest by 1 / (1 - rate); does nothing in evaluate and predict.

    Masks are drawn in C from the layer's own seeded generator, so a run is
    bitwise reproducible for a given seed (or after `set_random_seed`).

    Args:
        rate: Float in [0, 1), the fraction to drop.
        noise_shape: Optional (None, d1, ..., dk), as Keras: a 1 shares one draw along that axis,
            the input's size (or None) draws per position: (None, 1, channels) drops whole
            channels of every step, (None, steps, 1) whole steps, (None, h, 1, c) shares a draw
            along the middle axis (1s between full axes cost a transpose each way, inputs of rank
            <= 6). Defaults to None (one draw per value).
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

    def _blocks(self, shape):
        """(S, C, Q) per sample: noise_shape is 1 on the S leading and the Q trailing values, the
        input's sizes on the C ones between, so one draw per (sample, c) is shared along S and Q."""
        if self.noise_shape is None:
            return None
        dims = [shape[k] if d is None else d for k, d in enumerate(self.noise_shape[1:])]
        if len(dims) != len(shape):
            raise ValueError(
                f"Dropout '{self.name}': noise_shape {self.noise_shape} must have the rank of the input "
                f"(None,) + {tuple(shape)}"
            )
        if any(d != 1 and d != n for d, n in zip(dims, shape)):
            raise ValueError(
                f"Dropout '{self.name}': each noise_shape entry must be 1 (share the draw along that axis) or "
                f"the input's size. Received: noise_shape={self.noise_shape} for input shape (None,) + {tuple(shape)}"
            )
        varying = [k for k, (d, n) in enumerate(zip(dims, shape)) if d != 1 or n == 1]
        lo, hi = (varying[0], varying[-1] + 1) if varying else (len(dims), len(dims))
        if any(dims[k] == 1 and shape[k] != 1 for k in range(lo, hi)):
            # 1s between full axes: the shared axes move last (a transpose each way), then one draw
            # per (sample, value of the full axes) is shared along them, as the trailing case
            if len(shape) > _trace.MAX_SAMPLE_RANK:
                raise ValueError(
                    f"Dropout '{self.name}': a noise_shape with 1s between full axes takes inputs of rank <= "
                    f"{_trace.MAX_SAMPLE_RANK + 1}. Received: input shape (None,) + {tuple(shape)}"
                )
            full = [k for k in range(len(dims)) if dims[k] != 1 or shape[k] == 1]
            perm = full + [k for k in range(len(dims)) if k not in full]
            return perm, math.prod(shape[k] for k in full), math.prod(shape) // math.prod(shape[k] for k in full)
        return math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:])

    def build(self, input_shape):
        self._blocks(tuple(input_shape[1:]))
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        out = builder.buffer(math.prod(shape))
        blocks = self._blocks(shape)
        if blocks and isinstance(blocks[0], list):  # shared axes between full ones: moved last and back
            perm, c, q = blocks
            moved = _trace.emit_transpose(builder, in_bufs[0], shape, perm)
            dropped = builder.buffer(math.prod(shape))
            builder.op("spatial_dropout", [moved], dropped, rng=builder.rng(self), s=1, c=c, q=q, rate=self.rate)
            back = sorted(range(len(perm)), key=perm.__getitem__)
            return _trace.emit_transpose(builder, dropped, [shape[k] for k in perm], back)
        if blocks and blocks[1] != math.prod(shape):  # one draw per (sample, c), shared along S and Q
            s, c, q = blocks
            builder.op("spatial_dropout", in_bufs, out, rng=builder.rng(self), s=s, c=c, q=q, rate=self.rate)
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
