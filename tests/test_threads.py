"""pytrainc's thread pool (csrc/threads.c): both cores for the work outside and inside sgemm.

- At a fixed thread count a fit is bitwise reproducible: the pool splits every
  region in a partition that depends on the sizes and the thread count only, and
  the one reduction it splits (sgemm along K, a conv's weight gradient) adds its
  partials in part order.
- 1 and 2 threads agree within float32 rounding (the K split sums in another order).
- Two fits at once in two threads (the pool busy with one of them) give the
  same bytes as the same fits one after the other: a busy pool runs the same
  parts in order on the caller.
- A forked child starts its own pool and trains.
The models are large enough that every parallel region runs (activations,
optimizer, zeroing, im2col/col2im, pooling, sgemm split along M, N and K).
"""

import multiprocessing
import threading

import numpy as np
import pytest

import pytrainc
from pytrainc.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from pytrainc.models import Sequential


@pytest.fixture(autouse=True)
def restore_threads():
    before = pytrainc.blas_info()["num_threads"]
    yield
    pytrainc.set_num_threads(before)


def _data(seed, cnn):
    r = np.random.default_rng(seed)
    x = r.random((192, 16, 16, 3) if cnn else (512, 784), dtype=np.float32)
    return x, r.integers(0, 10, size=len(x))


def _model(cnn):
    if cnn:  # conv weight gradient: (28, 32) over K = 64 * 14 * 14 pixels, split along K
        layers = [Input((16, 16, 3)), Conv2D(32, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten()]
    else:  # sgemm split along M and N; the optimizer's 235k floats
        layers = [Input((784,)), Dense(256, activation="relu"), Dense(128, activation="relu")]
    model = Sequential(layers + [Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(seed, cnn, model=None, out=None):
    x, y = _data(seed, cnn)
    if model is None:
        pytrainc.utils.set_random_seed(seed)
        model = _model(cnn)
    history = model.fit(x, y, batch_size=64, epochs=2, verbose=0).history
    result = (model.get_weights(), history)
    if out is not None:
        out.append(result)
    return result


def _bytes(result):
    return [w.tobytes() for w in result[0]], result[1]


@pytest.mark.parametrize("cnn", [False, True], ids=["mlp", "cnn"])
def test_two_threads_bitwise_reproducible_and_close_to_one(cnn):
    pytrainc.set_num_threads(2)
    assert pytrainc.blas_info()["num_threads"] == 2
    a, b = _fit(7, cnn), _fit(7, cnn)
    assert _bytes(a) == _bytes(b)
    pytrainc.set_num_threads(1)
    one = _fit(7, cnn)
    for w1, w2 in zip(one[0], a[0]):
        np.testing.assert_allclose(w1, w2, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(one[1]["loss"], a[1]["loss"], rtol=1e-4)


def _two_models():
    pytrainc.utils.set_random_seed(11)
    m1 = _model(True)
    pytrainc.utils.set_random_seed(12)
    return m1, _model(False)


def test_concurrent_fits_match_serial_ones():
    pytrainc.set_num_threads(2)
    m1, m2 = _two_models()
    serial = [_fit(11, True, m1), _fit(12, False, m2)]
    m1, m2 = _two_models()
    out1, out2 = [], []
    threads = [
        threading.Thread(target=_fit, args=(11, True, m1, out1)),
        threading.Thread(target=_fit, args=(12, False, m2, out2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert _bytes(out1[0]) == _bytes(serial[0])
    assert _bytes(out2[0]) == _bytes(serial[1])


def _child_fit(queue):
    queue.put(_fit(3, False)[1]["loss"])


def test_forked_child_restarts_the_pool():
    pytrainc.set_num_threads(2)
    parent = _fit(3, False)[1]["loss"]  # the pool's workers run in this process
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_fit, args=(queue,))
    child.start()
    child.join(timeout=300)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == parent
