"""Preprocessing layers that toy scripts put inside the model, as `keras.layers`: Rescaling,
Normalization (with `adapt`) and CategoryEncoding.

Rescaling and CategoryEncoding are written with `pytrainc.ops` and traced into the plan.
Normalization runs the batch-normalization op with frozen statistics (its mean and variance) and
epsilon 1e-14, which is Keras 3's `(x - mean) / max(sqrt(variance), 1e-7)`: equal where the
variance is 0 and within float32 rounding elsewhere. `adapt` computes the statistics in NumPy
(float64), before training, as Keras does.
"""

import math

import numpy as np

from pytrainc import ops
from pytrainc.layers.core import Layer, Variable

_EPSILON = 1e-14  # sqrt(variance + 1e-14) == max(sqrt(variance), 1e-7) at variance 0, Keras's floor


class Rescaling(Layer):
    """Multiplies by `scale` and adds `offset`: `x * scale + offset`, e.g. `Rescaling(1 / 255)` for pixels.

    Args:
        scale: Float (or an array broadcasting against each sample).
        offset: Float (or such an array). Defaults to 0.0.

    Example:

    >>> model = Sequential([Input((28, 28, 1)), Rescaling(1 / 255), Flatten(), Dense(10)])
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            array = np.asarray(value, dtype=np.float64) if not isinstance(value, str) else None
            if array is None or not np.all(np.isfinite(array)):
                raise ValueError(f"Rescaling expects a finite number or array as `{name}`. Received: {name}={value!r}")
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        scale = self.scale if np.ndim(self.scale) == 0 else np.asarray(self.scale, np.float32)
        offset = self.offset if np.ndim(self.offset) == 0 else np.asarray(self.offset, np.float32)
        return inputs * scale + offset

    def get_config(self):
        def plain(v):
            return v.tolist() if isinstance(v, np.ndarray) else v

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per feature of the last axis:
    `(x - mean) / max(sqrt(variance), 1e-7)`.

    The statistics are given (`mean`, `variance`) or computed by `adapt(data)` before training;
    then they are the layer's non-trainable weights `mean`, `variance` and `count`, as in Keras.

    Args:
        axis: The axis of the features; -1 only (pytrainc's kernels normalize the last axis). Defaults to -1.
        mean: Optional float or array of the features' means. Defaults to None (use `adapt`).
        variance: Optional, with `mean`. Defaults to None.
        invert: Not supported (must be False).

    Example:

    >>> norm = Normalization()
    >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> model = Sequential([Input((2,)), norm, Dense(1)])
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(
                f"pytrainc's Normalization normalizes the last axis (axis=-1) only. Received: axis={axis!r}"
            )
        if invert:
            raise ValueError("pytrainc's Normalization does not support invert=True yet. Received: invert=True")
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean!r} and variance={variance!r}"
            )
        self.axis, self.invert = -1, False
        self.input_mean, self.input_variance = mean, variance
        self.mean = self.variance = self.count = None
        self._constants = []

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.input_mean is None:
            self.mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False, name="mean")
            self.variance = self.add_weight(shape=(channels,), initializer="ones", trainable=False, name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
        else:  # constants, not weights (Keras has none then)
            values = []
            for name, v in (("mean", self.input_mean), ("variance", self.input_variance)):
                array = np.asarray(v, np.float32).reshape(-1)
                if array.size not in (1, channels):
                    raise ValueError(
                        f"Normalization '{self.name}': `{name}` must be a number or hold one value per feature "
                        f"({channels}). Received: {name} of {array.size} values"
                    )
                values.append(Variable(f"{self.name}/{name}", np.broadcast_to(array, (channels,)).copy(), False))
            self.mean, self.variance = values
            self._constants = values
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Sets `mean` and `variance` (biased, over every axis but the last) from `data`, as Keras 3.

        Args:
            data: A NumPy array (or a list of them, concatenated) of shape (samples, ..., features).
        """
        if isinstance(data, (list, tuple)) and data and not np.isscalar(data[0]):
            data = np.concatenate([np.asarray(d, np.float64) for d in data])
        data = np.asarray(data, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim < 2 or data.shape[0] == 0 or not np.all(np.isfinite(data)):
            raise ValueError(
                "Normalization.adapt expects a non-empty array of finite numbers, (samples, ..., features). "
                f"Received: shape={data.shape}"
            )
        if not self.built:
            self._build_for(tuple(data.shape[1:]))
        if self.count is None:
            raise ValueError(f"Normalization '{self.name}' was given `mean` and `variance`; adapt cannot change them")
        if data.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"Normalization '{self.name}' has {self.mean.shape[0]} features. Received: shape={data.shape}"
            )
        flat = data.reshape(-1, data.shape[-1])
        self.mean.assign(flat.mean(0).astype(np.float32))
        self.variance.assign(flat.var(0).astype(np.float32))
        # `count` stays 0: Keras 3's adapt computes over the whole data and leaves it unused.

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        out = builder.buffer(math.prod(shape))
        params = {"gamma": None, "beta": None, "moving_mean": self.mean, "moving_var": self.variance}
        builder.op("batchnorm", in_bufs, out, params=params, c=shape[-1], frozen=1, momentum=0.0, epsilon=_EPSILON)
        return out

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if v is not None and not np.isscalar(v) else v

        return {
            **super().get_config(),
            "axis": -1,
            "invert": False,
            "mean": plain(self.input_mean),
            "variance": plain(self.input_variance),
        }


class CategoryEncoding(Layer):
    """Integer ids in [0, num_tokens) as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: The number of ids.
        output_mode: 'one_hot' (a last axis of 1 or none is replaced by num_tokens), 'multi_hot' or
            'count' (over the last axis). Defaults to 'multi_hot'.
        sparse: Must be False.

    Example:

    >>> y = CategoryEncoding(4, output_mode="one_hot")(Input((1,)))   # (None, 4)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be a positive int. Received: num_tokens={num_tokens!r}")
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(
                "Unknown arg for output_mode: expected one of ('one_hot', 'multi_hot', 'count'). "
                f"Received: output_mode={output_mode!r}"
            )
        if sparse:
            raise ValueError("pytrainc's CategoryEncoding produces dense outputs only. Received: sparse=True")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, False

    def _one_hot_input(self, sample_shape):
        return self.output_mode == "one_hot" and (len(sample_shape) == 0 or sample_shape[-1] != 1)

    def call(self, inputs):
        tokens = np.arange(self.num_tokens, dtype=np.float32)
        if self._one_hot_input(inputs.sample_shape):
            return ops.equal(ops.expand_dims(inputs, -1), tokens)
        hits = ops.equal(ops.expand_dims(inputs, -1), tokens)  # (..., n, num_tokens)
        if self.output_mode == "count":
            return ops.sum(hits, axis=-2)
        return ops.max(hits, axis=-2)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode, "sparse": False}


LAYERS = {"Rescaling": Rescaling, "Normalization": Normalization, "CategoryEncoding": CategoryEncoding}
