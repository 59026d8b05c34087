"""Absurd sizes: a batch or layer larger than memory must raise, never overflow the heap.

Each heap-overflow repro runs in its own interpreter, so that a regression shows up as
a failed test with the child's exit code instead of killing the whole test run.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pytrainc import _C
from pytrainc.callbacks import BatchSizeScheduler
from pytrainc.layers import Dense
from pytrainc.models import Sequential

HUGE = 2**61


def _run_child(tmp_path, code):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"child exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _model():
    model = Sequential([Dense(2, input_dim=6)])
    model.compile(loss="mse", optimizer="sgd")
    return model


@pytest.mark.parametrize("call", ["fit", "predict", "evaluate", "scheduler"])
def test_huge_batch_size_does_not_overflow_the_heap(tmp_path, call):
    out = _run_child(
        tmp_path,
        f"""
        import numpy as np
        from pytrainc.callbacks import BatchSizeScheduler
        from pytrainc.layers import Dense
        from pytrainc.models import Sequential
        model = Sequential([Dense(2, input_dim=6)])
        model.compile(loss="mse")
        x, y = np.ones((100, 6)), np.ones((100, 2))
        call = {call!r}
        if call == "fit":
            model.fit(x, y, batch_size={HUGE}, epochs=1, verbose=0)
        elif call == "predict":
            model.predict(x, batch_size={HUGE}, verbose=0)
        elif call == "evaluate":
            model.evaluate(x, y, batch_size={HUGE}, verbose=0)
        else:
            model.fit(x, y, batch_size=4, epochs=2, verbose=0,
                      callbacks=[BatchSizeScheduler(lambda epoch, size: {HUGE})])
        print("survived")
    """,
    )
    assert "survived" in out


def test_batch_larger_than_data_is_one_batch_of_all_samples():
    # Keras: batch_size >= n gives one step over all samples. Same update as batch_size=n.
    x = np.random.default_rng(0).normal(size=(100, 6)).astype(np.float32)
    y = np.ones((100, 2), np.float32)
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, batch_size=HUGE, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(x, y, batch_size=100, epochs=3, shuffle=False, verbose=0)
    assert ha.history["loss"] == hb.history["loss"]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict(x, batch_size=HUGE, verbose=0), a.predict(x, batch_size=100, verbose=0))
    assert a.evaluate(x, y, batch_size=HUGE, verbose=0) == a.evaluate(x, y, batch_size=100, verbose=0)
    # The engine reserved rows for the samples present only.
    assert a._plan.max_batch == 100


def test_scheduled_huge_batch_is_capped_and_recorded():
    model = _model()
    x, y = np.ones((10, 6)), np.ones((10, 2))
    history = model.fit(
        x,
        y,
        batch_size=2,
        epochs=2,
        verbose=0,
        callbacks=[BatchSizeScheduler(lambda epoch, size: HUGE if epoch else size)],
    )
    assert len(history.history["loss"]) == 2
    assert model._plan.max_batch == 10


def test_plan_reserve_overflow_is_a_value_error():
    model = _model()
    model.predict(np.ones((4, 6)), verbose=0)
    with pytest.raises(ValueError, match="overflow or exceed"):
        model._plan.reserve(HUGE)
    with pytest.raises(ValueError, match="overflow or exceed"):
        model._plan.reserve(2**40)  # fits int64, but not sgemm's int rows
    # A failed reserve leaves the plan as it was.
    assert model._plan.max_batch == 4
    assert model.predict(np.ones((4, 6)), verbose=0).shape == (4, 2)


def test_dense_kernel_refuses_sizes_beyond_sgemm_int():
    # np.zeros is calloc'ed: these 8 GB arrays are never touched, so they cost no memory.
    with pytest.raises(ValueError, match=r"at most 2147483647.*IN=2147483648"):
        _C.dense_forward(np.zeros((0, 2**31), np.float32), np.zeros((2**31, 1), np.float32), None, False)
    with pytest.raises(ValueError, match=r"OUT=2147483648"):
        _C.dense_forward(np.zeros((1, 1), np.float32), np.zeros((1, 2**31), np.float32), None, False)
    with pytest.raises(ValueError, match=r"OUT=2147483648"):
        _C.dense_backward(
            np.zeros((1, 2**31), np.float32), np.zeros((1, 1), np.float32), np.zeros((1, 2**31), np.float32), False
        )
