"""Transposed convolutions (channels_last), as `keras.layers.Conv2DTranspose` / `Conv1DTranspose`.

Both run csrc/conv_transpose.c: the adjoint of a Conv2D, sharing conv.c's im2col and
sgemm. The kernel is stored (kernel_h, kernel_w, filters, in_channels) as Keras stores it
((kernel_size, filters, in_channels) for Conv1DTranspose). Output sizes and padding follow
Keras 3 (keras/src/backend/common/backend_utils.py, the JAX rule its torch backend matches).
"""

from pytrainc.layers.convolutional import _Conv, _tuple, conv2d_args, conv_args
from pytrainc.layers.core import _emit_activation


def conv_transpose_geometry(length, kernel, stride, dilation, padding, output_padding, name):
    """(output length, padding before of the adjoint Conv2D), as Keras 3 computes them.

    Keras pads the stride-dilated input by (left, right) and correlates it with the flipped
    kernel; that is the input gradient of a Conv2D with padding before `span - 1 - left`.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        pad = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, span - 1)
        right = pad - left
    out = (length - 1) * stride + left + right - span + 2
    if out < 1:
        raise ValueError(f"{name}: the output would be empty (length {out}) for an input of length {length}")
    return out, span - 1 - left


class _ConvTranspose(_Conv):
    _rank = 2
    _causal = False

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        args = conv_args(locals())
        del args["output_padding"]
        super().__init__(**args)
        if output_padding is not None:
            output_padding = _tuple(output_padding, self._rank, "output_padding", minimum=0)
            for i, (op, s) in enumerate(zip(output_padding, self.strides)):
                if op >= s:
                    raise ValueError(
                        "`output_padding` must be strictly less than `strides` for all dimensions. At dimension "
                        f"{i}, `output_padding` is {op} but `strides` is {s}. Received: "
                        f"output_padding={output_padding}, strides={self.strides}"
                    )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.output_padding = output_padding

    def build(self, input_shape):
        self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self._build_kernel(tuple(self.kernel_size) + (self.filters, input_shape[-1]), self.filters)

    def _geometry(self, input_shape):
        """(H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW): input, kernel, the adjoint's padding, output."""
        self._check_input(input_shape)
        op = self.output_padding
        if self._rank == 2:
            H, W, C = input_shape[1:]
            (KH, KW), (SH, SW), (DH, DW) = self.kernel_size, self.strides, self.dilation_rate
            OH, PT = conv_transpose_geometry(H, KH, SH, DH, self.padding, None if op is None else op[0], self.name)
        else:
            (W, C), H = input_shape[1:], 1
            KH = SH = DH = OH = 1
            PT = 0
            (KW,), (SW,), (DW,) = self.kernel_size, self.strides, self.dilation_rate
        OW, PL = conv_transpose_geometry(W, KW, SW, DW, self.padding, None if op is None else op[-1], self.name)
        return H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW

    def _emit(self, builder, in_bufs, in_shapes):
        g = self._geometry((None,) + tuple(in_shapes[0]))
        out = builder.buffer(g[11] * g[12] * self.filters)  # (OH, OW, filters)
        params = {"kernel": self.kernel, "bias": self.bias}
        builder.op("conv2d_transpose", in_bufs, out, params=params, **conv2d_args(g, self.filters))
        shape = self.compute_output_shape((None,) + tuple(in_shapes[0]))[1:]
        return self._emit_activity(builder, _emit_activation(builder, out, shape, self.activation))

    def get_config(self):
        op = self.output_padding
        config = {**super().get_config(), "output_padding": None if op is None else list(op)}
        config.pop("groups")  # Keras's transposed convolutions have no groups
        return config


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"): (None, H, W, C) -> (None, OH, OW, filters).

    Args:
        filters: Number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw). Defaults to (1, 1).
        padding: 'valid' or 'same' ('same' gives H * sh). Defaults to 'valid'.
        output_padding: None, an int or (ph, pw), each less than its stride: cells added after.
            Defaults to None (Keras's rule).
        dilation_rate: int or (dh, dw); not with strides > 1. Defaults to (1, 1).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv2D.

    Example:

    >>> x = Input((7, 7, 8))
    >>> y = Conv2DTranspose(4, 3, strides=2, padding="same")(x)   # (None, 14, 14, 4)
    """

    _rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**conv_args(locals()))


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution: (None, steps, C) -> (None, new_steps, filters).

    Args as Conv2DTranspose with int kernel_size, strides, output_padding and dilation_rate.
    """

    _rank = 1


LAYERS = {"Conv2DTranspose": Conv2DTranspose, "Conv1DTranspose": Conv1DTranspose}
