"""Activation layers where Keras has them: ReLU, LeakyReLU, ELU, Softmax."""

import numpy as np

from pytrainc import ops
from pytrainc._checks import number
from pytrainc.layers.core import Layer, _emit_activation, _feature_axis
from pytrainc.ops import _trace


class _ParamActivation(Layer):
    _activation = "relu"  # a name of pytrainc.activations

    def _alpha(self):
        return 0.0

    def _emit(self, builder, in_bufs, in_shapes):
        return _emit_activation(builder, in_bufs[0], tuple(in_shapes[0]), self._activation, self._alpha())


class ReLU(_ParamActivation):
    """Keras 3's ReLU: `max_value` above `max_value`, `x` from `threshold` up, and
    `negative_slope * (x - threshold)` below `threshold`.

    The plain cases run as one fused activation (relu, leaky_relu, relu6); the others are
    traced from `pytrainc.ops` with Keras's formula (`keras.activations.relu`).

    Args:
        max_value: The largest output, or None for no cap. Defaults to None.
        negative_slope: Slope below the threshold, >= 0. Defaults to 0.0.
        threshold: Where the output stops being damped. Defaults to 0.0.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else number("max_value", max_value, low=0.0)
        self.negative_slope = number("negative_slope", negative_slope, low=0.0)
        self.threshold = number("threshold", threshold, low=0.0)
        self._activation = None
        if self.threshold == 0.0:
            if self.max_value is None:
                self._activation = "leaky_relu" if self.negative_slope else "relu"
            elif self.max_value == 6.0 and not self.negative_slope:
                self._activation = "relu6"

    def _traced(self):
        return self._activation is None

    def _emit(self, builder, in_bufs, in_shapes):
        if self._traced():
            return Layer._emit(self, builder, in_bufs, in_shapes)
        return super()._emit(builder, in_bufs, in_shapes)

    def call(self, inputs):
        # keras.activations.ReLU.static_call, operation for operation.
        x = inputs
        if self.negative_slope != 0.0:
            negative_part = ops.relu(ops.subtract(self.threshold, x)) if self.threshold != 0 else ops.relu(-x)
        if self.threshold != 0:
            x = ops.where(ops.greater(x, self.threshold), x, 0.0)
        else:
            x = ops.relu(x)
        if self.max_value is not None:
            x = ops.clip(x, 0.0, self.max_value)
        if self.negative_slope != 0.0:
            x = x - self.negative_slope * negative_part
        return x

    def _alpha(self):
        return self.negative_slope

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


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
    """Softmax over `axis` (the last one by default; another axis is moved last and back by two
    transposes in the plan). Args: axis=-1."""

    _activation = "softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Softmax's axis must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def _sample_axis(self, input_shape):
        return _feature_axis(self, self.axis, input_shape)

    def build(self, input_shape):
        self._sample_axis(input_shape)
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        a = self._sample_axis((None, *shape))
        if a == len(shape) - 1:
            return super()._emit(builder, in_bufs, in_shapes)
        perm = [j for j in range(len(shape)) if j != a] + [a]
        dims = [shape[p] for p in perm]
        buf = _trace.emit_transpose(builder, in_bufs[0], list(shape), perm)
        buf = _emit_activation(builder, buf, tuple(dims), "softmax")
        return _trace.emit_transpose(builder, buf, dims, [perm.index(j) for j in range(len(shape))])

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


LAYERS = {c.__name__: c for c in (ReLU, LeakyReLU, ELU, Softmax)}
