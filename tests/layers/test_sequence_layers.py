"""Embedding, SimpleRNN, LSTM, GRU and LayerNormalization (issue #11) as layers of models:
gradients and 50-step training against torch, predictions and gradients against Keras 3
(torch backend), config and save/load round trips, and clear errors for bad input.

Tolerances: pytrainc computes in float32 and torch here in float64, so values and gradients
agree to float32 rounding accumulated over T steps (about 1e-6 relative); 1e-5 for one pass
and 1e-4 over 50 training steps leave room for that growth without hiding a wrong formula
(a wrong gate or a missing term is off by 1e-2 or more).
"""

import importlib.util
import pathlib

import numpy as np
import pytest
import torch

from pytrainc import layers as L
from pytrainc import optimizers, testing
from pytrainc.models import Model, Sequential, load_model

_spec = importlib.util.spec_from_file_location(
    "_test_ops_helpers", pathlib.Path(__file__).resolve().parents[1] / "csrc" / "test_ops.py"
)
_ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ops)

CELLS = {"simple_rnn": L.SimpleRNN, "lstm": L.LSTM, "gru": L.GRU}
T, IN, U = 6, 3, 5


def rnn_model(cell, return_sequences=False, go_backwards=False, seed=0):
    """Input (T, IN) -> cell(U) -> Dense(1), with the cell's weights copied from a seeded torch module."""
    model = Sequential(
        [
            L.Input((T, IN)),
            CELLS[cell](U, return_sequences=return_sequences, go_backwards=go_backwards, name="rnn"),
            L.Dense(1, name="out"),
        ]
    )
    m, perm, params = _ops.torch_rnn(cell, IN, U, seed)
    rng = np.random.default_rng(seed)
    dense = [rng.normal(size=(U, 1)) * 0.5, rng.normal(size=1)]
    model.set_weights([params["kernel"], params["recurrent_kernel"], params["bias"]] + dense)
    return model, m, perm


def torch_forward(m, head, x, return_sequences, go_backwards):
    xt = torch.flip(x, [1]) if go_backwards else x
    y = m(xt)[0]
    y = y if return_sequences else y[:, -1]
    return y @ head[0] + head[1]


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, False), (True, True)])
def test_gradients_of_inputs_and_every_weight_match_torch(cell, return_sequences, go_backwards):
    """One op's backward against torch autograd (nn.RNN/LSTM/GRU, weights copied), through run_op."""
    m, perm, params = _ops.torch_rnn(cell, IN, U)
    x = np.random.default_rng(1).normal(size=(4, T, IN))
    tx = torch.tensor(x[:, ::-1].copy() if go_backwards else x, requires_grad=True)
    y = m(tx)[0]
    y = y if return_sequences else y[:, -1]
    g = np.random.default_rng(2).normal(size=y.shape)
    (y * torch.tensor(g)).sum().backward()
    out, dins, grads = _ops.run(
        cell,
        [x.reshape(4, -1)],
        int(np.prod(y.shape[1:])),
        params,
        dout=g.reshape(4, -1),
        **_ops.rnn_case(cell, int(return_sequences), int(go_backwards), T, IN, U)["args"],
    )
    testing.assert_close(out, y.detach().numpy().reshape(4, -1), 1e-5, "output")
    dx = tx.grad.numpy()[:, ::-1] if go_backwards else tx.grad.numpy()
    testing.assert_close(dins[0], dx.reshape(4, -1), 1e-5, "d input")
    testing.assert_close(grads["kernel"], m.weight_ih_l0.grad.numpy()[perm].T, 1e-5, "d kernel")
    testing.assert_close(grads["recurrent_kernel"], m.weight_hh_l0.grad.numpy()[perm].T, 1e-5, "d recurrent")
    bi, bh = m.bias_ih_l0.grad.numpy()[perm], m.bias_hh_l0.grad.numpy()[perm]
    testing.assert_close(grads["bias"], np.stack([bi, bh]) if cell == "gru" else bi, 1e-5, "d bias")


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, True)])
def test_fifty_training_steps_match_torch(cell, return_sequences, go_backwards):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, T, IN)).astype(np.float32)
    y = rng.normal(size=(8, T, 1) if return_sequences else (8, 1)).astype(np.float32)
    model, m, _ = rnn_model(cell, return_sequences, go_backwards)
    if cell != "gru":  # Keras has one bias where torch has two, each moved by the same gradient
        with torch.no_grad():
            m.bias_ih_l0 += m.bias_hh_l0
            m.bias_hh_l0.zero_()
        m.bias_hh_l0.requires_grad_(False)
    head = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in model.get_weights()[3:]]
    opt = torch.optim.SGD(list(m.parameters()) + head, lr=0.1)
    expected = []
    for _ in range(50):
        opt.zero_grad()
        loss = ((torch_forward(m, head, torch.tensor(x, dtype=torch.float64), return_sequences, go_backwards)
                 - torch.tensor(y, dtype=torch.float64)) ** 2).mean()  # fmt: skip
        loss.backward()
        opt.step()
        expected.append(loss.item())
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    got = [model.train_on_batch(x, y) for _ in range(50)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert expected[-1] < 0.95 * expected[0]  # the trajectory is a real descent, not a flat line


def keras_model(keras, cell, return_sequences, go_backwards, vocab=None):
    cls = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inp = keras.Input((T,) if vocab else (T, IN))
    h = keras.layers.Embedding(vocab, IN)(inp) if vocab else inp
    h = cls(U, return_sequences=return_sequences, go_backwards=go_backwards)(h)
    return keras.Model(inp, keras.layers.Dense(1)(h))


def ptc_model(cell, return_sequences, go_backwards, vocab=None):
    inp = L.Input((T,) if vocab else (T, IN))
    h = L.Embedding(vocab, IN)(inp) if vocab else inp
    h = CELLS[cell](U, return_sequences=return_sequences, go_backwards=go_backwards)(h)
    return Model(inp, L.Dense(1)(h))


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, True), (False, True)])
def test_predictions_and_gradients_match_keras(cell, return_sequences, go_backwards):
    """Embedding -> cell -> Dense against Keras 3.15 on torch, weights copied in Keras's order."""
    keras = testing.keras_torch()
    vocab = 11
    k_model = keras_model(keras, cell, return_sequences, go_backwards, vocab)
    model = ptc_model(cell, return_sequences, go_backwards, vocab)
    rng = np.random.default_rng(4)
    weights = [(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    ids = rng.integers(0, vocab, size=(7, T)).astype(np.float32)
    y = rng.normal(size=(7, T, 1) if return_sequences else (7, 1)).astype(np.float32)
    expected = k_model.predict(ids.astype(np.int64), verbose=0)
    testing.assert_close(model.predict(ids, verbose=0), expected, 1e-5, "predictions")
    # Keras's gradients of the mean squared error, by torch autograd through the Keras model.
    out = k_model(torch.tensor(ids.astype(np.int64)))
    loss = ((out - torch.tensor(y)) ** 2).mean()
    loss.backward()
    k_grads = [v.value.grad.numpy() for v in k_model.weights]
    # pytrainc's: one SGD step of rate 1 moves each weight by minus its gradient.
    model.compile(optimizer=optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(ids, y)
    got = [w0 - w1 for w0, w1 in zip(weights, model.get_weights())]
    for k, (g, e) in enumerate(zip(got, k_grads)):
        testing.assert_close_abs(g, e, 1e-5 * max(1.0, float(np.abs(e).max())))


def test_layer_normalization_matches_torch_and_keras():
    keras = testing.keras_torch()
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 4, 8)).astype(np.float32) * 3 + 1
    model = Sequential([L.Input((4, 8)), L.LayerNormalization(epsilon=1e-3), L.Dense(1)])
    weights = [rng.uniform(0.5, 2, 8), rng.normal(size=8), rng.normal(size=(8, 1)), rng.normal(size=1)]
    model.set_weights([w.astype(np.float32) for w in weights])
    k_model = keras.Sequential([keras.Input((4, 8)), keras.layers.LayerNormalization(), keras.layers.Dense(1)])
    k_model.set_weights(model.get_weights())
    testing.assert_close(model.predict(x, verbose=0), k_model.predict(x, verbose=0), 1e-5, "vs keras")
    # 50 SGD steps against torch's nn.LayerNorm (float64).
    y = rng.normal(size=(6, 4, 1)).astype(np.float32)
    ln = torch.nn.LayerNorm(8, eps=1e-3).double()
    with torch.no_grad():
        ln.weight[:], ln.bias[:] = torch.tensor(weights[0]), torch.tensor(weights[1])
    head = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights[2:]]
    opt = torch.optim.SGD(list(ln.parameters()) + head, lr=0.05)
    expected = []
    for _ in range(50):
        opt.zero_grad()
        loss = ((ln(torch.tensor(x, dtype=torch.float64)) @ head[0] + head[1] - torch.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        expected.append(loss.item())
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    got = [model.train_on_batch(x, y) for _ in range(50)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_embedding_matches_torch_and_sums_repeated_ids():
    rng = np.random.default_rng(6)
    emb = rng.normal(size=(10, 4)).astype(np.float32)
    model = Sequential([L.Input((5,)), L.Embedding(10, 4), L.Flatten(), L.Dense(1)])
    head = [rng.normal(size=(20, 1)).astype(np.float32), np.zeros(1, np.float32)]
    model.set_weights([emb] + head)
    ids = np.array([[1, 1, 1, 2, 9], [0, 3, 3, 9, 9]], np.float32)
    y = rng.normal(size=(2, 1)).astype(np.float32)
    t_emb = torch.nn.Embedding(10, 4).double()
    with torch.no_grad():
        t_emb.weight[:] = torch.tensor(emb)
    out = t_emb(torch.tensor(ids.astype(np.int64))).reshape(2, -1) @ torch.tensor(head[0], dtype=torch.float64)
    testing.assert_close(model.predict(ids, verbose=0), out.detach().numpy(), 1e-6, "forward")
    ((out - torch.tensor(y)) ** 2).mean().backward()
    model.compile(optimizer=optimizers.SGD(1.0), loss="mse")
    model.train_on_batch(ids, y)
    grad = emb - model.get_weights()[0]
    testing.assert_close_abs(grad, t_emb.weight.grad.numpy(), 1e-5)
    assert not grad[[4, 5, 6, 7, 8]].any()  # ids never seen get no gradient


def imdb_like(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 50, size=(n, T)).astype(np.float32), rng.integers(0, 2, size=(n, 1)).astype(np.float32)


def sentiment_model():
    testing.seed(0)
    return Sequential(
        [
            L.Input((T,)),
            L.Embedding(50, 8, mask_zero=True),
            L.LSTM(6, return_sequences=True),
            L.LayerNormalization(),
            L.GRU(4, go_backwards=True),
            L.Dense(3, activation="tanh"),
            L.Dense(1, activation="sigmoid"),
        ]
    )


def test_training_is_bitwise_reproducible():
    x, y = imdb_like()
    runs = []
    for _ in range(2):
        model = sentiment_model()
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append(model.get_weights())
    assert testing.same_arrays(*runs)


def test_config_round_trip_and_save_load(tmp_path):
    x, y = imdb_like()
    model = sentiment_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    clone = Sequential.from_config(model.get_config())
    assert [layer.get_config() | {"name": None} for layer in clone.layers] == [
        layer.get_config() | {"name": None} for layer in model.layers
    ]
    assert clone.layers[0].mask_zero and clone.layers[3].go_backwards and clone.layers[1].return_sequences
    clone.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    assert list(model.state_dict())[:4] == [
        "embedding.embeddings",
        "lstm.kernel",
        "lstm.recurrent_kernel",
        "lstm.bias",
    ] or all("." in k for k in model.state_dict())
    model.save(tmp_path / "m.ptc")
    restored = load_model(tmp_path / "m.ptc")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_defaults_and_weight_shapes_follow_keras():
    model = Sequential([L.Input((T, IN)), L.LSTM(U), L.Dense(1)])
    lstm = model.layers[0]
    assert [w.shape for w in lstm.weights] == [(IN, 4 * U), (U, 4 * U), (4 * U,)]
    np.testing.assert_array_equal(lstm.bias.numpy(), np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])
    gru = L.GRU(U)
    Sequential([L.Input((T, IN)), gru])
    assert [w.shape for w in gru.weights] == [(IN, 3 * U), (U, 3 * U), (2, 3 * U)]
    assert L.Embedding(7, 2).get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"
    with pytest.warns(UserWarning, match="input_length"):
        L.Embedding(7, 2, input_length=5)
    assert L.LSTM(3, unroll=True).unroll


@pytest.mark.parametrize(
    "bad", [np.nan, -1.0, 50.0, 2.5, np.inf], ids=["nan", "negative", "too-large", "fraction", "inf"]
)
def test_bad_ids_raise_a_value_error_naming_the_layer(bad):
    x, y = imdb_like(8)
    x[3, 2] = bad
    model = sentiment_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = model.get_weights()
    match = r"Layer 'embedding.*' \(Embedding\).*integer ids in \[0, 50\).*Received"
    if not np.isfinite(bad):  # refused for every model before it reaches the plan
        match = "x contains 1 NaN or infinite value"
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=match):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match=match):
        model.evaluate(x, y, verbose=0)
    assert testing.same_arrays(before, model.get_weights())  # the bad batch changed nothing
    x[3, 2] = 1.0
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # the plan is still usable


def test_bad_arguments_and_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match=r"LSTM expects input of shape \(batch, timesteps, features\)"):
        Sequential([L.Input((IN,)), L.LSTM(U)])
    with pytest.raises(ValueError, match="units"):
        L.GRU(0)
    with pytest.raises(ValueError, match="input_dim"):
        L.Embedding(0, 3)
    with pytest.raises(ValueError, match="at most 16777216"):
        L.Embedding(2**25, 3)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\). Received: dropout=1.0"):
        L.SimpleRNN(4, dropout=1.0)
    with pytest.raises(ValueError, match="recurrent_dropout must be a float"):
        L.GRU(4, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match="reset_after=True"):
        L.GRU(4, reset_after=False)
    with pytest.raises(ValueError, match="activation must be one of"):
        L.LSTM(4, activation="softmax")
    with pytest.raises(ValueError, match="constraints"):
        L.Embedding(4, 2, embeddings_constraint="non_neg")
    with pytest.raises(ValueError, match="axis=-1"):
        L.LayerNormalization(axis=1)
    with pytest.raises(ValueError, match="exceed what the kernels can index|overflow"):
        # 2**20 steps of 4 * 2**10 gates: more floats between a sequence's rows than sgemm's int can stride
        model = Sequential([L.Input((2**20, 1)), L.LSTM(2**10, recurrent_initializer="zeros"), L.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.predict(np.zeros((1, 2**20, 1), np.float32), verbose=0)


def test_weights_h5_files_move_both_ways_with_keras(tmp_path):
    """Keras 3 keeps a recurrent layer's weights in 'layers/<name>/cell/vars': both directions agree."""
    keras = testing.keras_torch()
    vocab = 11

    def k_build():
        inp = keras.Input((T,))
        h = keras.layers.Embedding(vocab, IN)(inp)
        h = keras.layers.LSTM(U, return_sequences=True)(h)
        h = keras.layers.LayerNormalization()(h)
        h = keras.layers.SimpleRNN(U, return_sequences=True)(h)
        return keras.Model(inp, keras.layers.Dense(1)(keras.layers.GRU(3)(h)))

    def p_build():
        inp = L.Input((T,))
        h = L.LSTM(U, return_sequences=True)(L.Embedding(vocab, IN)(inp))
        h = L.SimpleRNN(U, return_sequences=True)(L.LayerNormalization()(h))
        return Model(inp, L.Dense(1)(L.GRU(3)(h)))

    ids = np.random.default_rng(7).integers(0, vocab, size=(5, T)).astype(np.float32)
    k_model = k_build()
    k_model.save_weights(tmp_path / "k.weights.h5")
    model = p_build()
    model.load_weights(tmp_path / "k.weights.h5")
    expected = k_model.predict(ids.astype(np.int64), verbose=0)
    testing.assert_close_abs(model.predict(ids, verbose=0), expected, 1e-5)
    model.set_weights([w * 0.9 for w in model.get_weights()])
    model.save_weights(tmp_path / "p.weights.h5")
    k_back = k_build()
    k_back.load_weights(tmp_path / "p.weights.h5")
    testing.assert_close_abs(k_back.predict(ids.astype(np.int64), verbose=0), model.predict(ids, verbose=0), 1e-5)


def test_to_torch_computes_what_predict_computes():
    from pytrainc.interop import to_torch

    inp = L.Input((T,))
    h = L.LSTM(U, return_sequences=True, go_backwards=True)(L.Embedding(11, IN)(inp))
    h = L.SimpleRNN(U, return_sequences=True)(L.LayerNormalization()(h))
    model = Model(inp, L.Dense(1)(L.GRU(3)(h)))
    rng = np.random.default_rng(8)
    model.set_weights([(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()])
    ids = rng.integers(0, 11, size=(5, T)).astype(np.float32)
    with torch.no_grad():
        got = to_torch(model)(torch.from_numpy(ids)).numpy()
    testing.assert_close_abs(got, model.predict(ids, verbose=0), 1e-5)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU", "Embedding", "LayerNormalization"])
def test_signature_is_keras_3s(name):
    """Names, order and defaults as keras==3.15.1, so positional arguments land where Keras puts them."""
    import inspect

    keras = testing.keras_torch()
    skip = {"self", "kwargs", "lora_rank", "lora_alpha", "quantization_config"}  # Keras-only LoRA / quantization

    def params(cls):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values() if p.name not in skip]

    assert params(getattr(L, name)) == params(getattr(keras.layers, name))


def test_positional_arguments_reach_their_keras_parameter():
    assert L.LSTM(4, "relu").activation == "relu"
    assert L.GRU(4, "relu", "hard_sigmoid").recurrent_activation == "hard_sigmoid"
    assert L.SimpleRNN(4, "relu", False).use_bias is False


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_dropout_trains_reproducibly_and_is_off_in_predict(cell):
    """dropout= and recurrent_dropout= draw their masks in C from the layer's seeded generator
    (the masks themselves are checked against Keras's cell formulas in tests/csrc/test_ops.py)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, T, IN)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)

    def build(dropout, recurrent_dropout):
        testing.seed(0)
        layer = CELLS[cell](U, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=3)
        model = Sequential([L.Input((T, IN)), layer, L.Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
        return model

    runs = []
    for _ in range(2):
        model = build(0.3, 0.2)
        runs.append(model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"])
        runs.append(model.get_weights())
    assert runs[0] == runs[2] and testing.same_arrays(runs[1], runs[3])
    plain = build(0.0, 0.0)
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    assert model.evaluate(x, y, verbose=0) == plain.evaluate(x, y, verbose=0)
    before = plain.get_weights()
    dropped = build(0.3, 0.2)
    dropped.set_weights(before)
    assert dropped.train_on_batch(x, y) != plain.train_on_batch(x, y)  # the masks act in training
    config = model.layers[0].get_config()
    assert (config["dropout"], config["recurrent_dropout"], config["seed"]) == (0.3, 0.2, 3)
    assert CELLS[cell].from_config(config).recurrent_dropout == 0.2
