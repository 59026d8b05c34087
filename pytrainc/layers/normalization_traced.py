"""UnitNormalization, GroupNormalization and the Dot merge, as `keras.layers`, traced from
`pytrainc.ops` (their formulas are Keras 3's, keras/src/layers/normalization/ and
merging/dot.py; each primitive has its C forward and backward)."""

import numpy as np

from pytrainc import ops
from pytrainc.layers._args import _build_scale_offset, _init_scale_offset, _scale_offset_config
from pytrainc.layers.core import Layer


def _l2_normalize(x, axis, epsilon):
    """Keras's ops.normalize(order=2): x * min(rsqrt(sum(x^2)), 1 / epsilon) over axis."""
    inv = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return ops.multiply(x, ops.minimum(inv, 1.0 / epsilon))


def _last_axis(layer, axis):
    if axis not in (-1, [-1], (-1,)):
        raise ValueError(f"pytrainc's {layer} normalizes over the last axis only (axis=-1). Received: axis={axis!r}")
    return -1


class UnitNormalization(Layer):
    """Scales each sample's last axis to unit L2 norm: `x / max(||x||, 1e-12)`.

    Args:
        axis: Only -1 (the last axis) is supported. Defaults to -1.

    Example:

    >>> model = Sequential([Input((8,)), Dense(4), UnitNormalization()])
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _last_axis("UnitNormalization", axis)

    def call(self, inputs):
        return _l2_normalize(inputs, -1, 1e-12)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(Layer):
    """Normalizes groups of channels (Wu & He, 2018): the channels of the last axis split into
    `groups` groups, each normalized over its channels and every position of a sample, then
    `gamma * x + beta` per channel.

    Args:
        groups: Positive int dividing the channels, or -1 (one group per channel). Defaults to 32.
        axis: Only -1 is supported. Defaults to -1.
        epsilon: Added to the variance. Defaults to 1e-3.
        center, scale: Whether to add beta / multiply by gamma. Default to True.
        beta_initializer, gamma_initializer: Default to 'zeros', 'ones'.
        beta_regularizer, gamma_regularizer: Default to None.
        beta_constraint, gamma_constraint: Optional constraints (pytrainc.constraints). Default to None.

    Example:

    >>> model = Sequential([Input((16, 8)), GroupNormalization(groups=4)])
    """

    supports_masking = True

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or (groups <= 0 and groups != -1):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for "
                f"instance normalization). Received: groups={groups}"
            )
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = int(groups), _last_axis("GroupNormalization", axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        _init_scale_offset(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                           beta_constraint, gamma_constraint)  # fmt: skip

    def build(self, input_shape):
        dim = input_shape[-1]
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the number of channels ({dim}).")
        _build_scale_offset(self, (dim,))
        self.built = True

    def call(self, inputs):
        shape = inputs.shape
        channels = shape[-1]
        x = ops.reshape(inputs, (-1, int(np.prod(shape[1:-1], dtype=np.int64)), self.groups, channels // self.groups))
        mean = ops.mean(x, axis=(1, 3), keepdims=True)
        centered = ops.subtract(x, mean)
        variance = ops.mean(ops.square(centered), axis=(1, 3), keepdims=True)
        out = ops.reshape(ops.multiply(centered, ops.rsqrt(ops.add(variance, self.epsilon))), (-1,) + shape[1:])
        if self.gamma is not None:
            out = ops.multiply(out, self.gamma)
        if self.beta is not None:
            out = ops.add(out, self.beta)
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **_scale_offset_config(self),
        }


class Dot(Layer):
    """Dot product of two samples over an axis each (Keras's batch_dot), for inputs of rank 2
    ((N, D) . (N, D) -> (N, 1)) or 3 ((N, A, D) . (N, B, D), axes=2 -> (N, A, B)).

    Args:
        axes: Int or pair of ints, the axis of each input to contract (not the batch axis).
        normalize: L2-normalize both inputs along those axes first (the cosine). Defaults to False.

    Example:

    >>> a, b = Input((8,)), Input((8,))  # doctest: +SKIP
    >>> y = Dot(axes=1)([a, b])  # doctest: +SKIP
    """

    _multi_input = True

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in pair):
            raise ValueError(
                f"Invalid type for argument `axes`: it should be an int or a list of 2 ints. Received: {axes}"
            )
        self.axes = axes if isinstance(axes, (int, np.integer)) else list(pair)
        self.normalize = bool(normalize)

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        x1, x2 = inputs
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        rank = len(x1.shape)
        if rank != len(x2.shape) or rank not in (2, 3):
            raise ValueError(
                f"pytrainc's Dot takes two inputs of rank 2 or 3 (with the batch axis). Received: {x1.shape}, {x2.shape}"
            )
        a1, a2 = (a % rank for a in pair)
        if 0 in (a1, a2) or x1.shape[a1] != x2.shape[a2]:
            raise ValueError(f"Dot: incompatible axes {self.axes} for shapes {x1.shape} and {x2.shape}")
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1, 1e-7), _l2_normalize(x2, a2, 1e-7)  # Keras's backend.epsilon()
        if rank == 2:
            return ops.sum(ops.multiply(x1, x2), axis=1, keepdims=True)
        left = x1 if a1 == 2 else ops.transpose(x1, (0, 2, 1))  # (N, A, D)
        right = x2 if a2 == 1 else ops.transpose(x2, (0, 2, 1))  # (N, D, B)
        return ops.matmul(left, right)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


LAYERS = {c.__name__: c for c in (UnitNormalization, GroupNormalization, Dot)}
