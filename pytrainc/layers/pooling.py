"""Pooling layers (channels_last), as `keras.layers.MaxPooling2D` and friends."""

from pytrainc.layers.convolutional import _tuple, conv_output_length
from pytrainc._plan import op_spec
from pytrainc.layers.core import Layer


def pool_args(op, geometry):
    """A maxpool2d/avgpool2d op's named arguments from its 11 geometry values; a max pool's relu
    is 0 (the plan may fold a ReLU in later, PlanBuilder.fold_relus)."""
    names = op_spec(op)["iargs"]
    return dict(zip(names, geometry), **({"relu": 0} if "relu" in names else {}))


class _Pool(Layer):
    _rank = 2
    _op = "maxpool2d"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in ("valid", "same"):
            raise ValueError(f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}")
        self.pool_size = _tuple(pool_size, self._rank, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self._rank, "strides")
        self.padding = padding

    def _geometry(self, input_shape):
        if len(input_shape) != self._rank + 2:
            want = "(batch, height, width, channels)" if self._rank == 2 else "(batch, steps, channels)"
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self._rank + 2}, "
                f"{want}. Received: input_shape={tuple(input_shape)}"
            )
        if self._rank == 2:
            H, W, C = input_shape[1:]
            (KH, KW), (SH, SW) = self.pool_size, self.strides
        else:
            (W, C), H, KH, SH = input_shape[1:], 1, 1, 1
            (KW,), (SW,) = self.pool_size, self.strides
        OH, PT = conv_output_length(H, KH, SH, 1, self.padding, self.name)
        OW, PL = conv_output_length(W, KW, SW, 1, self.padding, self.name)
        return H, W, C, KH, KW, SH, SW, PT, PL, OH, OW

    def compute_output_shape(self, input_shape):
        H, W, C, KH, KW, SH, SW, PT, PL, OH, OW = self._geometry(input_shape)
        return (None, OH, OW, C) if self._rank == 2 else (None, OW, C)

    def _emit(self, builder, in_bufs, in_shapes):
        g = self._geometry((None,) + tuple(in_shapes[0]))
        out = builder.buffer(g[9] * g[10] * g[2])
        builder.op(self._op, in_bufs, out, **pool_args(self._op, g))
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pool):
    """Max over pool_size windows. Args: pool_size=(2, 2), strides=None (= pool_size), padding='valid'.

    Example:

    >>> pool = MaxPooling2D((2, 2))   # (None, 30, 30, 32) -> (None, 15, 15, 32)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(MaxPooling2D):
    """Mean over pool_size windows ('same' padding averages real cells only, as Keras). pool_size
    is required, as Keras's."""

    _op = "avgpool2d"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling1D(_Pool):
    """Max over windows of steps. Args: pool_size=2, strides=None, padding='valid'."""

    _rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(MaxPooling1D):
    """Mean over windows of steps; pool_size is required, as Keras's."""

    _op = "avgpool2d"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class _GlobalPool(Layer):
    _op = "global_avgpool"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs with spatial axes, "
                f"(batch, ..., channels). Received: input_shape={tuple(input_shape)}"
            )
        if self.keepdims:
            return (None,) + (1,) * (len(input_shape) - 2) + (input_shape[-1],)
        return (None, input_shape[-1])

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        channels = shape[-1]
        spatial = 1
        for d in shape[:-1]:
            spatial *= d
        out = builder.buffer(channels)
        builder.op(self._op, in_bufs, out, s=spatial, c=channels)
        return out

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPool):
    """Mean over height and width: (None, H, W, C) -> (None, C)."""


class GlobalMaxPooling2D(_GlobalPool):
    """Max over height and width: (None, H, W, C) -> (None, C)."""

    _op = "global_maxpool"


class GlobalAveragePooling1D(_GlobalPool):
    """Mean over steps: (None, steps, C) -> (None, C); with a mask (Embedding(mask_zero=True),
    Masking), the mean over the steps that count, as Keras."""

    supports_masking = True

    def _emit(self, builder, in_bufs, in_shapes):
        mask = builder.input_masks[0] if builder.input_masks else None
        builder.output_mask = None
        return super()._emit(builder, in_bufs + ([mask] if mask is not None else []), in_shapes)


class GlobalMaxPooling1D(_GlobalPool):
    """Max over steps: (None, steps, C) -> (None, C)."""

    _op = "global_maxpool"


LAYERS = {
    c.__name__: c
    for c in (
        MaxPooling2D,
        AveragePooling2D,
        MaxPooling1D,
        AveragePooling1D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
    )
}
