"""MultiHeadAttention, as `keras.layers.MultiHeadAttention` (Vaswani et al., 2017), with Keras 3's
weights: query/key/value kernels (dim, heads, key_dim) with biases (heads, key_dim), the output
kernel (heads, value_dim, output dim) and bias.

The layer is traced once into the plan's C ops: each projection is one dense op over all steps
(a (dim, heads, key_dim) kernel is a (dim, heads * key_dim) matrix in memory), the per-head
products are batched matmul ops over (heads, T, key_dim), the softmax is the activation op,
masks are where ops, dropout the dropout op; every one has its C backward.
"""

import math

import numpy as np

from pytrainc import ops
from pytrainc.layers import _outputs
from pytrainc.layers._args import _unsupported, add_weight_of, set_weight_args, weight_args_config
from pytrainc.layers.core import Layer
from pytrainc.layers.embedding import _positive_int
from pytrainc.ops import _trace

_LARGE_NEGATIVE = -1e9  # Keras's Softmax puts this at masked positions (float32)


class MultiHeadAttention(Layer):
    """Multi-head attention: `softmax(q k^T / sqrt(key_dim)) v` per head, then a dense output.

    Called as `mha(query, value, key=None, attention_mask=None, use_causal_mask=False)`, with
    query (batch, T, dim) and value, key (batch, S, dim). attention_mask (batch, T, S) is non-zero
    where query step t may attend to key step s.

    Args:
        num_heads: Positive int. key_dim: Positive int, the size of each head's query and key.
        value_dim: Size of each head's value. Defaults to None (key_dim).
        dropout: Dropout rate of the attention probabilities in training. Defaults to 0.0.
        use_bias: Defaults to True.
        output_shape: The last axis of the output, an int. Defaults to None (query's dim).
        attention_axes: Only None (attention over the sequence axis) is supported.
        sliding_window: Keras's local attention, not supported: must be None.
        flash_attention: Accepted; the result does not depend on it. Defaults to None.
        kernel_initializer, bias_initializer: Default to 'glorot_uniform', 'zeros'.
        kernel_regularizer, bias_regularizer, activity_regularizer: Default to None.
        kernel_constraint, bias_constraint: Optional constraints (pytrainc.constraints) of every
            projection's kernel and bias. Default to None.
        use_gate: Keras's gated attention, not supported: must be False.
        seed: Optional int for the dropout generator.

    Example:

    >>> x = Input((10, 16))
    >>> y = MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    """

    _multi_input = True

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _unsupported("MultiHeadAttention", sliding_window=sliding_window, use_gate=use_gate)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.key_dim = _positive_int("key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else _positive_int("value_dim", value_dim)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) or not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention's dropout must be a float in [0, 1). Received: dropout={dropout!r}")
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if output_shape is not None and not isinstance(output_shape, (int, np.integer)):
            if len(tuple(output_shape)) != 1:
                raise ValueError(
                    f"pytrainc's MultiHeadAttention supports an int output_shape. Received: output_shape={output_shape}"
                )
            output_shape = tuple(output_shape)[0]
        self._output_shape = None if output_shape is None else _positive_int("output_shape", output_shape)
        if attention_axes is not None:
            raise ValueError(
                f"pytrainc's MultiHeadAttention attends over the sequence axis only (attention_axes=None). "
                f"Received: attention_axes={attention_axes!r}"
            )
        set_weight_args(
            self, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
        )  # fmt: skip
        self._call_form = None  # (has key, has attention_mask, use_causal_mask) of the first call
        if self.dropout:
            from pytrainc.layers.regularization import Dropout

            self._dropout_layer = Dropout(self.dropout, seed=seed, name=f"{self.name}_dropout")

    def __call__(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        if value is None:
            raise TypeError("MultiHeadAttention is called as mha(query, value, key=None, ...). Received no value")
        if any(m is not None for m in (query_mask, value_mask, key_mask)):
            raise ValueError("pytrainc's MultiHeadAttention takes masks as attention_mask (batch, T, S) for now")
        form = (key is not None, attention_mask is not None, bool(use_causal_mask), bool(return_attention_scores))
        if self._call_form not in (None, form):
            raise ValueError(
                f"MultiHeadAttention '{self.name}' was first called with (key, attention_mask, use_causal_mask, "
                "return_attention_scores) "
                f"given as {self._call_form}; pytrainc traces one form per layer. Received: {form}"
            )
        self._call_form = form
        inputs = [query, value] + ([key] if key is not None else []) + ([attention_mask] if form[1] else [])
        first = "_call_io" not in self.__dict__
        call = self._recall(inputs)
        out = _outputs.outputs_of(self, call) if return_attention_scores else call
        if first:  # Keras's node 0
            self._call_io = (inputs, out)
        return out

    def _recall(self, parents):  # the call's graph node, on new inputs (a model rebuilt or called as a layer)
        if self._call_form is None:
            raise ValueError(
                f"pytrainc cannot rebuild the call of MultiHeadAttention '{self.name}' from a model configuration "
                "yet: the configuration does not keep the call's key, attention_mask, use_causal_mask and "
                "return_attention_scores arguments. Build the model in code and load its weights instead."
            )
        call = super().__call__(list(parents))
        call._several = self._call_form[3]
        return call

    def _output_layout(self, input_shapes):
        """With return_attention_scores: Keras's (output (T, dim), scores (heads, T, S))."""
        (t, dim), s = input_shapes[0], input_shapes[1][0]
        return [(t, self._output_shape or dim), (self.num_heads, t, s)]

    def build(self, input_shape):
        if len(input_shape[0]) != 3 or len(input_shape[1]) != 3:
            raise ValueError(
                f"MultiHeadAttention expects query and value of shape (batch, steps, dim). Received: {input_shape}"
            )
        dim, dv = input_shape[0][-1], input_shape[1][-1]
        dk = input_shape[2][-1] if self._call_form[0] else dv
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        out = self._output_shape or dim

        self._dense = {}  # Keras passes the layer's weight arguments to each EinsumDense
        for name, d_in, shape in (("query", dim, (h, k)), ("key", dk, (h, k)), ("value", dv, (h, v))):
            kernel = add_weight_of(self, f"{name}/kernel", (d_in,) + shape, "kernel")
            bias = add_weight_of(self, f"{name}/bias", shape, "bias") if self.use_bias else None
            self._dense[name] = (kernel, bias)
        kernel = add_weight_of(self, "attention_output/kernel", (h, v, out), "kernel")
        bias = add_weight_of(self, "attention_output/bias", (out,), "bias") if self.use_bias else None
        self._dense["attention_output"] = (kernel, bias)
        self.built = True

    def _project(self, x, name):
        """x (steps, d_in) through a dense op with kernel (d_in, ...) read as a matrix."""
        kernel, bias = self._dense[name]
        steps, d_in = (
            x.sample_shape[0],
            int(np.prod(kernel.shape[:-1] if name == "attention_output" else kernel.shape[:1])),
        )
        width = int(np.prod(kernel.shape)) // d_in

        def emit(builder, bufs):
            out = builder.buffer(steps * width)
            builder.op(
                "dense",
                bufs,
                out,
                params={"kernel": kernel, "bias": bias},
                rows=steps,
                units_in=d_in,
                units_out=width,
            )
            return out

        return _trace.symbolic(f"MultiHeadAttention {name}", (steps, width), [x], emit)

    def call(self, inputs, training=None):
        has_key, has_mask, causal, with_scores = self._call_form
        query, value = inputs[0], inputs[1]
        key = inputs[2] if has_key else value
        mask = inputs[-1] if has_mask else None
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        t, s = query.sample_shape[0], value.sample_shape[0]
        q = ops.reshape(self._project(query, "query"), (-1, t, h, k))
        q = ops.multiply(q, 1.0 / math.sqrt(float(k)))  # Keras scales the projected query
        kk = ops.reshape(self._project(key, "key"), (-1, s, h, k))
        vv = ops.reshape(self._project(value, "value"), (-1, s, h, v))
        scores = ops.matmul(ops.transpose(q, (0, 2, 1, 3)), ops.transpose(kk, (0, 2, 3, 1)))  # (h, t, s)
        keep = None
        if causal:  # Keras's causal mask: query t attends to key steps s <= t
            keep = np.tril(np.ones((t, s), np.float32))
        if mask is not None:
            m = ops.expand_dims(ops.not_equal(mask, 0.0), 1)  # (1, t, s): Keras casts the mask to bool
            keep = m if keep is None else ops.multiply(m, keep)
        if keep is not None:
            scores = ops.where(keep, scores, _LARGE_NEGATIVE)
        probs = ops.softmax(scores, axis=-1)
        if keep is not None:  # an all-masked row gives zeros, not a uniform distribution (Keras)
            probs = ops.where(keep, probs, 0.0)
        probs_kept = probs
        if self.dropout:
            probs = self._dropout_layer(probs)
        context = ops.transpose(ops.matmul(probs, ops.transpose(vv, (0, 2, 1, 3))), (0, 2, 1, 3))  # (t, h, v)
        out = self._project(ops.reshape(context, (-1, t, h * v)), "attention_output")
        if not with_scores:
            return out
        # Both outputs in a row (layers/_outputs.py slices them); the scores before dropout, as Keras's.
        width = self._output_shape or query.sample_shape[-1]
        return ops.concatenate([ops.reshape(out, (-1, t * width)), ops.reshape(probs_kept, (-1, h * t * s))], axis=-1)

    def _keras3_weight_groups(self):
        """Where Keras 3's .weights.h5 keeps each projection's kernel and bias."""
        names = {"query": "query_dense", "key": "key_dense", "value": "value_dense", "attention_output": "output_dense"}
        return [(f"{names[n]}/vars", [w for w in self._dense[n] if w is not None]) for n in names]

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self._output_shape,
            "attention_axes": None,
            **weight_args_config(self, ("kernel", "bias")),
            "seed": self.seed,
        }


LAYERS = {"MultiHeadAttention": MultiHeadAttention}
