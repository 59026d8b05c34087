"""BatchNormalization, as `keras.layers.BatchNormalization` (channels last)."""

import math

import numpy as np

from pytrainc import initializers
from pytrainc._checks import number
from pytrainc.layers._args import _build_scale_offset, _init_scale_offset, _scale_offset_config, _unsupported
from pytrainc.layers.core import Layer, _feature_axis
from pytrainc.ops import _trace


class BatchNormalization(Layer):
    """Normalizes the last axis with batch statistics in training and moving
    statistics in inference, as Keras 3.

    In training, `out = gamma * (x - mean) / sqrt(var + epsilon) + beta` with the
    batch's mean and (biased) variance, and the moving statistics follow
    `moving = moving * momentum + batch_stat * (1 - momentum)`. In `evaluate` and
    `predict`, and in `fit` when the layer is not trainable (as Keras 3), the
    moving statistics are used.

    Args:
        axis: The features axis to normalize, e.g. 1 after a channels-first layer. Defaults to -1.
        momentum: Defaults to 0.99.
        epsilon: Defaults to 1e-3.
        center: Whether to add beta. Defaults to True.
        scale: Whether to multiply by gamma. Defaults to True.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer: Default
            to 'zeros', 'ones', 'zeros', 'ones'.
        beta_regularizer, gamma_regularizer: Defaults to None.
        beta_constraint, gamma_constraint: Optional constraints (pytrainc.constraints). Default to None.
        renorm, renorm_clipping, renorm_momentum, synchronized: Keras's batch renormalization and
            cross-device statistics, not supported: renorm and synchronized must be False (then
            renorm_clipping and renorm_momentum have no effect). Default to False, None, 0.99, False.

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
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _unsupported("BatchNormalization", renorm=renorm, synchronized=synchronized)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization's axis must be one integer axis. Received: axis={axis!r}")
        momentum = number("momentum", momentum, low=0.0, high=1.0)
        epsilon = number("epsilon", epsilon, low=0.0, low_open=True)
        self.axis, self.momentum, self.epsilon = int(axis), momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        _init_scale_offset(self, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                           beta_constraint, gamma_constraint)  # fmt: skip
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.moving_mean = self.moving_variance = None

    def _channel_axis(self, input_shape):
        """The normalized axis as an index into the per-sample shape (the batch axis cannot be it)."""
        return _feature_axis(self, self.axis, input_shape)

    def build(self, input_shape):
        c = (input_shape[1 + self._channel_axis(input_shape)],)
        _build_scale_offset(self, c)
        self.moving_mean = self.add_weight("moving_mean", c, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", c, self.moving_variance_initializer, trainable=False)
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        # in_shapes are per-sample; the C op normalizes the last axis, so another axis is moved
        # there and back by two transposes (Keras's axis=1 for channels-first data).
        shape = tuple(in_shapes[0])
        a = self._channel_axis((None, *shape))
        dims = list(shape)
        buf = in_bufs[0]
        if a != len(dims) - 1:
            perm = [j for j in range(len(dims)) if j != a] + [a]
            buf = _trace.emit_transpose(builder, buf, dims, perm)
            dims = [shape[p] for p in perm]
        out = builder.buffer(math.prod(shape))
        builder.op(
            "batchnorm",
            [buf],
            out,
            params={
                "gamma": self.gamma,
                "beta": self.beta,
                "moving_mean": self.moving_mean,
                "moving_var": self.moving_variance,
            },
            c=dims[-1],
            frozen=0 if self.trainable else 1,
            momentum=self.momentum,
            epsilon=self.epsilon,
        )
        if a != len(shape) - 1:
            back = [perm.index(j) for j in range(len(shape))]
            out = _trace.emit_transpose(builder, out, dims, back)
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            **_scale_offset_config(self),
        }


LAYERS = {"BatchNormalization": BatchNormalization}
