"""BatchNormalization, as `keras.layers.BatchNormalization` (channels last)."""

import math

from pytrainc import initializers, regularizers
from pytrainc._checks import number
from pytrainc.layers.core import Layer


class BatchNormalization(Layer):
    """Normalizes the last axis with batch statistics in training and moving
    statistics in inference, as Keras 3.

    In training, `out = gamma * (x - mean) / sqrt(var + epsilon) + beta` with the
    batch's mean and (biased) variance, and the moving statistics follow
    `moving = moving * momentum + batch_stat * (1 - momentum)`. In `evaluate` and
    `predict`, and in `fit` when the layer is not trainable (as Keras 3), the
    moving statistics are used.

    Args:
        axis: Only -1 (channels last) is supported. Defaults to -1.
        momentum: Defaults to 0.99.
        epsilon: Defaults to 1e-3.
        center: Whether to add beta. Defaults to True.
        scale: Whether to multiply by gamma. Defaults to True.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer: Default
            to 'zeros', 'ones', 'zeros', 'ones'.
        beta_regularizer, gamma_regularizer: Defaults to None.

    Example:

    >>> x = Input((8,)); y = BatchNormalization()(Dense(16)(x))
    """

    supports_masking = True  # Keras 3: the input's mask passes through

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if axis not in (-1,) and not (isinstance(axis, (list, tuple)) and list(axis) == [-1]):
            raise ValueError(
                f"pytrainc's BatchNormalization normalizes the last axis (axis=-1). Received: axis={axis!r}"
            )
        momentum = number("momentum", momentum, low=0.0, high=1.0)
        epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        self.axis, self.momentum, self.epsilon = -1, momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        c = (input_shape[-1],)
        if self.scale:
            self.gamma = self.add_weight("gamma", c, self.gamma_initializer, regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", c, self.beta_initializer, regularizer=self.beta_regularizer)
        self.moving_mean = self.add_weight("moving_mean", c, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", c, self.moving_variance_initializer, trainable=False)
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        out = builder.buffer(math.prod(shape))
        builder.op(
            "batchnorm",
            in_bufs,
            out,
            params={
                "gamma": self.gamma,
                "beta": self.beta,
                "moving_mean": self.moving_mean,
                "moving_var": self.moving_variance,
            },
            c=shape[-1],
            frozen=0 if self.trainable else 1,
            momentum=self.momentum,
            epsilon=self.epsilon,
        )
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }


LAYERS = {"BatchNormalization": BatchNormalization}
