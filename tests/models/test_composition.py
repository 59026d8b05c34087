"""Models built from other models and shared layers, as Keras 3 builds them: a layer called twice
shares its weights (trained as Keras trains it), a model called as a layer, `Sequential` from
another model's layers, `clone_model`, `to_json` / `model_from_json` (both ways with Keras) and
`get_layer`."""

import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential, clone_model, model_from_json  # noqa: E402

K = keras.layers
close = functools.partial(testing.assert_close_abs, atol=1e-5)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def data(n=24):
    r = np.random.default_rng(0)
    return r.normal(size=(n, 4)).astype(np.float32), r.normal(size=(n, 4)).astype(np.float32), r.normal(size=(n, 1))


def siamese(lib):
    M = L if lib is pytrainc else K
    a, b = M.Input((4,), name="left"), M.Input((4,), name="right")
    shared = M.Dense(3, activation="tanh", name="shared")
    out = M.Dense(1, name="head")(M.Concatenate(name="concat")([shared(a), shared(b)]))
    return (Model if lib is pytrainc else keras.Model)([a, b], out)


def test_a_shared_layer_trains_as_in_keras():
    testing.seed(0)
    pt, km = siamese(pytrainc), siamese(keras)
    for layer in pt.layers:
        if layer.weights:
            km.get_layer(layer.name).set_weights(layer.get_weights())
    assert len(pt.weights) == len(km.weights) == 4
    xa, xb, y = data()
    for m in (pt, km):
        m.compile(optimizer="sgd", loss="mse")
    hp = pt.fit([xa, xb], y, batch_size=6, epochs=3, shuffle=False, verbose=0)
    hk = km.fit([xa, xb], y, batch_size=6, epochs=3, shuffle=False, verbose=0)
    close(np.array(hp.history["loss"]), np.array(hk.history["loss"]))
    close(pt.get_layer("shared").get_weights()[0], np.asarray(km.get_layer("shared").get_weights()[0]))


def test_a_model_called_as_a_layer_shares_its_weights():
    testing.seed(0)
    a = L.Input((4,), name="a")
    inner = Model(a, L.Dense(2, name="inner")(a))
    x = L.Input((4,), name="x")
    outer = Model(x, L.Dense(1, name="top")(inner(x)))
    xa, _, y = data()
    before = inner.predict(xa, verbose=0)
    outer.compile(optimizer="sgd", loss="mse")
    outer.fit(xa, y, epochs=2, verbose=0)
    assert [layer.name for layer in outer.layers] == ["x", "inner", "top"]  # Keras's: the InputLayer first
    assert not np.allclose(inner.predict(xa, verbose=0), before)  # trained through the outer model
    manual = (
        inner.predict(xa, verbose=0) @ outer.get_layer("top").get_weights()[0] + outer.get_layer("top").get_weights()[1]
    )
    close(outer.predict(xa, verbose=0), manual)
    close(inner(xa), inner.predict(xa, verbose=0))  # called on data: eagerly, as Keras
    with pytest.raises(ValueError, match="expects input 'a' of shape"):
        inner(L.Input((5,)))


def test_sequential_from_another_models_layers_and_clone_model():
    testing.seed(0)
    pretrained = Sequential([L.Input((4,)), L.Dense(5, name="features"), L.Dense(1, name="out")])
    xa, _, _ = data()
    body = Sequential(pretrained.layers[:-1])
    expected = (
        xa @ pretrained.get_layer("features").get_weights()[0] + pretrained.get_layer("features").get_weights()[1]
    )
    close(body.predict(xa, verbose=0), expected)
    twin = clone_model(pretrained)
    assert type(twin) is Sequential and twin.count_params() == pretrained.count_params()
    assert not np.allclose(twin.predict(xa, verbose=0), pretrained.predict(xa, verbose=0))  # new weights
    testing.seed(0)
    m = siamese(pytrainc)
    c = clone_model(m)
    assert c.input_names == m.input_names and len(c.weights) == 4
    assert all(u is not v for u, v in zip(c.weights, m.weights))
    with pytest.raises(ValueError, match="takes only the model"):
        clone_model(m, clone_function=lambda layer: layer)


def test_to_json_and_model_from_json_both_ways_with_keras():
    testing.seed(0)
    m = siamese(pytrainc)
    text = m.to_json()
    ours = model_from_json(text)
    assert ours.input_names == ["left", "right"] and ours.count_params() == m.count_params()
    theirs = keras.models.model_from_json(text)
    assert theirs.count_params() == m.count_params()
    assert [t.name for t in theirs.inputs] == ["left", "right"]
    back = model_from_json(siamese(keras).to_json())
    assert back.count_params() == m.count_params()
    assert len(back.get_layer("shared").weights) == 2
    with pytest.raises(ValueError, match="expects a JSON text"):
        model_from_json("{not json")


def test_get_layer_by_name_and_index_as_keras():
    m = siamese(pytrainc)
    assert m.get_layer("shared") is m.layers[2]  # after the InputLayers, as Keras's functional model.layers
    assert [type(layer).__name__ for layer in m.layers[:2]] == ["InputLayer", "InputLayer"]
    assert m.get_layer(index=-1).name == "head"
    assert m.get_layer("left").name == "left"  # an InputLayer, found by name as in Keras
    with pytest.raises(ValueError, match="No such layer: nope"):
        m.get_layer("nope")
    with pytest.raises(ValueError, match="either a layer name or layer index"):
        m.get_layer()
    with pytest.raises(ValueError, match="only has 5 layers"):
        m.get_layer(index=7)
