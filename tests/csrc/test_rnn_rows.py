"""The recurrent ops' sample split: at 2 threads a batch's sequences run in two parts of rows,
each its own recurrence (csrc/rnn.c rnn_steps); the results match the naive reference and
repeat bit for bit."""

import contextlib

import numpy as np
import pytest

import pytrainc
from pytrainc import _C


@contextlib.contextmanager
def _threads(n):
    before = _C.blas_info()[1]
    pytrainc.set_num_threads(n)
    try:
        yield
    finally:
        pytrainc.set_num_threads(before)


@pytest.fixture
def two_threads():
    with _threads(2):
        yield


def _case(cell, seqs, r):
    N, T, IN, U = 20, 10, 3, 16  # 20 rows: parts of 16 and 4 at grain 8 (work above the pool's threshold)
    g = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell] * U
    x, k, rk = (
        r.normal(scale=c, size=s).astype(np.float32) for c, s in ((1, (N, T, IN)), (0.5, (IN, g)), (0.25, (U, g)))
    )
    b = r.normal(size=(2, g) if cell == "gru" else g).astype(np.float32)
    dout = r.normal(size=(N, T, U) if seqs else (N, U)).astype(np.float32)
    mask = (r.uniform(size=(N, T)) > 0.3).astype(np.float32)
    return x, k, rk, b, dout, mask


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("seqs,back", [(0, 0), (1, 0), (1, 1)])
def test_split_rows_match_the_reference_and_repeat(two_threads, cell, seqs, back):
    x, k, rk, b, dout, mask = _case(cell, seqs, np.random.default_rng(3))
    acts = _C.ACTIVATIONS["tanh"], _C.ACTIVATIONS["sigmoid"]
    for m in (None, mask):
        fast = _C.rnn_run(cell, x, k, rk, b, dout, *acts, back, seqs, False, m)
        again = _C.rnn_run(cell, x, k, rk, b, dout, *acts, back, seqs, False, m)
        ref = _C.rnn_run(cell, x, k, rk, b, dout, *acts, back, seqs, True, m)
        for name, got, same, want in zip(("out", "dinp", "dkernel", "drkernel", "dbias"), fast, again, ref):
            np.testing.assert_array_equal(got, same, err_msg=f"{name} repeats, mask {m is not None}")
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name}, mask {m is not None}")


def test_split_rows_agree_with_one_thread(two_threads):
    x, k, rk, b, dout, mask = _case("lstm", 0, np.random.default_rng(4))
    acts = _C.ACTIVATIONS["tanh"], _C.ACTIVATIONS["sigmoid"]
    two = _C.rnn_run("lstm", x, k, rk, b, dout, *acts, 0, 0, False, mask)
    pytrainc.set_num_threads(1)
    one = _C.rnn_run("lstm", x, k, rk, b, dout, *acts, 0, 0, False, mask)
    for got, want in zip(two, one):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _encoder_decoder_run(cell):
    from pytrainc import layers

    pytrainc.utils.set_random_seed(1)
    enc_in, dec_in = pytrainc.Input((6, 3)), pytrainc.Input((5, 2))
    rnn = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}[cell]
    _, *states = rnn(16, return_state=True)(enc_in)
    seq = rnn(16, return_sequences=True)(dec_in, initial_state=states)
    model = pytrainc.Model([enc_in, dec_in], layers.Dense(1)(seq))
    model.compile(optimizer="sgd", loss="mse")
    r = np.random.default_rng(2)
    x = [r.normal(size=(40, 6, 3)), r.normal(size=(40, 5, 2))]  # 40 rows: split at 2 threads
    model.fit(x, r.normal(size=(40, 5, 1)), batch_size=40, epochs=3, shuffle=False, verbose=0)
    return model.predict(x, verbose=0), model.get_weights()


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_initial_states_in_split_rows_agree_with_one_thread_and_repeat(two_threads, cell):
    pred2, w2 = _encoder_decoder_run(cell)
    again, w2b = _encoder_decoder_run(cell)
    np.testing.assert_array_equal(pred2, again)
    pytrainc.set_num_threads(1)
    pred1, w1 = _encoder_decoder_run(cell)
    np.testing.assert_allclose(pred2, pred1, rtol=1e-4, atol=1e-5)
    for a, b, c in zip(w2, w2b, w1):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


@pytest.fixture
def one_thread():
    with _threads(1):
        yield


# The steps' products on the packed recurrent kernel (csrc/rnn_gemm.c), at one thread: gate
# columns that end in a partial panel of 16, row counts that end in a partial tile of 6, and
# (U = 520) a backward product whose K = 4U is past the rows' stack copy.
@pytest.mark.parametrize(
    "cell,N,T,IN,U",
    [(c, *shape) for c in ("simple_rnn", "lstm", "gru") for shape in ((13, 7, 3, 5), (8, 4, 2, 21))]
    + [("lstm", 3, 3, 2, 520)],
)
def test_packed_step_products_match_the_reference_and_repeat(one_thread, cell, N, T, IN, U):
    r = np.random.default_rng(5)
    g = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell] * U
    x, k, rk = (
        r.normal(scale=c, size=s).astype(np.float32) for c, s in ((1, (N, T, IN)), (0.5, (IN, g)), (0.1, (U, g)))
    )
    b = r.normal(size=(2, g) if cell == "gru" else g).astype(np.float32)
    acts = _C.ACTIVATIONS["tanh"], _C.ACTIVATIONS["sigmoid"]
    for seqs in (0, 1):
        dout = r.normal(size=(N, T, U) if seqs else (N, U)).astype(np.float32)
        fast = _C.rnn_run(cell, x, k, rk, b, dout, *acts, 0, seqs, False, None)
        again = _C.rnn_run(cell, x, k, rk, b, dout, *acts, 0, seqs, False, None)
        ref = _C.rnn_run(cell, x, k, rk, b, dout, *acts, 0, seqs, True, None)
        for name, got, same, want in zip(("out", "dinp", "dkernel", "drkernel", "dbias"), fast, again, ref):
            np.testing.assert_array_equal(got, same, err_msg=f"{name} repeats")
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
