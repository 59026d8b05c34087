"""Attention (Luong, dot or concat scores) and AdditiveAttention (Bahdanau), as
`keras.layers.Attention` and `keras.layers.AdditiveAttention` (keras/src/layers/attention/).

Both are traced once into the plan's C ops (batched matmul, broadcast add, tanh, sum, where,
softmax, dropout), each with its C backward. Masks come as Keras gives them: from the inputs
(e.g. `Embedding(mask_zero=True)`) or as `mask=[query_mask, value_mask]`; the layer records one
trace per combination of masks present, and the builder picks the one that matches at emit time.
"""

import numpy as np

from pytrainc import ops
from pytrainc.layers import _tracing
from pytrainc.layers.core import KerasTensor, Layer

_MASK_FORMS = ((False, False), (True, False), (False, True), (True, True))  # (query mask, value mask)


def _rate(name, dropout):
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) or not 0 <= dropout < 1:
        raise ValueError(f"{name}'s dropout must be a float in [0, 1). Received: dropout={dropout!r}")
    return float(dropout)


class Attention(Layer):
    """Dot-product attention (Luong-style): `softmax(scores(query, key)) @ value`.

    Called on `[query, value]` or `[query, value, key]` with query (batch, Tq, dim) and value,
    key (batch, Tv, dim); returns (batch, Tq, dim of value).

    Args:
        use_scale: If True, a trainable scalar `scale` multiplies the scores. Defaults to False.
        score_mode: 'dot' (query . key) or 'concat' (`sum(tanh(query + key))`). Defaults to 'dot'.
        dropout: Fraction of the attention weights dropped in training. Defaults to 0.0.
        seed: Optional int, the seed of the dropout generator. Defaults to None.

    Call arguments:
        mask: Optional `[query_mask, value_mask]` (batch, Tq) and (batch, Tv), non-zero where a step
            counts; masks attached to the inputs (`mask_zero=True`) are used when it is None.
        use_causal_mask: If True, query step i attends to value steps j <= i. Defaults to False.
        return_attention_scores: Only False (pytrainc layers have one output for now).

    Example:

    >>> q, v = Input((4, 8)), Input((6, 8))
    >>> out = Attention()([q, v])
    """

    _multi_input = True
    supports_masking = True  # Keras's compute_mask: the output keeps the query's mask
    _score_modes = ("dot", "concat")

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in self._score_modes:
            raise ValueError(
                f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. "
                f"Received: score_mode={score_mode}"
            )
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = _rate(type(self).__name__, dropout), seed
        self.scale = self.concat_score_weight = None
        self._form = None  # (number of inputs, explicit query mask, explicit value mask, causal)
        self._mask_form = (False, False)  # the masks of the call being traced
        if self.dropout:
            from pytrainc.layers.regularization import Dropout

            self._dropout_layer = Dropout(self.dropout, seed=seed, name=f"{self.name}_dropout")

    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} layer must be called on a list of inputs, namely [query, value] or [query, value, key]. "
                f"Received: inputs={inputs}."
            )
        if return_attention_scores:
            raise ValueError(
                f"pytrainc's {name} does not return attention scores yet (layers have one output). "
                "Received: return_attention_scores=True"
            )
        masks = [None, None]
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. Received: {mask}")
            masks = list(mask[:2])
        inputs = list(inputs)
        if not any(isinstance(t, KerasTensor) for t in inputs) and mask is None:  # eager, on arrays
            self._form = self._form or (len(inputs), False, False, bool(use_causal_mask))
            return super().__call__(inputs)
        form = (len(inputs), masks[0] is not None, masks[1] is not None, bool(use_causal_mask))
        if self._form not in (None, form):
            raise ValueError(
                f"{name} '{self.name}' was first called with (inputs, query_mask, value_mask, use_causal_mask) "
                f"given as {self._form}; pytrainc traces one form per layer. Received: {form}"
            )
        self._form = form
        tensors = inputs + [m for m in masks if m is not None]
        shapes = [tuple(t.sample_shape) for t in tensors]
        self._check_shapes(shapes[: len(inputs)], masks, shapes[len(inputs) :])
        self._build_for(shapes)
        if not self.__dict__.get("_traces"):
            # Masks not given explicitly may arrive with the inputs: a trace per combination
            tq, tv = shapes[0][0], shapes[1][0]
            for hq, hv in [form[1:3]] if form[1] or form[2] else _MASK_FORMS:
                extra = [KerasTensor((tq,))] if hq else []
                extra += [KerasTensor((tv,))] if hv else []
                self._mask_form = (hq, hv)
                try:
                    _tracing.record(self, (hq, hv), [KerasTensor(s) for s in shapes[: len(inputs)]] + extra)
                finally:
                    self._mask_form = (False, False)
        out_shape = next(iter(self._traces.values()))[1].sample_shape
        return KerasTensor(out_shape, layer=self, inputs=tensors)

    def _check_shapes(self, shapes, masks, mask_shapes):
        name = type(self).__name__
        if any(len(s) != 2 for s in shapes):
            raise ValueError(f"{name} expects inputs of shape (batch, steps, dim). Received: {shapes}")
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        if k[0] != v[0]:
            raise ValueError(f"{name}: key and value must have the same number of steps. Received: {k} and {v}")
        if q[-1] != k[-1]:
            raise ValueError(f"{name}: query and key must have the same last dimension. Received: {q} and {k}")
        expected = iter([(q[0],)] * (masks[0] is not None) + [(v[0],)] * (masks[1] is not None))
        for got in mask_shapes:
            want = next(expected)
            if tuple(got) != want:
                raise ValueError(f"{name}: masks have shape (batch, steps) {want}. Received: {got}")

    def build(self, input_shape):
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones")
        self.built = True

    def _calculate_scores(self, query, key):
        """(Tq, dim), (Tv, dim) -> (Tq, Tv), Keras's formulas."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        summed = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))  # (Tq, Tv, dim)
        if self.scale is not None:
            summed = ops.multiply(summed, self.scale)
        return ops.multiply(ops.sum(ops.tanh(summed), axis=-1), self.concat_score_weight)

    def call(self, inputs, training=None):
        n = self._form[0]
        hq, hv = self._mask_form
        q, v = inputs[0], inputs[1]
        k = inputs[2] if n > 2 else v
        rest = list(inputs[n:])
        q_mask = rest.pop(0) if hq else None
        v_mask = rest.pop(0) if hv else None
        scores = self._calculate_scores(q, k)
        tq, tv = scores.shape[1], scores.shape[2]
        keep = None
        if v_mask is not None:
            keep = ops.expand_dims(ops.not_equal(v_mask, 0.0), 1)  # (1, Tv)
        if self._form[3]:  # Keras's causal mask: row i keeps columns j <= i
            causal = np.tril(np.ones((tq, tv), np.float32))
            keep = causal if keep is None else ops.multiply(keep, causal)
        if keep is not None:  # Keras subtracts 1e9 where the mask is False
            scores = ops.where(keep, scores, ops.subtract(scores, 1.0e9))
        weights = ops.softmax(scores, axis=-1)
        if self.dropout:
            weights = self._dropout_layer(weights)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = ops.where(ops.expand_dims(ops.not_equal(q_mask, 0.0), -1), out, 0.0)
        return out

    def _emit(self, builder, in_bufs, in_shapes):
        explicit = self._form[1] or self._form[2]
        if explicit:
            key = (self._form[1], self._form[2])
            masks = []
        else:
            found = list(builder.input_masks[:2]) + [None] * 2
            masks = [m for m in found[:2] if m is not None]
            key = (found[0] is not None, found[1] is not None)
        out = _tracing.emit(self, builder, list(in_bufs) + masks, None, key=key)
        if explicit:
            builder.output_mask = None  # an explicit mask is a float tensor here, not a plan mask
        return self._emit_activity(builder, out)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau-style): scores `sum(scale * tanh(query + key), axis=-1)`,
    with a trainable `scale` of shape (dim,), then as `Attention`.

    Args:
        use_scale: If True, a trainable vector `scale` (dim,) weights the sum. Defaults to True.
        dropout: Fraction of the attention weights dropped in training. Defaults to 0.0.
        seed: Optional int, the seed of the dropout generator. Defaults to None.

    Example:

    >>> q, v = Input((4, 8)), Input((6, 8))
    >>> out = AdditiveAttention()([q, v])
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],), initializer="glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        t = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))  # (Tq, Tv, dim)
        return ops.sum(t if self.scale is None else ops.multiply(t, self.scale), axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


LAYERS = {c.__name__: c for c in (Attention, AdditiveAttention)}
