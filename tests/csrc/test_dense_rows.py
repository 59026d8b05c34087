"""The few-rows dense kernel (csrc/dense.c, a predict of 1-3 samples): it reads the weight in
place instead of letting sgemm pack it, and must give sgemm's bits. It sums K in OpenBLAS's
level-3 blocks (measured once at load: `_C.dense_rows_blocking()`), each with FMA from zero in k
order; it stays off when sgemm's order was not found. `_C.dense_forward(..., 2)` is the sgemm path."""

import numpy as np
import pytest

import pytrainc
from pytrainc import _C
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential
from pytrainc.testing import f32, rng


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    before = pytrainc.blas_info()["num_threads"]
    pytrainc.set_num_threads(request.param)
    yield request.param
    pytrainc.set_num_threads(before)


def _shapes(q):
    """(N, IN, OUT): K inside one block, on and around every kind of block boundary for the
    measured GEMM_Q (q, 2q, the halved remainder), K under and off multiples of 8 and 16, OUT
    under, at and past the kernel's 32 columns; and random ones."""
    q = q or 320
    ks = [1, 5, 7, 8, 9, 15, 16, 17, 33, q - 1, q, q + 1, q + 9, 2 * q - 1, 2 * q, 2 * q + 1, 3 * q + 7, 5 * q + 17]
    out = [(1 + i % 3, k, (3, 31, 32, 33, 70, 257)[i % 6]) for i, k in enumerate(ks)]
    r = rng(7)
    out += [(int(r.integers(1, 4)), int(r.integers(1, 6 * q)), int(r.integers(1, 300))) for _ in range(40)]
    return out


def test_the_blocking_was_measured():
    q, u = _C.dense_rows_blocking()
    assert (q, u) == (0, 0) or (q > 0 and u > 0)


@pytest.mark.parametrize("use_bias", [True, False])
def test_few_rows_are_sgemms_bits(threads, use_bias):
    r = rng(threads)
    for N, IN, OUT in _shapes(_C.dense_rows_blocking()[0]):
        x = f32(r.standard_normal((N, IN)))
        w = f32(r.standard_normal((IN, OUT)) / np.sqrt(IN))
        b = f32(r.standard_normal(OUT)) if use_bias else None
        np.testing.assert_array_equal(_C.dense_forward(x, w, b, False), _C.dense_forward(x, w, b, 2), f"{(N, IN, OUT)}")


def test_predict_of_few_rows_is_the_sgemm_forward():
    model = Sequential([Input((700,)), Dense(90, activation="relu"), Dense(5)])
    x = f32(rng(3).standard_normal((3, 700)))
    k1, b1, k2, b2 = model.get_weights()
    want = _C.dense_forward(np.maximum(_C.dense_forward(x, k1, b1, 2), 0), k2, b2, 2)
    for b in (1, 2, 3):
        np.testing.assert_array_equal(model.predict(x, batch_size=b, verbose=0), want)
