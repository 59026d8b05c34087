"""Flatten and Reshape: views of the same buffer, no op and no copy."""

import math

from pytrainc.layers.core import Layer


class Flatten(Layer):
    """Flattens each sample: (None, d1, d2, ...) -> (None, d1 * d2 * ...)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"pytrainc supports data_format='channels_last' only. Received: {data_format!r}")

    def compute_output_shape(self, input_shape):
        return (None, math.prod(input_shape[1:]))

    def _emit(self, builder, in_bufs, in_shapes):
        return in_bufs[0]


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1).

    Args:
        target_shape: Tuple of ints, without the batch axis.

    Raises:
        ValueError: if the sizes do not match.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise TypeError(f"target_shape must be a tuple of ints. Received: {target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"target_shape must hold positive ints and at most one -1. Received: {target_shape!r}")
        self.target_shape = target

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(
                    f"Reshape '{self.name}': cannot reshape {tuple(input_shape[1:])} "
                    f"({size} values) into {self.target_shape}"
                )
            return (None,) + tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(
                f"Reshape '{self.name}': total size of the new shape {self.target_shape} ({known}) "
                f"must equal the input's {tuple(input_shape[1:])} ({size})"
            )
        return (None,) + self.target_shape

    def _emit(self, builder, in_bufs, in_shapes):
        return in_bufs[0]

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


LAYERS = {"Flatten": Flatten, "Reshape": Reshape}
