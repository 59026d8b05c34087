"""`LSTM(x, mask=m)` (and GRU, SimpleRNN, Bidirectional) in a functional model, as Keras 3 takes
an explicit mask tensor in the functional API: the mask becomes an input of the call's node
(Keras's `inbound_nodes` kwargs "mask"). Predictions, training, saving both ways with Keras
3.15.1 (torch backend), get_config/from_config, summary and a model called as a layer."""

import json

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
KINDS = ["lstm", "gru_sequences", "simple_rnn", "bidirectional", "lstm_state", "bidirectional_state", "pooled"]


def build(lib, kind):
    inp, mask = lib.Input((5, 4), name="steps"), lib.Input((5,), dtype="bool", name="step_mask")
    L = lib.layers
    if kind == "lstm":
        out = L.LSTM(3)(inp, mask=mask)
    elif kind == "gru_sequences":
        out = L.Dense(2)(L.GRU(3, return_sequences=True)(inp, mask=mask))
    elif kind == "simple_rnn":
        out = L.SimpleRNN(3, go_backwards=True)(inp, mask=mask)
    elif kind == "bidirectional":
        out = L.Bidirectional(L.LSTM(2, return_sequences=True))(inp, mask=mask)
    elif kind == "pooled":  # the sequence output carries the mask to the pooling after it
        out = L.GlobalAveragePooling1D()(L.LSTM(3, return_sequences=True)(inp, mask=mask))
    elif kind == "lstm_state":
        out = L.Concatenate()(L.LSTM(3, return_state=True)(inp, mask=mask)[1:])
    else:
        out = L.Concatenate()(L.Bidirectional(L.GRU(2, return_state=True))(inp, mask=mask))
    return lib.Model([inp, mask], out)


def data(n=8, seed=0):
    r = testing.rng(seed)
    x = testing.f32(r.standard_normal((n, 5, 4)))
    mask = r.uniform(size=(n, 5)) > 0.35
    mask[:, 0] = True
    mask[0] = [True, False, True, False, False]  # a gap and trailing masked steps
    return x, mask


def pair(kind):
    m = testing.randomize(build(pytrainc, kind), 3)
    k = build(keras, kind)
    k.set_weights(m.get_weights())
    return m, k


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_predictions_and_training_equal_keras(kind):
    m, k = pair(kind)
    x, mask = data()
    close(m.predict([x, mask], verbose=0), k.predict([x, mask], verbose=0))
    y = testing.f32(testing.rng(1).standard_normal((8,) + tuple(m.output_shape[1:])))
    m.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    fit = {"batch_size": 4, "epochs": 3, "shuffle": False, "verbose": 0}
    close(m.fit([x, mask], y, **fit).history["loss"], k.fit([x, mask], y, **fit).history["loss"])
    close(m.evaluate([x, mask], y, verbose=0), k.evaluate([x, mask], y, verbose=0))
    close(m.predict([x, mask], verbose=0), k.predict([x, mask], verbose=0))


def test_masked_steps_are_skipped_as_with_masking():
    x, mask = data()
    m = testing.randomize(build(pytrainc, "lstm"), 2)
    inp = pytrainc.Input((5, 4))
    masking = pytrainc.Model(inp, pytrainc.layers.LSTM(3)(pytrainc.layers.Masking(0.0)(inp)))
    masking.set_weights(m.get_weights())
    want = masking.predict(x * mask[..., None], verbose=0)
    np.testing.assert_array_equal(m.predict([x, mask], verbose=0), want)
    changed = x.copy()
    changed[~mask] = 100.0  # what a masked step holds does not matter
    np.testing.assert_array_equal(m.predict([changed, mask], verbose=0), want)


@pytest.mark.parametrize("kind", KINDS)
def test_keras_files_load_both_ways(kind, tmp_path):
    x, mask = data(seed=4)
    k = build(keras, kind)
    k.save(tmp_path / "k.keras")
    ours = pytrainc.models.load_model(tmp_path / "k.keras")
    close(ours.predict([x, mask], verbose=0), k.predict([x, mask], verbose=0))
    m = testing.randomize(build(pytrainc, kind), 5)
    m.save(tmp_path / "m.keras")
    theirs = keras.models.load_model(tmp_path / "m.keras")
    close(theirs.predict([x, mask], verbose=0), m.predict([x, mask], verbose=0))


def test_the_keras_config_names_the_mask_as_keras_does(tmp_path):
    from pytrainc.saving import keras_config

    m, k = pair("lstm")
    m.layers[2].name = k.layers[2].name
    ours = keras_config.model_to_keras(m)[0]["config"]["layers"][2]["inbound_nodes"]
    theirs = json.loads(json.dumps(k.get_config()["layers"][2]["inbound_nodes"]))
    assert ours == theirs


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trips_and_files(kind, tmp_path):
    m = testing.randomize(build(pytrainc, kind), 6)
    x, mask = data(seed=2)
    want = m.predict([x, mask], verbose=0)
    config = m.get_config()
    assert any(len(node) == 3 and node[2] == "mask" for node in config["nodes"])
    again = pytrainc.Model.from_config(config)
    again.set_weights(m.get_weights())
    np.testing.assert_array_equal(again.predict([x, mask], verbose=0), want)
    m.save(tmp_path / "m.ptc")
    np.testing.assert_array_equal(pytrainc.models.load_model(tmp_path / "m.ptc").predict([x, mask], verbose=0), want)
    inp, mk = pytrainc.Input((5, 4)), pytrainc.Input((5,), dtype="bool")
    outer = pytrainc.Model([inp, mk], m([inp, mk]))  # the model called as a layer
    np.testing.assert_array_equal(outer.predict([x, mask], verbose=0), want)


def test_summary_connects_the_mask_as_keras(capsys):
    m, k = pair("lstm")
    m.summary()
    ours = capsys.readouterr().out
    k.summary()
    theirs = capsys.readouterr().out
    rows = [line for line in ours.splitlines() if "step_mask[0]" in line]
    assert len(rows) == 1 and rows == [line for line in theirs.splitlines() if "step_mask[0]" in line]


def test_a_bad_mask_is_refused_with_what_was_expected():
    inp = pytrainc.Input((5, 4))
    with pytest.raises(ValueError, match=r"takes a mask of shape \(None, 5\).*Received: mask of shape \(None, 4\)"):
        pytrainc.layers.LSTM(3)(inp, mask=pytrainc.Input((4,)))
    with pytest.raises(ValueError, match="mask= or initial_state=, not both"):
        pytrainc.layers.LSTM(3)(inp, mask=pytrainc.Input((5,)), initial_state=[pytrainc.Input((3,))] * 2)


def test_a_mask_computed_in_the_graph_equals_keras():
    def build_computed(lib):
        inp = lib.Input((5, 4))
        mask = lib.layers.Lambda(lambda t: lib.ops.not_equal(lib.ops.sum(t, axis=-1), 0.0))(inp)
        return lib.Model(inp, lib.layers.GRU(3)(inp, mask=mask))

    m = testing.randomize(build_computed(pytrainc), 7)
    k = build_computed(keras)
    k.set_weights(m.get_weights())
    x, mask = data(seed=5)
    x = x * mask[..., None]
    close(m.predict(x, verbose=0), k.predict(x, verbose=0))
    y = testing.f32(testing.rng(2).standard_normal((8, 3)))
    m.compile(optimizer=pytrainc.optimizers.SGD(0.1), loss="mse")
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    fit = {"batch_size": 4, "epochs": 3, "shuffle": False, "verbose": 0}
    close(m.fit(x, y, **fit).history["loss"], k.fit(x, y, **fit).history["loss"])
