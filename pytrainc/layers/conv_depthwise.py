"""Depthwise and separable convolutions (channels_last), as `keras.layers.DepthwiseConv2D`,
`DepthwiseConv1D`, `SeparableConv2D` and `SeparableConv1D`.

A depthwise convolution is the grouped Conv2D op (csrc/conv_grouped.c) with one group per input
channel: Keras's kernel (kh, kw, in, depth_multiplier) has the memory of the grouped kernel
(kh, kw, 1, in * depth_multiplier), output channel c * depth_multiplier + m. A separable
convolution is that op (no bias) followed by a 1x1 Conv2D with the pointwise kernel
(1, 1, in * depth_multiplier, filters) and the bias, in that weight order as Keras.
"""

from pytrainc.layers._args import add_weight_of, set_weight_args, weight_args_config
from pytrainc.layers.convolutional import _Conv, conv2d_args, conv_args, strictly_positive
from pytrainc.layers.core import Layer, _emit_activation


class _Depthwise(_Conv):
    _separable = False
    _causal = False

    def __init__(
        self,
        kernel_size,
        depth_multiplier,
        depthwise_initializer,
        depthwise_regularizer,
        depthwise_constraint,
        filters=1,
        pointwise_initializer=None,
        pointwise_regularizer=None,
        pointwise_constraint=None,
        **kwargs,
    ):
        """A subclass's Keras arguments (`conv_args`); the rest go to _Conv, the depthwise kernel's as the kernel's."""
        super().__init__(
            filters,
            kernel_size,
            kernel_initializer=depthwise_initializer,
            kernel_regularizer=depthwise_regularizer,
            kernel_constraint=depthwise_constraint,
            **kwargs,
        )
        if self._separable:
            set_weight_args(
                self, pointwise_initializer=pointwise_initializer, pointwise_regularizer=pointwise_regularizer,
                pointwise_constraint=pointwise_constraint,
            )  # fmt: skip
            self.depthwise_kernel = self.pointwise_kernel = None
        self.depth_multiplier = strictly_positive("depth_multiplier", depth_multiplier)

    def _channels_out(self, input_shape):
        return self.filters if self._separable else input_shape[-1] * self.depth_multiplier

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        spatial = (g[11], g[12]) if self._rank == 2 else (g[12],)
        return (None,) + spatial + (self._channels_out(input_shape),)

    def _depthwise_shape(self, input_shape):
        return tuple(self.kernel_size) + (input_shape[-1], self.depth_multiplier)

    def build(self, input_shape):
        self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self._build_kernel(self._depthwise_shape(input_shape), input_shape[-1] * self.depth_multiplier)

    def _emit_depthwise(self, builder, in_bufs, shape, kernel, bias):
        g = self._geometry((None,) + tuple(shape))
        C, OH, OW = g[2], g[11], g[12]
        F = C * self.depth_multiplier
        out = builder.buffer(OH * OW * F)
        builder.op("conv2d_grouped", in_bufs, out, params={"kernel": kernel, "bias": bias}, **conv2d_args(g, F), g=C)
        return out, OH, OW, F

    def _emit(self, builder, in_bufs, in_shapes):
        out, _, _, _ = self._emit_depthwise(builder, in_bufs, in_shapes[0], self.kernel, self.bias)
        shape = self.compute_output_shape((None,) + tuple(in_shapes[0]))[1:]
        return self._emit_activity(builder, _emit_activation(builder, out, shape, self.activation))

    def get_config(self):
        config = Layer.get_config(self)
        return {
            **config,
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
            "activation": self.activation,
            "use_bias": self.use_bias,
            **weight_args_config(self, ("depthwise", "bias"), attrs=("kernel", "bias")),
        }


class DepthwiseConv2D(_Depthwise):
    """Convolves each input channel with its own `depth_multiplier` filters:
    (None, H, W, C) -> (None, OH, OW, C * depth_multiplier).

    Args:
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw). Defaults to (1, 1).
        padding: 'valid' or 'same'. Defaults to 'valid'.
        depth_multiplier: Filters per input channel. Defaults to 1.
        dilation_rate: int or (dh, dw). Defaults to (1, 1).
        activation: Defaults to None (linear).
        use_bias: Defaults to True.
        depthwise_initializer: Defaults to 'glorot_uniform'.
        bias_initializer: Defaults to 'zeros'.
        depthwise_regularizer, bias_regularizer, activity_regularizer: Defaults to None.
        depthwise_constraint, bias_constraint: Optional constraints (pytrainc.constraints). Default to None.

    Example:

    >>> y = DepthwiseConv2D(3, depth_multiplier=2, padding="same")(Input((8, 8, 4)))   # (None, 8, 8, 8)
    """

    _rank = 2

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**conv_args(locals()))


class DepthwiseConv1D(DepthwiseConv2D):
    """DepthwiseConv2D over (None, steps, C) inputs; int kernel_size, strides and dilation_rate."""

    _rank = 1

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**conv_args(locals()))


class SeparableConv2D(_Depthwise):
    """A depthwise convolution then a 1x1 convolution to `filters` channels:
    (None, H, W, C) -> (None, OH, OW, filters). Weights: depthwise_kernel (kh, kw, C, depth_multiplier),
    pointwise_kernel (1, 1, C * depth_multiplier, filters), bias (filters,).

    Args:
        filters: Output channels.
        kernel_size, strides, padding, dilation_rate, depth_multiplier: of the depthwise step, as DepthwiseConv2D.
        activation, use_bias: Defaults to None (linear) and True.
        depthwise_initializer, pointwise_initializer: Defaults to 'glorot_uniform'.
        bias_initializer: Defaults to 'zeros'.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer: Defaults to None.
        depthwise_constraint, pointwise_constraint, bias_constraint: Optional constraints
            (pytrainc.constraints). Default to None.

    Example:

    >>> y = SeparableConv2D(16, 3, padding="same")(Input((8, 8, 4)))   # (None, 8, 8, 16)
    """

    _rank = 2
    _separable = True

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**conv_args(locals()))

    def build(self, input_shape):
        self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        mid = input_shape[-1] * self.depth_multiplier
        self.depthwise_kernel = add_weight_of(self, "depthwise_kernel", self._depthwise_shape(input_shape), "kernel")
        self.pointwise_kernel = add_weight_of(
            self, "pointwise_kernel", (1,) * self._rank + (mid, self.filters), "pointwise"
        )
        if self.use_bias:
            self.bias = add_weight_of(self, "bias", (self.filters,))
        self.built = True

    def _emit(self, builder, in_bufs, in_shapes):
        mid, OH, OW, M = self._emit_depthwise(builder, in_bufs, in_shapes[0], self.depthwise_kernel, None)
        out = builder.buffer(OH * OW * self.filters)
        pointwise = dict(h=OH, w=OW, c=M, kh=1, kw=1, f=self.filters, sh=1, sw=1, dh=1, dw=1, pt=0, pl=0, oh=OH, ow=OW)
        builder.op("conv2d", [mid], out, params={"kernel": self.pointwise_kernel, "bias": self.bias}, **pointwise)
        shape = self.compute_output_shape((None,) + tuple(in_shapes[0]))[1:]
        return self._emit_activity(builder, _emit_activation(builder, out, shape, self.activation))

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            **weight_args_config(self, ("pointwise",)),
        }


class SeparableConv1D(SeparableConv2D):
    """SeparableConv2D over (None, steps, C) inputs; int kernel_size, strides and dilation_rate."""

    _rank = 1

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**conv_args(locals()))


LAYERS = {c.__name__: c for c in (DepthwiseConv2D, DepthwiseConv1D, SeparableConv2D, SeparableConv1D)}
