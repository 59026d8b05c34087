"""RMSNormalization, as `keras.layers.RMSNormalization` (Zhang & Sennrich, 2019): traced from
pytrainc.ops, `x * rsqrt(mean(x**2, axis) + epsilon) * scale`, the formula of Keras 3's
ops.rms_normalization (torch's F.rms_norm on the torch backend)."""

from pytrainc import ops
from pytrainc.layers.core import Layer


class RMSNormalization(Layer):
    """Scales each sample's last axis by the inverse of its root mean square, then by `scale`.

    Args:
        axis: Only -1 (the last axis) is supported. Defaults to -1.
        epsilon: Added to the mean square. Defaults to 1e-6.

    Example:

    >>> y = RMSNormalization()(Input((10, 16)))
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(
                f"pytrainc's RMSNormalization normalizes over the last axis only (axis=-1). Received: axis={axis!r}"
            )
        self.axis, self.epsilon, self.scale = -1, float(epsilon), None

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")
        self.built = True

    def call(self, inputs):
        mean_square = ops.mean(ops.square(inputs), axis=-1, keepdims=True)
        return ops.multiply(ops.multiply(inputs, ops.rsqrt(ops.add(mean_square, self.epsilon))), self.scale)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


LAYERS = {"RMSNormalization": RMSNormalization}
