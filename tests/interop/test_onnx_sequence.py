"""ONNX export of the sequence layers (pytrainc/_onnx_sequence.py): Embedding, SimpleRNN, LSTM, GRU,
Bidirectional and LayerNormalization, run with onnxruntime, whose RNN/LSTM/GRU kernels are an
implementation of the recurrences no one here wrote.

Every case compares onnxruntime's outputs with `model.predict` on weights moved off their
initial values, for several batch sizes. Tolerance 1e-5 absolute: float32 recurrences over 7
steps in two implementations (the differences seen are 1e-7 to 4e-7)."""

import functools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import pytrainc  # noqa: E402
from pytrainc import _onnx_sequence  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc import testing  # noqa: E402
from pytrainc.layers import rnn  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402

close = functools.partial(testing.assert_close_abs, atol=1e-5)
STEPS, FEATURES = 7, 5


def run(path, xs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs)})


def shaken(model, seed=0):
    """The model with every weight moved by N(0, 0.3): a zero bias or an identity-like start would
    hide a gate order or a bias half exported wrong."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in model.get_weights()])
    return model


def check(tmp_path, model, make_inputs, batches=(1, 4)):
    proto = pytrainc.onnx.export(model, tmp_path / "m.onnx")
    onnx.checker.check_model(proto)
    for n in batches:  # the batch dimension is dynamic
        xs = make_inputs(n)
        ref = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        ref = ref if isinstance(ref, list) else [ref]
        got = run(tmp_path / "m.onnx", xs)
        assert len(got) == len(ref)
        for a, b in zip(got, ref):
            close(a, b)


def sequences(n, steps=STEPS, s=0):
    return [testing.data(n, (steps, FEATURES), s=s + n)]


CELL_CASES = [
    {},
    {"return_sequences": True},
    {"go_backwards": True},
    {"go_backwards": True, "return_sequences": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu"},
    {"activation": "linear"},
    {"activation": "hard_sigmoid"},
]


@pytest.mark.parametrize("kwargs", CELL_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU], ids=lambda c: c.__name__)
def test_recurrent_layer_predicts_as_pytrainc(tmp_path, cls, kwargs):
    inp = L.Input((STEPS, FEATURES))
    check(tmp_path, shaken(Model(inp, cls(6, **kwargs)(inp))), sequences)


@pytest.mark.parametrize("cls", [L.LSTM, L.GRU], ids=lambda c: c.__name__)
def test_recurrent_activation_hard_sigmoid_takes_keras_constants(tmp_path, cls):
    # Keras 3's hard_sigmoid is relu6(x + 3) / 6: ONNX's HardSigmoid with alpha 1/6, beta 0.5
    # (its own defaults, 0.2 and 0.5, are Keras 2's and would give other values)
    inp = L.Input((STEPS, FEATURES))
    model = shaken(Model(inp, cls(6, recurrent_activation="hard_sigmoid", return_sequences=True)(inp)))
    check(tmp_path, model, sequences)


def test_every_cell_activation_has_an_onnx_form():
    assert set(rnn._CELL_ACTIVATIONS) == set(_onnx_sequence._ACTIVATIONS)


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU], ids=lambda c: c.__name__)
def test_return_state_outputs_are_keras_order(tmp_path, cls):
    inp = L.Input((STEPS, FEATURES))
    outs = cls(6, return_sequences=True, return_state=True)(inp)
    model = shaken(Model(inp, outs))
    check(tmp_path, model, sequences)
    assert len(run(tmp_path / "m.onnx", sequences(2))) == (3 if cls is L.LSTM else 2)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_merge_modes(tmp_path, merge_mode, return_sequences):
    inp = L.Input((STEPS, FEATURES))
    layer = L.Bidirectional(L.LSTM(6, return_sequences=return_sequences), merge_mode=merge_mode)
    check(tmp_path, shaken(Model(inp, layer(inp))), sequences)


def test_bidirectional_with_states_and_a_given_backward_layer(tmp_path):
    inp = L.Input((STEPS, FEATURES))
    backward = L.GRU(6, go_backwards=True, return_sequences=True, return_state=True, activation="relu")
    layer = L.Bidirectional(L.GRU(6, return_sequences=True, return_state=True), backward_layer=backward)
    check(tmp_path, shaken(Model(inp, layer(inp))), sequences)


def test_encoder_decoder_with_initial_state(tmp_path):
    enc_in, dec_in = L.Input((STEPS, FEATURES)), L.Input((3, 4))
    _, h, c = L.LSTM(6, return_state=True)(enc_in)
    y = L.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    model = shaken(Model([enc_in, dec_in], L.Dense(2)(y)))
    check(tmp_path, model, lambda n: [sequences(n)[0], testing.data(n, (3, 4), s=99)])


def test_trained_text_classifier(tmp_path):
    # Issue #11's IMDB-style model: word ids (float32, as pytrainc and Keras take them) - Embedding -
    # LSTM - Dense, after training
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 50, size=(64, 9)).astype(np.float32)
    labels = rng.integers(0, 2, size=(64, 1)).astype(np.float32)
    model = Sequential([L.Input((9,)), L.Embedding(50, 8), L.Bidirectional(L.GRU(5)), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(ids, labels, epochs=2, batch_size=16, verbose=0)
    check(tmp_path, model, lambda n: [ids[:n]])


def test_variable_length_sequences(tmp_path):
    inp = L.Input((None, FEATURES))
    model = shaken(Model(inp, L.Dense(2)(L.GRU(6, return_sequences=True)(L.LayerNormalization()(inp)))))
    proto = pytrainc.onnx.export(model, tmp_path / "m.onnx")
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == "batch" and dims[2] == FEATURES
    for steps in (3, 11):
        x = sequences(2, steps)[0]
        close(run(tmp_path / "m.onnx", [x])[0], model.predict(x, verbose=0))


@pytest.mark.parametrize("kwargs", [{}, {"center": False}, {"scale": False, "epsilon": 0.1}])
def test_layer_normalization(tmp_path, kwargs):
    model = shaken(Sequential([L.Input((STEPS, FEATURES)), L.LayerNormalization(**kwargs), L.Dense(3)]))
    check(tmp_path, model, sequences)


@pytest.mark.parametrize(
    "reader",
    [
        lambda: L.LSTM(4, name="reads"),
        lambda: L.Bidirectional(L.GRU(4), name="reads"),
        lambda: L.GlobalAveragePooling1D(name="reads"),
    ],
    ids=["LSTM", "Bidirectional", "GlobalAveragePooling1D"],
)
def test_a_layer_reading_a_mask_is_refused_by_name(tmp_path, reader):
    model = Sequential([L.Input((9,)), L.Embedding(50, 8, mask_zero=True), reader()])
    with pytest.raises(ValueError, match=r"does not carry Keras masks: layer 'reads'"):
        pytrainc.onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_mask_no_layer_reads_exports(tmp_path):
    # Flatten drops the mask (it does not support masking), so the Dense after it sees every step,
    # as in Keras
    ids = np.random.default_rng(1).integers(0, 50, size=(4, 9)).astype(np.float32)
    model = shaken(Sequential([L.Input((9,)), L.Embedding(50, 8, mask_zero=True), L.Flatten(), L.Dense(2)]))
    check(tmp_path, model, lambda n: [ids[:n]])
