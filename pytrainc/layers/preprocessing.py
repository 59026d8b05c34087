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


def _encode(ids, num_tokens, output_mode):
    """Keras's encode_categorical_inputs: one_hot replaces a last axis of 1 (else adds one); multi_hot
    and count reduce over the last axis."""
    hits = ops.equal(ops.expand_dims(ids, -1), np.arange(num_tokens, dtype=np.float32))  # (..., n, num_tokens)
    if output_mode == "one_hot" and ids.sample_shape[-1:] != (1,):
        return hits
    return ops.sum(hits, axis=-2) if output_mode == "count" else ops.max(hits, axis=-2)


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

    def call(self, inputs):
        return _encode(inputs, self.num_tokens, self.output_mode)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode, "sparse": False}


class Discretization(Layer):
    """Buckets of a continuous input: `output[i] = #{b in bin_boundaries : b <= x[i]}` (NumPy's
    `digitize`, as Keras), traced into the plan as one comparison and one sum.

    Args:
        bin_boundaries: Sorted list of floats, or None to learn them with `adapt`. Defaults to None.
        num_bins: The number of bins `adapt` makes (len(bin_boundaries) + 1). Defaults to None.
        epsilon: Accepted for Keras compatibility; `adapt` computes exact quantiles (Keras's summary
            approximates them within epsilon). Defaults to 0.01.
        output_mode: 'int' (bucket ids as floats) or 'one_hot' / 'multi_hot' / 'count' (as
            CategoryEncoding over the bins). Defaults to 'int'.
        sparse: Must be False.

    Example:

    >>> layer = Discretization(bin_boundaries=[0.0, 1.0])   # -0.5 -> 0, 0.5 -> 1, 2.0 -> 2
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, dtype=None,
                 name=None):  # fmt: skip
        super().__init__(name=name, dtype=dtype)
        if bin_boundaries is not None and num_bins is not None and len(bin_boundaries) != num_bins - 1:
            raise ValueError(  # both come back from an adapted layer's config, consistent
                "Both `num_bins` and `bin_boundaries` should not be set. "
                f"Received: num_bins={num_bins} and bin_boundaries={bin_boundaries}"
            )
        if bin_boundaries is None and num_bins is None:
            raise ValueError("Discretization needs `bin_boundaries` or `num_bins` (then call adapt).")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(
                "output_mode must be one of 'int', 'one_hot', 'multi_hot', 'count'. "
                f"Received: output_mode={output_mode!r}"
            )
        if sparse:
            raise ValueError("pytrainc's Discretization produces dense outputs only. Received: sparse=True")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in bin_boundaries]
            if any(b1 < b0 for b0, b1 in zip(bin_boundaries, bin_boundaries[1:])):
                raise ValueError(f"`bin_boundaries` must be sorted. Received: bin_boundaries={bin_boundaries}")
        self.bin_boundaries, self.num_bins, self.epsilon = bin_boundaries, num_bins, float(epsilon)
        self.output_mode, self.sparse = output_mode, False

    def adapt(self, data, batch_size=None, steps=None):
        """Sets `bin_boundaries` to the num_bins - 1 inner quantiles of `data` (all values pooled)."""
        if self.num_bins is None:
            raise ValueError("Discretization.adapt needs `num_bins` (the layer was given bin_boundaries)")
        data = np.asarray(data, np.float64).ravel()
        if data.size == 0 or not np.all(np.isfinite(data)):
            raise ValueError(f"Discretization.adapt expects non-empty finite data. Received: shape={data.shape}")
        self.bin_boundaries = [float(q) for q in np.quantile(data, np.arange(1, self.num_bins) / self.num_bins)]

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}' has no bin_boundaries yet: call adapt(data) first")
        if not self.bin_boundaries:
            ids = ops.zeros_like(inputs)
        else:
            boundaries = np.asarray(self.bin_boundaries, np.float32)
            ids = ops.sum(ops.greater_equal(ops.expand_dims(inputs, -1), boundaries), axis=-1)
        if self.output_mode == "int":
            return ids
        return _encode(ids, len(self.bin_boundaries) + 1, self.output_mode)

    def get_config(self):
        config = Layer.get_config(self)
        config.pop("trainable")
        return {
            **config,
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": False,
        }


LAYERS = {
    "Rescaling": Rescaling,
    "Normalization": Normalization,
    "CategoryEncoding": CategoryEncoding,
    "Discretization": Discretization,
}
