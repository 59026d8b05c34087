"""LayerNormalization, as `keras.layers.LayerNormalization` (over the last axis)."""

import math

from pytrainc import initializers, regularizers
from pytrainc._checks import number
from pytrainc.layers.embedding import _no_constraint
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
        beta_constraint, gamma_constraint: Not supported (must be None).

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
        _no_constraint("LayerNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.axis = -1
        self.epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma = self.beta = None

    def build(self, input_shape):
        c = (input_shape[-1],)
        if self.scale:
            self.gamma = self.add_weight("gamma", c, self.gamma_initializer, regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", c, self.beta_initializer, regularizer=self.beta_regularizer)
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
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }


LAYERS = {"LayerNormalization": LayerNormalization}
