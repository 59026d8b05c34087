"""Activation layers where Keras has them: ReLU, LeakyReLU, ELU, Softmax."""

from pytrainc._checks import number
from pytrainc.layers.core import Layer, _emit_activation


class _ParamActivation(Layer):
    supports_masking = True  # Keras 3: the input's mask passes through
    _activation = "relu"  # a name of pytrainc.activations

    def _alpha(self):
        return 0.0

    def _emit(self, builder, in_bufs, in_shapes):
        return _emit_activation(builder, in_bufs[0], tuple(in_shapes[0]), self._activation, self._alpha())


class ReLU(_ParamActivation):
    """`max(x, 0)`, or `negative_slope * x` below 0.

    Args:
        max_value: Only None is supported.
        negative_slope: Defaults to 0.0.
        threshold: Only 0.0 is supported.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None or threshold != 0.0:
            raise ValueError(
                "pytrainc's ReLU supports max_value=None and threshold=0.0 only. "
                f"Received: max_value={max_value!r}, threshold={threshold!r}"
            )
        self.negative_slope = number("negative_slope", negative_slope, low=0.0)
        self._activation = "leaky_relu" if self.negative_slope else "relu"

    def _alpha(self):
        return self.negative_slope

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class LeakyReLU(_ParamActivation):
    """`x` if `x > 0` else `negative_slope * x`. Args: negative_slope=0.3 (Keras's layer default)."""

    _activation = "leaky_relu"

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = number("negative_slope", negative_slope, low=0.0)

    def _alpha(self):
        return self.negative_slope

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_ParamActivation):
    """`x` if `x > 0` else `alpha * (exp(x) - 1)`. Args: alpha=1.0."""

    _activation = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = number("alpha", alpha)

    def _alpha(self):
        return self.alpha

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_ParamActivation):
    """Softmax over the last axis. Args: axis=-1 (only the last axis is supported)."""

    _activation = "softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"pytrainc's Softmax works on the last axis (axis=-1). Received: axis={axis!r}")
        self.axis = -1

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


LAYERS = {c.__name__: c for c in (ReLU, LeakyReLU, ELU, Softmax)}
