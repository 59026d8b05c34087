"""The layers' constructor signatures are Keras 3.15.1's (names, order, defaults), so positional and
keyword arguments land where Keras puts them; pytrainc-only extras are keyword-only after Keras's.
Keras arguments pytrainc does not implement are accepted at their default and refused otherwise,
with an error naming the argument."""

import inspect

import numpy as np
import pytest

import pytrainc as ptc
from pytrainc import layers as L
from pytrainc import testing


def _params(fn, theirs=None):
    """[(name, default, kind)] without *args/**kwargs, and (for ours) without the keyword-only
    extras Keras does not have."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if theirs is not None and p.kind == p.KEYWORD_ONLY and p.name not in theirs:
            continue
        out.append((p.name, repr(p.default), p.kind))
    return out


def _common_layers():
    keras = testing.keras_torch()
    names = []
    for name in sorted(dir(L)):
        ours, theirs = getattr(L, name), getattr(keras.layers, name, None)
        if name.startswith("_") or theirs is None or not callable(ours) or not callable(theirs):
            continue
        if inspect.isclass(ours) != inspect.isclass(theirs):
            continue
        names.append(name)
    return names


def test_every_layer_signature_is_keras_3s():
    keras = testing.keras_torch()
    differ = {}
    for name in _common_layers():
        ours, theirs = getattr(L, name), getattr(keras.layers, name)
        ours, theirs = (ours.__init__, theirs.__init__) if inspect.isclass(ours) else (ours, theirs)
        k = _params(theirs)
        if _params(ours, {p[0] for p in k}) != k:
            differ[name] = (_params(ours, {p[0] for p in k}), k)
    assert not differ, "\n".join(f"{n}: ours {o}\n   keras {t}" for n, (o, t) in differ.items())
    assert len(_common_layers()) > 100  # the check covers the layer namespace


def test_positional_arguments_reach_their_keras_parameter():
    conv = L.Conv2D(4, 3, 1, "same", None, 1, 1, "relu", False)
    assert conv.activation == "relu" and conv.use_bias is False and conv.padding == "same"
    sep = L.SeparableConv1D(2, 3, 1, "valid", None, 1, 2, "tanh")
    assert sep.depth_multiplier == 2 and sep.activation == "tanh"
    dw = L.DepthwiseConv1D(3, 2, "same", 3, None, 1, "relu", False)
    assert dw.strides == (2,) and dw.depth_multiplier == 3 and dw.use_bias is False
    assert L.Conv3D(2, 3).strides == (1, 1, 1) and L.Conv3D(2, 3).dilation_rate == (1, 1, 1)
    assert L.MaxPooling2D(name="p").name == "p" and L.AveragePooling1D(3).pool_size == (3,)
    with pytest.raises(TypeError):
        L.AveragePooling2D()  # pool_size is required, as Keras's
    assert L.Add(name="plus").name == "plus"
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Add(axis=1)
    x = L.Input(batch_shape=(None, 3), name="x")
    assert tuple(x.sample_shape) == (3,)
    assert L.InputLayer(batch_shape=(8, 2, 2)).batch_size == 8


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda: L.Dense(2, lora_rank=4), "lora_rank"),
        (lambda: L.Dense(2, quantization_config={"mode": "int8"}), "quantization_config"),
        (lambda: L.Embedding(5, 2, lora_rank=2), "lora_rank"),
        (lambda: L.Embedding(5, 2, quantization_config="int8"), "quantization_config"),
        (lambda: L.BatchNormalization(renorm=True), "renorm"),
        (lambda: L.BatchNormalization(synchronized=True), "synchronized"),
        (lambda: L.Input((3,), sparse=True), "sparse"),
        (lambda: L.Input((3,), ragged=True), "ragged"),
        (lambda: L.Input((3,), optional=True), "optional"),
        (lambda: L.Input(tensor=np.zeros((1, 3))), "tensor"),
        (lambda: L.InputLayer((3,), input_tensor=np.zeros((1, 3))), "input_tensor"),
        (lambda: L.MultiHeadAttention(2, 4, sliding_window=3), "sliding_window"),
        (lambda: L.MultiHeadAttention(2, 4, use_gate=True), "use_gate"),
        (lambda: L.StringLookup(pad_to_max_tokens=True), "pad_to_max_tokens"),
        (lambda: L.StringLookup(sparse=True), "sparse"),
        (lambda: L.IntegerLookup(idf_weights=[1.0]), "idf_weights"),
    ],
)
def test_keras_arguments_pytrainc_lacks_are_refused_when_on(make, arg):
    with pytest.raises(ValueError, match=rf"`{arg}` is not supported by pytrainc"):
        make()


def test_keras_arguments_at_their_default_are_accepted():
    assert L.Dense(2, lora_rank=None, lora_alpha=None, quantization_config=None).units == 2
    bn = L.BatchNormalization(renorm=False, renorm_clipping=None, renorm_momentum=0.9, synchronized=False)
    assert bn.get_config()["gamma_constraint"] is None
    assert L.Input((3,), sparse=False, ragged=False, optional=False) is not None
    assert L.IntegerLookup(vocabulary=[3, 5], vocabulary_dtype="int64", oov_method="floormod")([5]).tolist() == [2]
    assert L.StringLookup(vocabulary=["a"], encoding="utf-8", salt=3)(np.array([b"a", "b"])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="both `shape` and `batch_shape`"):
        L.Input((3,), batch_shape=(None, 3))
    with pytest.raises(ValueError, match="utf-8 only"):
        L.StringLookup(encoding="latin-1")


def test_layer_base_takes_keras_keywords_only():
    layer = L.Layer(name="base", trainable=False, autocast=False, dtype="float32")
    assert layer.name == "base" and not layer.trainable
    with pytest.raises(TypeError):
        L.Layer("positional_name")


def test_layers_deserialize_takes_custom_objects():
    class Twice(L.Layer):
        def call(self, x):
            return ptc.ops.multiply(x, 2.0)

    config = L.serialize(Twice(name="twice"))
    assert isinstance(L.deserialize(config, custom_objects={"Twice": Twice}), Twice)
    with pytest.raises(ValueError, match="Unknown layer class"):
        L.deserialize(config)
