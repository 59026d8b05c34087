"""A layer or a model called on arrays, as Keras runs `layer(x)` eagerly: pytrainc builds (once
per input shape) a functional model around the layer, shares its weights, and runs one pass in C
over the arrays: inference mode as `predict`, or with training=True a training step's forward
pass (Dropout active, BatchNormalization on the batch's statistics, its moving statistics
updated; no gradient, no weight update). The result is a NumPy array (Keras returns a backend
tensor).

Used by `Layer.__call__` and `Model.__call__` when no input is symbolic.
"""

import numpy as np


def is_data(inputs):
    """Whether `inputs` (one value, a list or a dict) are arrays rather than KerasTensors."""
    from pytrainc.layers.core import KerasTensor

    values = list(inputs.values()) if isinstance(inputs, dict) else inputs
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    return bool(values) and not any(isinstance(v, KerasTensor) for v in values)


def _arrays(owner, inputs):
    items = list(inputs.items()) if isinstance(inputs, dict) else None
    values = [v for _, v in items] if items else (list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
    arrays = []
    for v in values:
        a = np.asarray(v.numpy() if hasattr(v, "numpy") and not isinstance(v, np.ndarray) else v)
        if a.dtype.kind not in "biuf" or a.ndim < 1 or a.shape[0] == 0:
            raise ValueError(
                f"{owner} called on data expects numeric arrays with a batch axis and at least one sample. "
                f"Received: dtype={a.dtype}, shape={a.shape}"
            )
        arrays.append(a)
    return arrays, items


def call_layer(layer, inputs, training=None):
    """`layer(x)` on arrays: the layer's output for them, as a NumPy array."""
    from pytrainc.layers.core import Input
    from pytrainc.models.model import Model

    owner = f"Layer '{layer.name}'"
    arrays, items = _arrays(owner, inputs)
    multi = isinstance(inputs, (list, tuple)) or items is not None
    key = tuple((a.shape[1:], a.dtype.kind in "iub") for a in arrays)
    cache = layer.__dict__.setdefault("_eager_models", {})
    model = cache.get(key)
    if model is None:
        ins = [Input(a.shape[1:], dtype="int32" if a.dtype.kind in "iub" else None) for a in arrays]
        out = layer(dict(zip([k for k, _ in items], ins)) if items else (ins if multi else ins[0]))
        model = Model(ins, out, name=f"{layer.name}_eager")
        cache[key] = model
    return model._call_on_arrays(arrays if len(arrays) > 1 else arrays[0], training)


def call_model(model, inputs, training=None):
    """`model(x)` on arrays: one pass over them in one batch, as Keras's eager call returns."""
    arrays, items = _arrays(f"Model '{model.name}'", inputs)
    if not model.built:
        model._build_from_data(arrays[0].shape[1:])
    data = dict(items) if items else inputs
    return model._call_on_arrays(data, training)


def call_layer_masked(layer, inputs, mask, training=None):
    """`layer(x, mask=m)` on arrays (Keras's "passing mask tensors directly to layers"): the layer
    traced with its mask inside a two-input model, m counting as 1 where true or non-zero."""
    from pytrainc.layers.core import Input, Layer
    from pytrainc.models.model import Model

    owner = f"Layer '{layer.name}'"
    (x,), _ = _arrays(owner, inputs)
    m = np.asarray(mask)
    if m.shape != x.shape[:-1]:
        raise ValueError(
            f"{owner} takes a mask of shape {x.shape[:-1]}, one value per step of its input {x.shape}. "
            f"Received: mask of shape {m.shape}"
        )
    key = ("mask", x.shape[1:], x.dtype.kind in "iub")
    cache = layer.__dict__.setdefault("_eager_models", {})
    model = cache.get(key)
    if model is None:

        class _Masked(Layer):
            def call(self, pair):
                return layer(pair[0], mask=pair[1])

        ins = [Input(x.shape[1:], dtype="int32" if x.dtype.kind in "iub" else None), Input(m.shape[1:])]
        model = Model(ins, _Masked(name=f"{layer.name}_masked")(ins), name=f"{layer.name}_eager")
        cache[key] = model
    return model._call_on_arrays([x, (m != 0).astype(np.float32)], training)


class MaskedOutput(np.ndarray):
    """A NumPy array with Keras's `_keras_mask`: the output of an eager call of a layer that
    computes a mask (Embedding(mask_zero=True), Masking), as Keras sets it on its tensors. The next
    eager call of a layer that supports masking (an RNN, pooling) takes it. Layers that only hand a
    mask on (Dense) return a plain array here, where Keras's output would keep the mask."""

    _keras_mask = None

    def __array_finalize__(self, obj):
        self._keras_mask = None  # arithmetic on the array drops the mask, as Keras's ops do


def input_mask(inputs):
    """The mask an eager call's first input carries (`_keras_mask`), or None."""
    first = inputs[0] if isinstance(inputs, (list, tuple)) and inputs else inputs
    return getattr(first, "_keras_mask", None)


def with_mask(layer, inputs, out, mask):
    """out, carrying the mask of a layer that computes one (Embedding(mask_zero=True), Masking:
    their compute_mask, as Keras's Layer.__call__ sets it); out itself otherwise."""
    if not callable(getattr(type(layer), "compute_mask", None)) or not isinstance(out, np.ndarray):
        return out
    mask = layer.compute_mask(inputs, mask)
    if mask is None:
        return out
    out = out.view(MaskedOutput)
    out._keras_mask = np.asarray(mask).astype(bool)
    return out
