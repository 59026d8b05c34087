"""Layers with several outputs (issue #10): recurrent layers' `return_state=True` and `initial_state=`
(the encoder-decoder pattern of Keras's guides) and MultiHeadAttention's `return_attention_scores=True`,
against Keras 3 (torch backend) with the same weights; graph, summary and every saved form with
outputs of index > 0; clear errors for bad input.

Tolerances: Keras and pytrainc both compute in float32, with sums in another order, so outputs
agree to a few float32 ulps (1e-6 absolute here); training 5 SGD steps keeps losses within 1e-5
(a missing gradient through the initial state changes the encoder's weights not at all, and the
losses by 1e-3 or more).
"""

import json

import numpy as np
import pytest

import pytrainc
from pytrainc import layers as L
from pytrainc import testing
from pytrainc.models import Model, Sequential

keras = testing.keras_torch()

CELLS = ("LSTM", "GRU", "SimpleRNN")


def seq2seq(lib, cell, return_sequences, mask=False):
    """Keras's encoder-decoder: the encoder's final states start the decoder; two heads, the second on a state."""
    enc_in = lib.layers.Input((5, 3), name="enc")
    dec_in = lib.layers.Input((4,) if mask else (4, 2), name="dec")
    rnn = getattr(lib.layers, cell)
    states = rnn(6, return_state=True, name="encoder")(enc_in)[1:]
    seq = lib.layers.Embedding(7, 2, mask_zero=True, name="emb")(dec_in) if mask else dec_in
    dec = rnn(6, return_sequences=return_sequences, return_state=True, go_backwards=mask, name="decoder")(
        seq, initial_state=states
    )
    y = lib.layers.Dense(2, name="head")(dec[0])
    h = lib.layers.Dense(1, name="state_head")(dec[-1])
    return lib.models.Model([enc_in, dec_in], [y, h])


def copy_weights(src, dst):
    for layer in src.layers:
        if layer.weights:
            dst.get_layer(layer.name).set_weights(layer.get_weights())


def data(mask=False):
    rng = np.random.default_rng(0)
    xe = rng.normal(size=(8, 5, 3)).astype(np.float32)
    if mask:  # padded token ids, zeros masked (one sequence wholly masked)
        xd = rng.integers(1, 7, size=(8, 4)).astype(np.float32)
        xd[:, 3:] = 0
        xd[2, :] = 0
    else:
        xd = rng.normal(size=(8, 4, 2)).astype(np.float32)
    return xe, xd


def close(a, b, tol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=tol, rtol=0)


@pytest.mark.parametrize(
    "cell,return_sequences,mask",
    [("LSTM", False, False), ("LSTM", True, False), ("LSTM", False, True), ("GRU", True, False), ("GRU", False, True)]
    + [("SimpleRNN", True, False)],
)
def test_encoder_decoder_predicts_and_trains_as_keras(cell, return_sequences, mask):
    """With mask=True the decoder's input is padded token ids under Embedding(mask_zero=True): Keras 3
    does not hand a call with initial_state= its input's mask (Layer.__call__ fills `mask` for calls
    with one tensor argument), and neither does pytrainc. (Not with return_sequences: Keras's loss
    would then take the output's mask, which pytrainc's losses do not read.)"""
    km, pm = seq2seq(keras, cell, return_sequences, mask), seq2seq(pytrainc, cell, return_sequences, mask)
    copy_weights(km, pm)
    xe, xd = data(mask)
    ref = km.predict([xe, xd], verbose=0)
    close(ref, pm.predict([xe, xd]))
    rng = np.random.default_rng(1)
    y = [rng.normal(size=r.shape).astype(np.float32) for r in ref]
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    pm.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    enc_before = pm.get_layer("encoder").get_weights()
    for _ in range(5):
        k_loss = km.train_on_batch([xe, xd], y)[0]
        p_loss = pm.train_on_batch([xe, xd], y)[0]
        assert abs(k_loss - p_loss) < 1e-5
    # the encoder learns only through the decoder's initial state
    assert all(np.abs(a - b).max() > 1e-4 for a, b in zip(enc_before, pm.get_layer("encoder").get_weights()))
    close(km.get_layer("encoder").get_weights(), pm.get_layer("encoder").get_weights(), 1e-5)


def test_a_call_returns_keras_outputs_and_shapes():
    x = L.Input((5, 3))
    out, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x)
    assert (out.shape, h.shape, c.shape) == ((None, 5, 4), (None, 4), (None, 4))
    out, h = L.GRU(4, return_state=True)(x)
    assert (out.shape, h.shape) == ((None, 4), (None, 4))
    # Keras 2's form: a list [sequences, *initial states]
    out2 = L.SimpleRNN(4)([x, h])
    assert out2.shape == (None, 4)


def test_an_inference_encoder_outputs_its_states():
    """Keras's seq2seq inference model: Model(encoder_inputs, [h, c])."""
    km, pm = seq2seq(keras, "LSTM", False), seq2seq(pytrainc, "LSTM", False)
    copy_weights(km, pm)
    xe, _ = data()
    k_enc = keras.models.Model(km.inputs[0], km.get_layer("encoder").output[1:])
    layer = pm.get_layer("encoder")
    enc_in = pm.inputs[0]
    states = layer(enc_in)[1:]
    p_enc = Model(enc_in, states)
    assert p_enc.output_names == ["encoder_1", "encoder_2"]  # Keras names both "encoder"
    close(k_enc.predict(xe, verbose=0), p_enc.predict(xe))


def test_graph_config_json_and_files_keep_outputs_of_index_above_zero(tmp_path):
    pm = seq2seq(pytrainc, "LSTM", True)
    xe, xd = data()
    ref = pm.predict([xe, xd])
    config = pm.get_config()
    assert any(len(n) == 3 and n[2] == 2 for n in config["nodes"])  # the decoder's c
    text = pm.to_json()
    layers = {c["name"]: c for c in json.loads(text)["config"]["layers"]}
    call = layers["decoder"]["inbound_nodes"][0]
    assert [t["config"]["keras_history"] for t in call["kwargs"]["initial_state"]] == [
        ["encoder", 0, 1],
        ["encoder", 0, 2],
    ]
    assert json.loads(text)["config"]["output_layers"] == [["head", 0, 0], ["state_head", 0, 0]]
    assert layers["state_head"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["decoder", 0, 2]
    km = keras.models.model_from_json(text)
    copy_weights(pm, km)
    close(ref, km.predict([xe, xd], verbose=0))
    rebuilt = [
        Model.from_config(config),
        pytrainc.models.model_from_json(text),
        pytrainc.models.model_from_json(km.to_json()),  # Keras's own JSON
        pytrainc.models.clone_model(pm),
    ]
    for model in rebuilt:
        copy_weights(pm, model)
        close(ref, model.predict([xe, xd]), 0)
    for name in ("m.keras", "m.h5"):
        pm.save(tmp_path / name)
        close(ref, pytrainc.models.load_model(tmp_path / name).predict([xe, xd]), 0)
    close(ref, keras.models.load_model(tmp_path / "m.keras").predict([xe, xd], verbose=0))
    inputs = [L.Input((5, 3)), L.Input((4, 2))]
    outer = Model(inputs, pm(inputs))  # a model with states used as a layer
    close(ref, outer.predict([xe, xd]), 0)


def test_summary_rows_are_keras():
    """One row per layer call, its outputs' shapes listed and its inputs as layer[node][tensor index]."""
    from pytrainc import summary_utils

    rows, _ = summary_utils._rows(seq2seq(pytrainc, "LSTM", False))
    rows = {row[0]: row for row in rows}
    assert set(rows) == {"enc (InputLayer)", "dec (InputLayer)", "encoder (LSTM)", "decoder (LSTM)"} | {
        "head (Dense)",
        "state_head (Dense)",
    }
    assert rows["decoder (LSTM)"][1] == "[(None, 6), (None, 6), (None, 6)]"  # as Keras's summary
    assert rows["decoder (LSTM)"][3] == "dec[0][0], encoder[0][1], encoder[0][2]"
    assert rows["state_head (Dense)"][3] == "decoder[0][2]"


def test_bad_initial_states_and_configs_are_refused():
    x = L.Input((5, 3))
    h = L.Input((4,))
    with pytest.raises(ValueError, match=r"initial_state as a list of 2 KerasTensor\(s\) \[h, c\]"):
        L.LSTM(4)(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"must have shape \(None, 3\). Received: shape=\(None, 4\)"):
        L.GRU(3)(x, initial_state=h)
    with pytest.raises(ValueError, match=r"takes a mask of shape \(None, 5\).*Received: mask of shape \(None, 4\)"):
        L.GRU(4)(x, mask=h)
    with pytest.raises(ValueError, match="single output tensor.*'lstm_states' with 3 outputs"):
        Sequential([L.Input((5, 3)), L.LSTM(4, return_state=True, name="lstm_states"), L.Dense(1)])
    config = seq2seq(pytrainc, "GRU", False).get_config()
    bad = [n[:2] + [5] if len(n) == 3 else n for n in config["nodes"]]
    with pytest.raises(ValueError, match="has no such output"):
        Model.from_config({**config, "nodes": bad})


def attention(lib, causal=False, mask=False):
    q, v = lib.layers.Input((5, 8), name="q"), lib.layers.Input((3, 8), name="v")
    inputs, kwargs = [q, v], {}
    if mask:
        kwargs["attention_mask"] = lib.layers.Input((5, 3), name="m")
        inputs.append(kwargs["attention_mask"])
    mha = lib.layers.MultiHeadAttention(2, 4, name="mha")
    out, scores = mha(q, v, return_attention_scores=True, use_causal_mask=causal, **kwargs)
    return lib.models.Model(inputs, [out, scores])


@pytest.mark.parametrize("causal,mask", [(False, False), (True, False), (False, True)])
def test_attention_scores_are_keras(causal, mask):
    km, pm = attention(keras, causal, mask), attention(pytrainc, causal, mask)
    copy_weights(km, pm)
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(4, 5, 8)), rng.normal(size=(4, 3, 8))] + ([rng.random((4, 5, 3)) > 0.3] if mask else [])
    x = [a.astype(np.float32) for a in x]
    ref = km.predict(x, verbose=0)
    got = pm.predict(x)
    assert got[1].shape == (4, 2, 5, 3)
    close(ref, got)
    inputs = [L.Input(t.shape[1:]) for t in pm.inputs]
    close(got, Model(inputs, pm(inputs)).predict(x), 0)  # called as a layer
    if causal or mask:  # Keras's loss reads the mask it attaches to the scores (of the wrong shape)
        return
    y = [rng.normal(size=r.shape).astype(np.float32) for r in ref]
    km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    pm.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    for _ in range(5):
        assert abs(km.train_on_batch(x, y)[0] - pm.train_on_batch(x, y)[0]) < 1e-5


def test_layer_input_and_output_are_the_first_calls_tensors_as_keras():
    x = L.Input((5, 3), name="x")
    h0, c0 = L.Input((4,)), L.Input((4,))
    lstm = L.LSTM(4, return_state=True)
    outs = lstm(x, initial_state=[h0, c0])
    assert lstm.input == [x, h0, c0] and lstm.output == outs and len(outs) == 3
    dense = L.Dense(2)
    y = dense(outs[0])
    dense(outs[1])  # a second call: Keras's input/output stay the first call's
    assert dense.input is outs[0] and dense.output is y
    inp = x._layer
    assert inp.input is x and inp.output is x  # an InputLayer's tensor is both
    with pytest.raises(AttributeError, match="has never been called and thus has no defined output"):
        L.Dense(3).output
    # Keras's feature extraction: a model to an intermediate layer's output, sharing its weights
    model = Sequential([L.Input((6,)), L.Dense(5, name="mid"), L.Dense(1)])
    features = Model(model.inputs, model.get_layer("mid").output)
    data = np.ones((2, 6), np.float32)
    w = model.get_layer("mid").get_weights()
    close([features.predict(data)], [data @ w[0] + w[1]], 1e-6)
