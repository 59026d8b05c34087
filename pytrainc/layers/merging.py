"""Merge layers for non-sequential graphs, as `keras.layers.Add` and friends.

Example (a residual block):

>>> x = Input((16,))
>>> h = Dense(16, activation="relu")(x)
>>> y = Add()([x, Dense(16)(h)])
"""

import math

from pytrainc.layers.core import Layer


class _Merge(Layer):
    _multi_input = True
    _op = "add"
    _n = None  # exact number of inputs, or None for two or more

    def __init__(self, **kwargs):  # Keras's merge layers take only the base layer's keywords
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shapes):
        self._check_count(input_shapes)
        first = tuple(input_shapes[0])
        for s in input_shapes[1:]:
            if tuple(s) != first:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' needs inputs of the same shape. "
                    f"Received: {[tuple(s) for s in input_shapes]}"
                )
        return first

    def _check_count(self, input_shapes):
        n = len(input_shapes)
        if (self._n is not None and n != self._n) or n < 2 or n > 8:
            want = f"exactly {self._n}" if self._n else "2 to 8"
            raise ValueError(f"{type(self).__name__} '{self.name}' takes {want} inputs. Received: {n}")

    def _emit(self, builder, in_bufs, in_shapes):
        out = builder.buffer(math.prod(in_shapes[0]))
        builder.op(self._op, in_bufs, out)
        return out


class Add(_Merge):
    """Elementwise sum of its inputs."""


class Subtract(_Merge):
    """`inputs[0] - inputs[1]`."""

    _op = "subtract"
    _n = 2


class Multiply(_Merge):
    """Elementwise product of its inputs."""

    _op = "multiply"


class Average(_Merge):
    """Elementwise mean of its inputs."""

    _op = "average"


class Concatenate(_Merge):
    """Concatenates its inputs along `axis` (any axis but the batch axis).

    Args:
        axis: Defaults to -1.
    """

    _op = "concat"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise ValueError(f"Concatenate joins along a sample axis (not 0, the batch). Received: axis={axis!r}")
        self.axis = axis

    def _axis(self, rank):
        axis = self.axis if self.axis > 0 else rank + 1 + self.axis  # rank counts sample axes; +1 for batch
        if not 1 <= axis <= rank:
            raise ValueError(
                f"Concatenate '{self.name}': axis {self.axis} is out of range for inputs of rank {rank + 1}"
            )
        return axis - 1  # index into the sample shape

    def compute_output_shape(self, input_shapes):
        self._check_count(input_shapes)
        shapes = [tuple(s[1:]) for s in input_shapes]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate '{self.name}' needs inputs of the same rank. Received: {shapes}")
        a = self._axis(rank)
        for s in shapes[1:]:
            if s[:a] + s[a + 1 :] != shapes[0][:a] + shapes[0][a + 1 :]:
                raise ValueError(
                    f"Concatenate '{self.name}' needs inputs whose shapes match except on the "
                    f"concatenation axis. Received: {[(None,) + s for s in shapes]}"
                )
        return (None,) + shapes[0][:a] + (sum(s[a] for s in shapes),) + shapes[0][a + 1 :]

    def _emit(self, builder, in_bufs, in_shapes):
        a = self._axis(len(in_shapes[0]))
        outer = math.prod(in_shapes[0][:a])
        out = builder.buffer(sum(math.prod(s) for s in in_shapes))
        builder.op("concat", in_bufs, out, outer=outer)
        return out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Maximum(_Merge):
    """Elementwise maximum of its inputs, as `keras.layers.Maximum`.

    NaN propagates; on ties the gradient goes to the first input holding the
    maximum (TensorFlow's rule; torch splits a tie evenly).

    Example:

    >>> a, b = Input((4,)), Input((4,))
    >>> y = Maximum()([a, b])
    """

    _op = "maximum"


class Minimum(_Merge):
    """Elementwise minimum of its inputs, as `keras.layers.Minimum` (ties as in `Maximum`)."""

    _op = "minimum"


LAYERS = {c.__name__: c for c in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)}


# Keras's functional forms: `layers.add([a, b])` is `layers.Add()([a, b])`.
def add(inputs, **kwargs):
    """Sums a list of tensors, as `keras.layers.add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Subtracts the second of two tensors from the first, as `keras.layers.subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Elementwise product of a list of tensors, as `keras.layers.multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Elementwise mean of a list of tensors, as `keras.layers.average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Elementwise maximum of a list of tensors, as `keras.layers.maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Elementwise minimum of a list of tensors, as `keras.layers.minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Joins a list of tensors along `axis`, as `keras.layers.concatenate`.

    Example:

    >>> a, b = Input((3,)), Input((2,))
    >>> concatenate([a, b]).shape
    (None, 5)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
