"""to_torch of layers with several outputs (issue #10): SimpleRNN, LSTM, GRU and Bidirectional with
return_state=True, alone and as Keras's encoder-decoder (the encoder's states start the decoder),
against pytrainc's predict. The other layers with several outputs (attention with scores) have no
torch module at all and are refused by name. ONNX export of the same layers is tested in
test_onnx_sequence.py.

Tolerance 1e-5 absolute: float32 recurrences in two implementations (pytrainc's C kernels, torch's)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pytrainc import layers as L  # noqa: E402
from pytrainc import testing  # noqa: E402
from pytrainc.interop import to_torch  # noqa: E402
from pytrainc.models import Model  # noqa: E402

CELLS = ("SimpleRNN", "LSTM", "GRU")


def randomized(model, seed=3):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()])
    return model


def run(module, *xs):
    with torch.no_grad():
        out = module(*[torch.from_numpy(x) for x in xs])
    return [o.numpy() for o in out] if isinstance(out, list) else [out.numpy()]


def same_as_predict(model, *xs):
    expected = model.predict(list(xs) if len(xs) > 1 else xs[0], verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got = run(to_torch(model), *xs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        testing.assert_close_abs(g, e, 1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, False), (True, True)])
def test_return_state_outputs_are_predicts(cell, return_sequences, go_backwards):
    inp = L.Input((5, 3))
    outs = getattr(L, cell)(4, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)(inp)
    model = randomized(Model(inp, outs))
    x = np.random.default_rng(0).normal(size=(6, 5, 3)).astype(np.float32)
    same_as_predict(model, x)


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_decoder_with_initial_states_and_heads_on_states(cell):
    enc_in, dec_in = L.Input((5, 3)), L.Input((4, 2))
    rnn = getattr(L, cell)
    states = rnn(6, return_state=True, name="encoder")(enc_in)[1:]
    dec = rnn(6, return_sequences=True, return_state=True, name="decoder")(dec_in, initial_state=states)
    model = randomized(Model([enc_in, dec_in], [L.Dense(2)(dec[0]), L.Dense(1)(dec[-1])]))
    rng = np.random.default_rng(1)
    xe, xd = rng.normal(size=(7, 5, 3)).astype(np.float32), rng.normal(size=(7, 4, 2)).astype(np.float32)
    same_as_predict(model, xe, xd)


def test_the_exported_state_is_the_last_step_of_the_sequence():
    """The LSTM's h state equals its last output (Keras's rule), in the exported module too."""
    inp = L.Input((5, 3))
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(inp)
    model = randomized(Model(inp, [seq, h, c]))
    got = run(to_torch(model), np.random.default_rng(2).normal(size=(3, 5, 3)).astype(np.float32))
    np.testing.assert_allclose(got[0][:, -1], got[1], rtol=1e-6)
    assert not np.allclose(got[1], got[2])


def test_a_masked_recurrence_is_refused_not_exported_wrong():
    inp = L.Input((5,))
    model = Model(inp, L.Dense(1)(L.LSTM(4)(L.Embedding(9, 3, mask_zero=True)(inp))))
    with pytest.raises(ValueError, match="to_torch does not carry Keras masks: layer 'lstm.*' \\(LSTM\\)"):
        to_torch(model)
    pooled = Model(inp, L.GlobalAveragePooling1D()(L.Dense(2)(L.Embedding(9, 3, mask_zero=True)(inp))))
    with pytest.raises(ValueError, match="GlobalAveragePooling1D"):
        to_torch(pooled)
    # without a mask reader the mask changes nothing: the model converts
    plain = randomized(Model(inp, L.Dense(2)(L.Embedding(9, 3, mask_zero=True)(inp))))
    same_as_predict(plain, np.array([[1, 2, 0, 0, 0], [3, 0, 4, 5, 0]], np.float32))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("cell,return_sequences", [("LSTM", True), ("GRU", False), ("SimpleRNN", True)])
def test_bidirectional_with_and_without_states_is_predict(cell, return_sequences, merge_mode):
    x = np.random.default_rng(4).normal(size=(5, 6, 3)).astype(np.float32)
    for return_state in (False, True):
        inp = L.Input((6, 3))
        rnn = getattr(L, cell)(4, return_sequences=return_sequences, return_state=return_state)
        outs = L.Bidirectional(rnn, merge_mode=merge_mode)(inp)
        same_as_predict(randomized(Model(inp, outs)), x)


def test_other_layers_with_several_outputs_are_refused_by_name():
    q = L.Input((5, 4))
    outs = L.MultiHeadAttention(2, 3, name="mha")(q, q, return_attention_scores=True)
    with pytest.raises(ValueError, match="'mha' \\(MultiHeadAttention\\) with several outputs"):
        to_torch(Model(q, list(outs)))
    inp = L.Input((5,))
    masked = L.Bidirectional(L.GRU(4), name="bi")(L.Embedding(9, 3, mask_zero=True)(inp))
    with pytest.raises(ValueError, match="layer 'bi' \\(Bidirectional\\) skips"):
        to_torch(Model(inp, masked))


def test_variable_length_states_are_refused_with_the_reason():
    inp = L.Input((None, 3))
    outs = L.GRU(4, return_sequences=True, return_state=True, name="var")(inp)
    with pytest.raises(ValueError, match="'var' \\(GRU\\) with several outputs on variable-length"):
        to_torch(Model(inp, outs))
