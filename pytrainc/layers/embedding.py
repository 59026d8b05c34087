"""Embedding, as `keras.layers.Embedding`."""

import math
import warnings

import numpy as np

from pytrainc.layers._args import _unsupported, add_weight_of, set_weight_args, weight_args_config
from pytrainc.layers.core import Layer


def _not_equal(inputs, value):
    from pytrainc.layers.core import KerasTensor

    if isinstance(inputs, KerasTensor):
        from pytrainc import ops

        return ops.not_equal(inputs, value)
    return np.not_equal(np.asarray(inputs), value)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r} (of type {type(value).__name__})."
        )
    return int(value)


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors: `out[..., :] = embeddings[id]`.

    Ids arrive as numbers (pytrainc's buffers are float32); each must be an integer in
    `[0, input_dim)`, checked in C: any other value stops fit/evaluate/predict with a
    ValueError naming the layer. float32 holds integers exactly up to 2**24, which bounds
    `input_dim`. The gradient is a scatter-add into the embedding matrix, in a fixed order.

    Args:
        input_dim: Positive int, the vocabulary size (largest id + 1).
        output_dim: Positive int, the size of each vector.
        embeddings_initializer: Defaults to 'uniform' (RandomUniform(-0.05, 0.05)).
        embeddings_regularizer: Optional regularizer. Defaults to None.
        embeddings_constraint: Optional constraint (pytrainc.constraints). Defaults to None.
        mask_zero: Whether id 0 is padding: the layer then gives its output Keras's mask (a
            step counts where its id is not 0), which the recurrent layers and
            GlobalAveragePooling1D honour. Defaults to False.
        weights: Optional initial weights ([embeddings]). Defaults to None.
        lora_rank, lora_alpha, quantization_config: Keras's LoRA and quantization, not supported:
            lora_rank and quantization_config must be None. Default to None.
        input_length: Deprecated in Keras 3; accepted with a warning and ignored.

    Example:

    >>> model = Sequential([Input((20,)), Embedding(1000, 16), GlobalAveragePooling1D(), Dense(1)])
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim = _positive_int("input_dim", input_dim)
        self.output_dim = _positive_int("output_dim", output_dim)
        if self.input_dim > 2**24:
            raise ValueError(
                "Embedding reads its ids from float32 buffers, exact for integers up to 2**24: "
                f"input_dim must be at most {2**24}. Received: input_dim={input_dim}"
            )
        _unsupported("Embedding", lora_rank=lora_rank, quantization_config=quantization_config)
        set_weight_args(
            self, embeddings_constraint=embeddings_constraint, embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
        )  # fmt: skip
        self.mask_zero = bool(mask_zero)
        self.embeddings = None
        self._initial_weights = weights

    def build(self, input_shape):
        self.embeddings = add_weight_of(self, "embeddings", (self.input_dim, self.output_dim))
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _emit(self, builder, in_bufs, in_shapes):
        t = math.prod(in_shapes[0])
        out = builder.buffer(t * self.output_dim)
        builder.op(
            "embedding",
            in_bufs,
            out,
            params={"embeddings": self.embeddings},
            t=t,
            v=self.input_dim,
            d=self.output_dim,
        )
        if self.mask_zero:  # Keras's compute_mask: not_equal(ids, 0)
            builder.output_mask = builder.buffer(t)
            builder.op("seq_mask", in_bufs, builder.output_mask, t=t, c=1, value=0.0)
        return self._emit_activity(builder, out)

    def compute_mask(self, inputs, mask=None):
        """Keras's mask of these ids: `not_equal(inputs, 0)` with mask_zero, else None (a NumPy bool
        array for an array, a tensor of 0/1 for a symbolic one)."""
        if not self.mask_zero:
            return None
        return _not_equal(inputs, 0)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            **weight_args_config(self, ("embeddings",)),
            "mask_zero": self.mask_zero,
        }


class Masking(Layer):
    """Marks the steps whose features all equal `mask_value` as padding, as Keras's Masking.

    The output is the input with those steps set to 0, and it carries Keras's mask (a step
    counts where any feature differs from `mask_value`), which the recurrent layers and
    GlobalAveragePooling1D honour.

    Args:
        mask_value: The padding value. Defaults to 0.0.

    Example:

    >>> model = Sequential([Input((10, 3)), Masking(), LSTM(8), Dense(1)])
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.floating, np.integer)):
            raise ValueError(f"Masking's mask_value must be a number. Received: mask_value={mask_value!r}")
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        """Keras's mask: a step counts where any feature differs from mask_value (a NumPy bool array
        for an array, a tensor of 0/1 for a symbolic one)."""
        differs = _not_equal(inputs, self.mask_value)
        if isinstance(differs, np.ndarray):
            return differs.any(axis=-1)
        from pytrainc import ops

        return ops.max(differs, axis=-1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"Masking expects input of shape (batch, timesteps, features). Received: shape={tuple(input_shape)}"
            )
        return input_shape

    def _emit(self, builder, in_bufs, in_shapes):
        shape = tuple(in_shapes[0])
        t, c = math.prod(shape[:-1]), shape[-1]
        builder.output_mask = builder.buffer(t)
        builder.op("seq_mask", in_bufs, builder.output_mask, t=t, c=c, value=float(self.mask_value))
        out = builder.buffer(t * c)
        builder.op("masking", in_bufs, out, t=t, c=c, value=float(self.mask_value))
        return self._emit_activity(builder, out)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


LAYERS = {"Embedding": Embedding, "Masking": Masking}
