"""LayerNormalization, as `keras.layers.LayerNormalization` (over the last axis)."""

import math

from pytrainc._checks import number
from pytrainc.layers._args import _build_scale_offset, _init_scale_offset, _scale_offset_config
from pytrainc.layers.core import Layer


class LayerNormalization(Layer):
    """Normalizes each sample over its last axis: `gamma * (x - mean) / sqrt(var + epsilon) + beta`,
    with the mean and (biased) variance of that axis, in training and inference alike.

    Args:
        axis: Only -1 (the last axis) is supported yet. Defaults to -1.
        epsilon: Added to the variance. Defaults to 1e-3.
        center: Whether to add beta. Defaults to True.
        scale: Whether to multiply by gamma. Defaults to True.
        beta_initializer, gamma_initializer: Defaults 'zeros', 'ones'.
        beta_regularizer, gamma_regularizer: Defaults to None.
        beta_constraint, gamma_constraint: Optional constraints (pytrainc.constraints). Default to None.

    Example:

    >>> x = Input((10, 16)); y = LayerNormalization()(Dense(16)(x))
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(
        self,
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
        if kwargs.pop("rms_scaling", False):
            raise ValueError("pytrainc's LayerNormalization does not support the deprecated rms_scaling=True")
        super().__init__(**kwargs)
        if axis != -1 and not (isinstance(axis, (list, tuple)) and list(axis) == [-1]):
            raise ValueError(
                f"pytrainc's LayerNormalization normalizes the last axis (axis=-1) only. Received: axis={axis!r}"
            )
        self.axis = -1
        self.epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        self.center, self.scale = bool(center), bool(scale)
        _init_scale_offset(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                           beta_constraint, gamma_constraint)  # fmt: skip

    def build(self, input_shape):
        _build_scale_offset(self, (input_shape[-1],))
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        out = builder.buffer(math.prod(shape))
        builder.op(
            "layernorm",
            in_bufs,
            out,
            params={"gamma": self.gamma, "beta": self.beta},
            c=shape[-1],
            epsilon=self.epsilon,
        )
        return self._emit_activity(builder, out)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **_scale_offset_config(self),
        }


LAYERS = {"LayerNormalization": LayerNormalization}
