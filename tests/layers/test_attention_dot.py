"""Attention and AdditiveAttention (issue #11) against Keras 3.15 on torch: predictions and
gradients with the same weights, score modes, causal and padding masks (from Embedding(mask_zero)
and explicit), dropout, .weights.h5 from Keras, config round trips."""

import numpy as np
import pytest

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model

keras = testing.keras_torch()

TQ, TV, D = 4, 5, 6


def data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, TV, D)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    "cls,kwargs",
    [
        ("Attention", {}),
        ("Attention", {"use_scale": True}),
        ("Attention", {"score_mode": "concat"}),
        ("Attention", {"score_mode": "concat", "use_scale": True}),
        ("AdditiveAttention", {}),
        ("AdditiveAttention", {"use_scale": False}),
    ],
)
def test_matches_keras_forward_and_gradients(cls, kwargs, causal):
    def body(lib, x):
        query = lib.Dense(D, name="q")(lib.Reshape((TV * D,))(x))
        query = lib.Reshape((TQ, D))(lib.Dense(TQ * D)(query))
        key = lib.Dense(D, activation="tanh")(x)
        out = getattr(lib, cls)(**kwargs)([query, x, key], use_causal_mask=causal)
        return lib.Dense(1)(lib.Flatten()(out))

    x, y = data()
    testing.keras_parity(body, x, y, (TV, D))


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_masks_from_embedding_match_keras(cls):
    """Padding (id 0) masks the value steps and zeroes the query's padded rows, as in Keras."""

    def build(lib):
        ids = (L.Input if lib is L else keras.Input)((TV,))
        emb = lib.Embedding(7, D, mask_zero=True, name="emb")(ids)
        q = lib.Dense(D, name="q")(emb)
        h = getattr(lib, cls)(name="att")([q, emb], use_causal_mask=True)
        pooled = lib.GlobalAveragePooling1D()(h)  # takes the query's mask from the attention
        return (Model if lib is L else keras.Model)(ids, lib.Dense(1, name="out")(pooled))

    model, k_model = build(L), build(keras.layers)
    rng = np.random.default_rng(2)
    weights = [rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    ids = rng.integers(0, 7, size=(6, TV)).astype(np.float32)
    ids[0, 2:] = 0
    ids[1, :1] = 0
    testing.assert_close(model.predict(ids, verbose=0), k_model.predict(ids.astype(np.int64), verbose=0), 1e-5, "mask")


def test_explicit_masks_match_keras():
    def build(lib):
        inp = L.Input if lib is L else keras.Input
        q, v, qm, vm = inp((TQ, D)), inp((TV, D)), inp((TQ,)), inp((TV,))
        out = lib.Attention(use_scale=True, name="att")([q, v], mask=[qm, vm])
        return (Model if lib is L else keras.Model)([q, v, qm, vm], lib.Flatten()(out))

    rng = np.random.default_rng(3)
    xs = [
        rng.normal(size=(3, TQ, D)),
        rng.normal(size=(3, TV, D)),
        rng.random((3, TQ)) > 0.3,
        rng.random((3, TV)) > 0.3,
    ]
    xs[3][:, 0] = True
    xs = [a.astype(np.float32) for a in xs]
    model, k_model = build(L), build(keras.layers)
    model.set_weights([np.float32(0.7)])
    k_model.set_weights([np.float32(0.7)])
    testing.assert_close(model.predict(xs, verbose=0), k_model.predict(xs, verbose=0), 1e-5, "explicit masks")


def test_weights_h5_from_keras_dropout_and_fit(tmp_path):
    def build(lib, **kw):
        i = (L.Input if lib is L else keras.Input)((TV, D))
        out = lib.AdditiveAttention(dropout=0.3, name="att", **kw)([i, i])
        return (Model if lib is L else keras.Model)(i, lib.Dense(1)(lib.Flatten()(out)))

    k_model = build(keras.layers)
    rng = np.random.default_rng(4)
    k_model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in k_model.get_weights()])
    k_model.save_weights(tmp_path / "k.weights.h5")
    model = build(L, seed=3)
    model.load_weights(tmp_path / "k.weights.h5")
    x, y = data(8, seed=5)
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "loaded")
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=5, batch_size=4, verbose=0)
    assert history.history["loss"][0] != before  # dropout acts in training only
    assert model.evaluate(x, y, verbose=0) < before


@pytest.mark.parametrize("cls", [L.Attention, L.AdditiveAttention])
def test_config_round_trip_and_errors(cls):
    layer = cls(dropout=0.25, seed=2, name="a")
    config = layer.get_config()
    k_config = getattr(keras.layers, cls.__name__)(dropout=0.25, seed=2, name="a").get_config()
    for k in ("use_scale", "score_mode", "dropout", "seed"):
        assert config.get(k) == k_config.get(k), k
    assert cls.from_config(config).get_config() == config
    q = L.Input((TQ, D))
    with pytest.raises(ValueError, match="list of inputs"):
        cls()(q)
    with pytest.raises(ValueError, match="return attention scores"):
        cls()([q, q], return_attention_scores=True)
    with pytest.raises(ValueError, match="same last dimension"):
        cls()([q, L.Input((TV, D + 1))])
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    layer = cls()
    layer([q, q])
    with pytest.raises(ValueError, match="one form per layer"):
        layer([q, q], use_causal_mask=True)
