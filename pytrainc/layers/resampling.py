"""UpSampling1D/2D, ZeroPadding1D/2D and Cropping1D/2D (channels_last), as `keras.layers`.

All run csrc/resample.c: `upsample2d` (nearest or bilinear) and `pad2d`, a shifted copy
with zeros that pads (positive shifts) or crops (negative ones). The 1-D layers are the
height-1 case.
"""

from pytrainc.layers.core import Layer


def _channels_last(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")


def _pair(value, name, what):
    """(a, b) of non-negative ints from an int or a pair (Keras's standardize_tuple, allow_zero=True)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"`{name}` {what} must be an int or a tuple of 2 ints. Received: {value!r}") from None
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"`{name}` {what} must be a tuple of 2 non-negative ints. Received: {value!r}")
    return value


def _pairs2d(value, name):
    """((top, bottom), (left, right)) from an int, two ints or two pairs, as Keras's 2-D padding and cropping."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value), (value, value))
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(
            f"`{name}` should be an int, a tuple of 2 ints or a tuple of 2 tuples of 2 ints "
            f"((top, bottom), (left, right)). Received: {name}={value!r}."
        )
    return (_pair(value[0], name, "1st entry"), _pair(value[1], name, "2nd entry"))


class _Spatial(Layer):
    """A layer over (batch, steps, C) or (batch, H, W, C) inputs, run as the 2-D op with H = 1 for rank 1."""

    _rank = 2

    def _hwc(self, input_shape):
        if len(input_shape) != self._rank + 2:
            want = "(batch, height, width, channels)" if self._rank == 2 else "(batch, steps, channels)"
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self._rank + 2}, {want}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return tuple(input_shape[1:]) if self._rank == 2 else (1,) + tuple(input_shape[1:])

    def _out_shape(self, h, w, c):
        return (None, h, w, c) if self._rank == 2 else (None, w, c)


class _UpSampling(_Spatial):
    def compute_output_shape(self, input_shape):
        H, W, C = self._hwc(input_shape)
        return self._out_shape(H * self._sh, W * self._sw, C)

    def _emit(self, builder, in_bufs, in_shapes):
        H, W, C = self._hwc((None,) + tuple(in_shapes[0]))
        out = builder.buffer(H * self._sh * W * self._sw * C)
        bilinear = int(getattr(self, "interpolation", "nearest") == "bilinear")
        builder.op("upsample2d", in_bufs, out, h=H, w=W, c=C, sh=self._sh, sw=self._sw, bilinear=bilinear)
        return out


class UpSampling2D(_UpSampling):
    """Repeats rows and columns: (None, H, W, C) -> (None, H * size[0], W * size[1], C).

    Args:
        size: int or (rows, cols), the upsampling factors. Defaults to (2, 2).
        interpolation: 'nearest' or 'bilinear' (torch's and Keras's half-pixel rule).
            Defaults to 'nearest'.

    Example:

    >>> y = UpSampling2D((2, 3))(Input((4, 4, 8)))   # (None, 8, 12, 8)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        if isinstance(size, int) and not isinstance(size, bool):
            size = (size, size)
        size = tuple(size) if isinstance(size, (list, tuple)) else size
        if not isinstance(size, tuple) or len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            raise ValueError(f"`size` must be a positive int or a tuple of 2 positive ints. Received: size={size!r}")
        interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                "pytrainc's UpSampling2D supports interpolation='nearest' and 'bilinear'. Received: "
                f"interpolation={interpolation!r}"
            )
        self.size, self.interpolation = size, interpolation
        self._sh, self._sw = size

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times: (None, steps, C) -> (None, steps * size, C).

    Args:
        size: Positive int. Defaults to 2.
    """

    _rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"`size` must be a positive int. Received: size={size!r}")
        self.size = size
        self._sh, self._sw = 1, size

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class _Shift(_Spatial):
    """Zero padding (pads >= 0) and cropping (the negated crops): `pad2d` with output size and offsets."""

    def _amounts(self):
        raise NotImplementedError

    def _geometry(self, input_shape):
        H, W, C = self._hwc(input_shape)
        (top, bottom), (left, right) = self._amounts()
        OH, OW = H + top + bottom, W + left + right
        if OH <= 0 or OW <= 0:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the cropping {self.cropping} must be smaller than the "
                f"input. Received: input_shape={tuple(input_shape)}, cropping={self.cropping}"
            )
        return H, W, C, OH, OW, top, left

    def compute_output_shape(self, input_shape):
        H, W, C, OH, OW, _, _ = self._geometry(input_shape)
        return self._out_shape(OH, OW, C)

    def _emit(self, builder, in_bufs, in_shapes):
        H, W, C, OH, OW, PT, PL = self._geometry((None,) + tuple(in_shapes[0]))
        out = builder.buffer(OH * OW * C)
        builder.op("pad2d", in_bufs, out, h=H, w=W, c=C, oh=OH, ow=OW, pt=PT, pl=PL)
        return out


class ZeroPadding2D(_Shift):
    """Adds rows and columns of zeros: (None, H, W, C) -> (None, H + top + bottom, W + left + right, C).

    Args:
        padding: int, (rows, cols) or ((top, bottom), (left, right)). Defaults to (1, 1).

    Example:

    >>> y = ZeroPadding2D(((1, 0), (2, 2)))(Input((4, 4, 3)))   # (None, 5, 8, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.padding = _pairs2d(padding, "padding")

    def _amounts(self):
        return self.padding

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class ZeroPadding1D(_Shift):
    """Adds zero steps: (None, steps, C) -> (None, left + steps + right, C).

    Args:
        padding: int or (left, right). Defaults to 1.
    """

    _rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.padding = _pair(padding, "padding", "")

    def _amounts(self):
        return (0, 0), self.padding

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}


class Cropping2D(_Shift):
    """Removes rows and columns at the borders: (None, H, W, C) -> (None, H - top - bottom, W - left - right, C).

    Args:
        cropping: int, (rows, cols) or ((top, bottom), (left, right)). Defaults to ((0, 0), (0, 0)).
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _channels_last(data_format)
        self.cropping = _pairs2d(cropping, "cropping")

    def _amounts(self):
        return tuple((-a, -b) for a, b in self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping]}


class Cropping1D(_Shift):
    """Removes steps at the start and end: (None, steps, C) -> (None, steps - start - end, C).

    Args:
        cropping: int or (start, end). Defaults to (1, 1).
    """

    _rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "cropping", "")

    def _amounts(self):
        return (0, 0), (-self.cropping[0], -self.cropping[1])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


LAYERS = {c.__name__: c for c in (UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D)}
