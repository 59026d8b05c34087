"""MultiHeadAttention (issue #11) against Keras 3.15 on torch and torch's nn.MultiheadAttention:
predictions and gradients with the same weights (1e-5), masks, .weights.h5 from Keras, config."""

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model

keras = testing.keras_torch()

T, S, D = 5, 4, 6


def data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, T, D)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("value_dim,output_shape,use_bias", [(None, None, True), (4, 3, True), (2, None, False)])
def test_self_attention_matches_keras(causal, value_dim, output_shape, use_bias):
    def body(lib, x):
        mha = lib.MultiHeadAttention(2, 3, value_dim=value_dim, output_shape=output_shape, use_bias=use_bias)
        return lib.Dense(1)(lib.Flatten()(mha(x, x, use_causal_mask=causal)))

    x, y = data()
    testing.keras_parity(body, x, y, (T, D))


def test_cross_attention_with_key_and_attention_mask_matches_keras():
    """query (T, D) attends to key and value from other projections, with a (T, T) mask that
    blanks some query rows entirely (Keras then gives zeros for them)."""

    def build(lib):
        x = (L.Input if lib is L else keras.Input)((T, D))
        kv = lib.Dense(D, name="kv")(x)
        key = lib.Dense(D, activation="tanh", name="key")(kv)
        mask = lib.Activation("relu")(lib.Dense(T, name="mask")(kv))  # kept where non-zero
        h = lib.MultiHeadAttention(3, 2, name="mha")(x, kv, key=key, attention_mask=mask)
        return (Model if lib is L else keras.Model)(x, lib.Dense(1, name="out")(lib.Flatten()(h)))

    model, k_model = build(L), build(keras.layers)
    rng = np.random.default_rng(1)
    ours = {layer.name: layer for layer in model.layers}
    for name in ("kv", "key", "mask", "mha", "out"):
        weights = [rng.normal(size=w.shape).astype(np.float32) for w in ours[name].get_weights()]
        ours[name].set_weights(weights)
        k_model.get_layer(name).set_weights(weights)
    x, _ = data(seed=1)
    expected = k_model.predict(x, verbose=0)
    testing.assert_close(model.predict(x, verbose=0), expected, 1e-5, "masked cross attention")


def test_matches_torch_multihead_attention():
    mha_t = torch.nn.MultiheadAttention(D, 2, batch_first=True).double()
    x, _ = data(seed=2)
    layer = L.MultiHeadAttention(2, D // 2)
    model = Model(inp := L.Input((T, D)), layer(inp, inp))
    w_in, b_in = mha_t.in_proj_weight.detach().numpy(), mha_t.in_proj_bias.detach().numpy()
    weights = []
    for k in range(3):  # torch's (3D, D) rows are q, k, v; Keras's kernels (D, heads, key_dim)
        weights += [w_in[k * D : (k + 1) * D].T.reshape(D, 2, D // 2), b_in[k * D : (k + 1) * D].reshape(2, D // 2)]
    weights += [mha_t.out_proj.weight.detach().numpy().T.reshape(2, D // 2, D), mha_t.out_proj.bias.detach().numpy()]
    model.set_weights([w.astype(np.float32) for w in weights])
    tx = torch.tensor(x, dtype=torch.float64)
    expected = mha_t(tx, tx, tx, need_weights=False)[0].detach().numpy()
    testing.assert_close(model.predict(x, verbose=0), expected, 1e-5, "vs torch")


def test_weights_h5_from_keras_and_dropout(tmp_path):
    i = keras.Input((T, D))
    k_model = keras.Model(i, keras.layers.MultiHeadAttention(2, 3, dropout=0.3)(i, i))
    rng = np.random.default_rng(3)
    k_model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in k_model.get_weights()])
    k_model.save_weights(tmp_path / "m.weights.h5")
    x, y = data(seed=4)
    layer = L.MultiHeadAttention(2, 3, dropout=0.3, seed=5)
    model = Model(inp := L.Input((T, D)), layer(inp, inp))
    model.load_weights(tmp_path / "m.weights.h5")
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "loaded")
    model.save_weights(tmp_path / "p.weights.h5")
    k_model.load_weights(tmp_path / "p.weights.h5")
    model.compile(optimizer="sgd", loss="mse")
    first = model.train_on_batch(x, np.zeros((4, T, D), np.float32))
    assert first != model.evaluate(x, np.zeros((4, T, D), np.float32), verbose=0)  # dropout acts in training only
    config = layer.get_config()
    assert (config["num_heads"], config["key_dim"], config["dropout"]) == (2, 3, 0.3)
    assert L.MultiHeadAttention.from_config(config).value_dim == 3


def test_unsupported_forms_are_refused_clearly():
    x = L.Input((T, D))
    with pytest.raises(ValueError, match="attention_axes=None"):
        L.MultiHeadAttention(2, 3, attention_axes=(1,))
    layer = L.MultiHeadAttention(2, 3)
    layer(x, x)
    with pytest.raises(ValueError, match="traces one form per layer"):
        layer(x, x, use_causal_mask=True)
    with pytest.raises(ValueError, match="traces one form per layer"):
        layer(x, x, return_attention_scores=True)
