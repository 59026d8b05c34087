"""3-D layers (channels_last, (batch, depth, height, width, channels)), as `keras.layers`:
Conv3D, MaxPooling3D, AveragePooling3D, GlobalAveragePooling3D, GlobalMaxPooling3D,
UpSampling3D, ZeroPadding3D, Cropping3D, and Identity.

Conv3D is its own fused op (csrc/conv3d.c, im2col + sgemm). The others are the 2-D ops run
twice over views of the same buffer, which is exact because each is separable: a (d, h, w)
window, repeat or shift is one over (depth, height) with (width * channels) as the channels,
then one over width of the (depth * height) rows. Average pooling stays exact with 'same'
padding because the count of real cells in a window is the product of the per-axis counts.
"""

from pytrainc.layers.convolutional import _Conv, _tuple, conv_args, conv_output_length
from pytrainc.layers.core import Layer
from pytrainc.layers.pooling import _GlobalPool, _Pool, pool_args
from pytrainc.layers.resampling import _channels_last, _pair


def _check_rank5(layer, input_shape):
    if len(input_shape) != 5:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects inputs of rank 5, (batch, depth, height, width, "
            f"channels). Received: input_shape={tuple(input_shape)}"
        )
    return tuple(input_shape[1:])


class Conv3D(_Conv):
    """3-D convolution over (depth, height, width, channels) inputs.

    Args:
        filters: Number of output channels.
        kernel_size: int or (kd, kh, kw).
        strides: int or (sd, sh, sw). Defaults to (1, 1, 1).
        padding: 'valid' or 'same' (extra padding after, as TensorFlow). Defaults to 'valid'.
        dilation_rate: int or (dd, dh, dw). Defaults to (1, 1, 1).
        groups: Only 1 is supported. Defaults to 1.
        activation: Defaults to None (linear). use_bias: Defaults to True.
        kernel_initializer, bias_initializer: Default to 'glorot_uniform', 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: Default to None.
        kernel_constraint, bias_constraint: Optional constraints (pytrainc.constraints). Default to None.

    Example:

    >>> y = Conv3D(8, 3, padding="same")(Input((8, 16, 16, 1)))   # (None, 8, 16, 16, 8)
    """

    _rank = 3

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1, 1),
        groups=1,
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

    def _check_input(self, input_shape):
        if self.groups != 1:
            raise ValueError(f"pytrainc's Conv3D supports groups=1 only. Received: groups={self.groups!r}")
        _check_rank5(self, input_shape)

    def _geometry(self, input_shape):
        """{op argument: value} of the conv3d op for input_shape (with the batch axis)."""
        D, H, W, C = _check_rank5(self, input_shape)
        args = dict(d=D, h=H, w=W, c=C, f=self.filters, ref=0)
        for axis, size, k, s, dl, pad, o in zip("dhw", (D, H, W), self.kernel_size, self.strides,
                                                self.dilation_rate, ("pf", "pt", "pl"), ("od", "oh", "ow")):  # fmt: skip
            args.update({f"k{axis}": k, f"s{axis}": s, f"d{axis}": dl})
            args[o], args[pad] = conv_output_length(size, k, s, dl, self.padding, self.name)
        return args

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        return (None, g["od"], g["oh"], g["ow"], self.filters)

    def _emit(self, builder, in_bufs, in_shapes):
        from pytrainc.layers.core import _emit_activation

        g = self._geometry((None,) + tuple(in_shapes[0]))
        out = builder.buffer(g["od"] * g["oh"] * g["ow"] * self.filters)
        builder.op("conv3d", in_bufs, out, params={"kernel": self.kernel, "bias": self.bias}, **g)
        shape = (g["od"], g["oh"], g["ow"], self.filters)
        return self._emit_activity(builder, _emit_activation(builder, out, shape, self.activation))


class _Pool3D(_Pool):
    _rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)

    def _geometry(self, input_shape):
        D, H, W, C = _check_rank5(self, input_shape)
        out, pads = [], []
        for size, k, s in zip((D, H, W), self.pool_size, self.strides):
            o, p = conv_output_length(size, k, s, 1, self.padding, self.name)
            out.append(o)
            pads.append(p)
        return (D, H, W, C), tuple(out), tuple(pads)

    def compute_output_shape(self, input_shape):
        _, (OD, OH, OW), _ = self._geometry(input_shape)
        return (None, OD, OH, OW, input_shape[-1])

    def _emit(self, builder, in_bufs, in_shapes):
        (D, H, W, C), (OD, OH, OW), (PF, PT, PL) = self._geometry((None,) + tuple(in_shapes[0]))
        (KD, KH, KW), (SD, SH, SW) = self.pool_size, self.strides
        # (D, H) windows with (W * C) channels, then W windows over the OD * OH rows
        mid = builder.buffer(OD * OH * W * C)
        builder.op(self._op, in_bufs, mid, **pool_args(self._op, (D, H, W * C, KD, KH, SD, SH, PF, PT, OD, OH)))
        out = builder.buffer(OD * OH * OW * C)
        builder.op(self._op, [mid], out, **pool_args(self._op, (OD * OH, W, C, 1, KW, 1, SW, 0, PL, OD * OH, OW)))
        return out


class MaxPooling3D(_Pool3D):
    """Max over (d, h, w) windows. Args: pool_size=(2, 2, 2), strides=None (= pool_size), padding='valid'.

    Example:

    >>> y = MaxPooling3D()(Input((8, 8, 8, 3)))   # (None, 4, 4, 4, 3)
    """


class AveragePooling3D(_Pool3D):
    """Mean over (d, h, w) windows ('same' padding averages real cells only, as Keras).

    Example:

    >>> y = AveragePooling3D(2, padding="same")(Input((5, 8, 8, 3)))   # (None, 3, 4, 4, 3)
    """

    _op = "avgpool2d"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class GlobalAveragePooling3D(_GlobalPool):
    """Mean over depth, height and width: (None, D, H, W, C) -> (None, C) (keepdims: (None, 1, 1, 1, C))."""


class GlobalMaxPooling3D(_GlobalPool):
    """Max over depth, height and width: (None, D, H, W, C) -> (None, C) (keepdims: (None, 1, 1, 1, C))."""

    _op = "global_maxpool"


class UpSampling3D(Layer):
    """Repeats planes, rows and columns: (None, D, H, W, C) -> (None, D * s0, H * s1, W * s2, C).

    Args:
        size: int or (s0, s1, s2), the upsampling factors. Defaults to (2, 2, 2).

    Example:

    >>> y = UpSampling3D(2)(Input((2, 3, 4, 5)))   # (None, 4, 6, 8, 5)
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.size = _tuple(size, 3, "size")

    def compute_output_shape(self, input_shape):
        D, H, W, C = _check_rank5(self, input_shape)
        return (None, D * self.size[0], H * self.size[1], W * self.size[2], C)

    def _emit(self, builder, in_bufs, in_shapes):
        D, H, W, C = in_shapes[0]
        s0, s1, s2 = self.size
        mid = builder.buffer(D * s0 * H * s1 * W * C)
        builder.op("upsample2d", in_bufs, mid, h=D, w=H, c=W * C, sh=s0, sw=s1, bilinear=0)
        out = builder.buffer(D * s0 * H * s1 * W * s2 * C)
        builder.op("upsample2d", [mid], out, h=D * s0 * H * s1, w=W, c=C, sh=1, sw=s2, bilinear=0)
        return out

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}


def _triples(value, name):
    """((a, b), (c, d), (e, f)) from an int, three ints or three pairs (Keras's 3-D padding and cropping)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value),) * 3
    if not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(
            f"`{name}` should have 3 elements: an int, a tuple of 3 ints or a tuple of 3 tuples of 2 ints. "
            f"Received: {name}={value!r}."
        )
    return tuple(_pair(v, name, f"entry {k}") for k, v in enumerate(value))


class _Shift3D(Layer):
    """Zero padding (amounts >= 0) and cropping (negated): pad2d over (D, H), then over W."""

    def _amounts(self):
        raise NotImplementedError

    def _geometry(self, input_shape):
        D, H, W, C = _check_rank5(self, input_shape)
        (f, b), (t, bo), (left, r) = self._amounts()
        OD, OH, OW = D + f + b, H + t + bo, W + left + r
        if min(OD, OH, OW) <= 0:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the cropping {getattr(self, 'cropping', None)} must be "
                f"smaller than the input. Received: input_shape={tuple(input_shape)}"
            )
        return (D, H, W, C), (OD, OH, OW), (f, t, left)

    def compute_output_shape(self, input_shape):
        _, (OD, OH, OW), _ = self._geometry(input_shape)
        return (None, OD, OH, OW, input_shape[-1])

    def _emit(self, builder, in_bufs, in_shapes):
        (D, H, W, C), (OD, OH, OW), (f, t, left) = self._geometry((None,) + tuple(in_shapes[0]))
        mid = builder.buffer(OD * OH * W * C)
        builder.op("pad2d", in_bufs, mid, h=D, w=H, c=W * C, oh=OD, ow=OH, pt=f, pl=t)
        out = builder.buffer(OD * OH * OW * C)
        builder.op("pad2d", [mid], out, h=OD * OH, w=W, c=C, oh=OD * OH, ow=OW, pt=0, pl=left)
        return out


class ZeroPadding3D(_Shift3D):
    """Adds zeros around depth, height and width.

    Args:
        padding: int, (d, h, w) or ((front, back), (top, bottom), (left, right)).
            Defaults to ((1, 1), (1, 1), (1, 1)).

    Example:

    >>> y = ZeroPadding3D(((1, 0), (0, 2), (1, 1)))(Input((2, 3, 4, 5)))   # (None, 3, 5, 6, 5)
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.padding = _triples(padding, "padding")

    def _amounts(self):
        return self.padding

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class Cropping3D(_Shift3D):
    """Removes planes, rows and columns at the borders.

    Args:
        cropping: int, (d, h, w) or ((front, back), (top, bottom), (left, right)).
            Defaults to ((1, 1), (1, 1), (1, 1)).

    Example:

    >>> y = Cropping3D(1)(Input((4, 5, 6, 2)))   # (None, 2, 3, 4, 2)
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.cropping = _triples(cropping, "cropping")

    def _amounts(self):
        return tuple((-a, -b) for a, b in self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping]}


class Identity(Layer):
    """Returns its input unchanged (a view of the same buffer; masks pass through).

    Example:

    >>> y = Identity()(Input((4,)))
    """

    supports_masking = True

    def __init__(self, **kwargs):  # only the base layer's keywords, as Keras's
        super().__init__(**kwargs)

    def _emit(self, builder, in_bufs, in_shapes):
        return in_bufs[0]


LAYERS = {
    c.__name__: c
    for c in (
        Conv3D,
        MaxPooling3D,
        AveragePooling3D,
        GlobalAveragePooling3D,
        GlobalMaxPooling3D,
        UpSampling3D,
        ZeroPadding3D,
        Cropping3D,
        Identity,
    )
}
