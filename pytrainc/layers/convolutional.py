"""Convolution layers (channels_last), as `keras.layers.Conv2D` / `Conv1D`.

Both run the C kernels of csrc/conv.c (im2col + sgemm); Conv1D is a Conv2D of
height 1. The kernel is stored (kernel_h, kernel_w, in_channels, filters) as
Keras stores it ((kernel_size, in_channels, filters) for Conv1D).
"""

from pytrainc.layers._args import init_args as conv_args  # the name the convolution modules use
from pytrainc.layers.core import _emit_activation
from pytrainc.layers.dense import _KernelLayer


def _tuple(value, n, name, minimum=1):
    """An int or n ints (each at least `minimum`) as a tuple of n: the convolutions' and poolings' sizes."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * n
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"`{name}` must be an int or a tuple of {n} ints. Received: {name}={value!r}") from None
    if len(value) != n or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"`{name}` must be a {kind} int or a tuple of {n} {kind} ints. Received: {name}={value!r}")
    return value


def strictly_positive(name, value):
    """Keras's check of a convolution's `filters` or `depth_multiplier`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. Received {name}={value!r}."
        )
    return value


def conv2d_args(geometry, filters):
    """The conv2d ops' named arguments (csrc/ops.def) from a `_Conv._geometry` tuple and the output channels."""
    H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW = geometry
    return dict(h=H, w=W, c=C, kh=KH, kw=KW, f=filters, sh=SH, sw=SW, dh=DH, dw=DW, pt=PT, pl=PL, oh=OH, ow=OW)


def conv_output_length(length, kernel, stride, dilation, padding, name):
    """Output length and padding before, as Keras/TensorFlow compute them."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        if span > length:
            raise ValueError(
                f"{name}: the kernel (size {kernel}, dilation {dilation}, spanning {span}) is larger "
                f"than its input (size {length}) with padding='valid'. Use padding='same' or a "
                "smaller kernel."
            )
        return (length - span) // stride + 1, 0
    if padding == "causal":
        return (length - 1) // stride + 1, span - 1
    out = -(-length // stride)
    total = max((out - 1) * stride + span - length, 0)
    return out, total // 2  # TensorFlow puts the odd cell of padding after


class _Conv(_KernelLayer):
    """The convolutions' shared arguments and checks (filters, padding, tuples, groups, kernel)."""

    _rank = 2
    _causal = True  # padding='causal' for rank 1 (not the transposed and depthwise kinds)

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        strictly_positive("filters", filters)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")
        allowed = ("valid", "same", "causal") if self._rank == 1 and self._causal else ("valid", "same")
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in allowed:
            raise ValueError(f"`padding` must be one of {allowed}. Received: padding={padding!r}")
        self.filters = filters
        self.kernel_size = _tuple(kernel_size, self._rank, "kernel_size")
        self.strides = _tuple(strides, self._rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, self._rank, "dilation_rate")
        self.padding = padding
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"The number of groups must be a positive integer. Received: groups={groups!r}.")
        if filters % groups != 0:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )
        self.groups = groups
        self._init_kernel(locals())

    def _check_input(self, input_shape):
        if len(input_shape) != self._rank + 2:
            want = "(batch, height, width, channels)" if self._rank == 2 else "(batch, steps, channels)"
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self._rank + 2}, "
                f"{want}. Received: input_shape={tuple(input_shape)}"
            )

    def build(self, input_shape):
        self._check_input(input_shape)
        self.compute_output_shape(input_shape)  # validates kernel vs input size
        if input_shape[-1] % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of groups. Received "
                f"groups={self.groups}, but the input has {input_shape[-1]} channels (full input shape is "
                f"{tuple(input_shape)})."
            )
        self._build_kernel(tuple(self.kernel_size) + (input_shape[-1] // self.groups, self.filters), self.filters)

    def _geometry(self, input_shape):
        """(H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW) for the 2-D kernels."""
        self._check_input(input_shape)
        if self._rank == 2:
            H, W, C = input_shape[1:]
            KH, KW = self.kernel_size
            SH, SW = self.strides
            DH, DW = self.dilation_rate
        else:
            (W, C), H = input_shape[1:], 1
            KH, SH, DH = 1, 1, 1
            (KW,), (SW,), (DW,) = self.kernel_size, self.strides, self.dilation_rate
        OH, PT = conv_output_length(H, KH, SH, DH, self.padding if self._rank == 2 else "valid", self.name)
        OW, PL = conv_output_length(W, KW, SW, DW, self.padding, self.name)
        return H, W, C, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW

    def compute_output_shape(self, input_shape):
        g = self._geometry(input_shape)
        spatial = (g[11], g[12]) if self._rank == 2 else (g[12],)
        return (None,) + spatial + (self.filters,)

    def _emit(self, builder, in_bufs, in_shapes):
        g = self._geometry((None,) + tuple(in_shapes[0]))
        out = builder.buffer(g[11] * g[12] * self.filters)  # (OH, OW, filters)
        grouped = {"g": self.groups} if self.groups > 1 else {}  # conv2d_grouped (conv_grouped.c)
        builder.op(
            "conv2d_grouped" if grouped else "conv2d",
            in_bufs,
            out,
            params={"kernel": self.kernel, "bias": self.bias},
            **conv2d_args(g, self.filters),
            **grouped,
        )
        shape = self.compute_output_shape((None,) + tuple(in_shapes[0]))[1:]
        return self._emit_activity(builder, _emit_activation(builder, out, shape, self.activation))

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            **self._kernel_config(),
        }


class Conv2D(_Conv):
    """2-D convolution over (height, width, channels) inputs.

    Args:
        filters: Number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw). Defaults to (1, 1).
        padding: 'valid' or 'same' (TensorFlow's rule: extra padding after). Defaults to 'valid'.
        dilation_rate: int or (dh, dw). Defaults to (1, 1).
        groups: Positive int dividing the input channels and filters: each group of channels is
            convolved with its own filters (kernel (kh, kw, in / groups, filters)). Defaults to 1.
        activation: Defaults to None (linear).
        use_bias: Defaults to True.
        kernel_initializer: Defaults to 'glorot_uniform'.
        bias_initializer: Defaults to 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: Defaults to None.
        kernel_constraint, bias_constraint: Optional constraints (pytrainc.constraints). Default to None.

    Example:

    >>> x = Input(shape=(32, 32, 3))
    >>> y = Conv2D(32, (3, 3), activation="relu")(x)   # (None, 30, 30, 32)
    """

    _rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
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


class Conv1D(_Conv):
    """1-D convolution over (steps, channels) inputs; padding also 'causal'.

    Args as Conv2D with int kernel_size, strides and dilation_rate.
    """

    _rank = 1


LAYERS = {"Conv2D": Conv2D, "Conv1D": Conv1D}
