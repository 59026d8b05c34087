"""Reproducibility: a training run is a pure function of its seed.

`pytrainc.utils.set_random_seed(s)` seeds the one generator behind weight
initialization, shuffling and (later) dropout, so building and fitting the same
model twice after the same seed must give bitwise identical weights and
history, in this process and in a fresh one.
"""

import hashlib
import json
import os
import subprocess
import tempfile
import sys
import textwrap

import numpy as np
import pytest

import pytrainc
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential


def make_data(n=300, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 12)).astype(np.float32)
    labels = (x[:, :4] @ r.standard_normal((4, 3))).argmax(axis=1)
    return x, np.eye(3, dtype=np.float32)[labels]


def train(seed, epochs=3, optimizer="adam", shuffle=True, validation_split=0.2):
    """Seed, build, compile and fit; returns (weights, history dict)."""
    x, y = make_data()
    pytrainc.utils.set_random_seed(seed)
    model = Sequential(
        [Input((12,)), Dense(24, activation="relu"), Dense(16, activation="tanh"), Dense(3, activation="softmax")]
    )
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x, y, batch_size=32, epochs=epochs, shuffle=shuffle, validation_split=validation_split, verbose=0
    )
    return model.get_weights(), history.history


def digest(weights, history):
    h = hashlib.sha256()
    for w in weights:
        h.update(np.ascontiguousarray(w).tobytes())
    h.update(json.dumps(history, sort_keys=True).encode())  # floats as shortest round-trip reprs: exact
    return h.hexdigest()


def assert_bitwise_equal(run_a, run_b):
    (wa, ha), (wb, hb) = run_a, run_b
    assert len(wa) == len(wb)
    for a, b in zip(wa, wb):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    assert ha == hb  # float == float: bitwise for non-NaN values


def test_same_seed_gives_bitwise_identical_runs():
    a = train(1234)
    b = train(1234)
    assert set(a[1]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(a[1]["loss"]) == 3
    assert_bitwise_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_same_seed_bitwise_for_other_optimizers(optimizer):
    assert_bitwise_equal(train(5, epochs=2, optimizer=optimizer), train(5, epochs=2, optimizer=optimizer))


def test_different_seed_gives_different_weights():
    (wa, ha), (wb, hb) = train(1234), train(1235)
    assert all(not np.array_equal(a, b) for a, b in zip(wa[::2], wb[::2]))  # every kernel differs
    assert ha["loss"] != hb["loss"]


def test_seed_controls_shuffling_not_only_initialization():
    # Same initial weights, two different shuffle streams: the runs must diverge. Re-seeding
    # between build and fit makes the initialization identical and only the shuffle differ.
    x, y = make_data()
    runs = []
    for shuffle_seed in (7, 8):
        pytrainc.utils.set_random_seed(99)
        model = Sequential([Input((12,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        w0 = model.get_weights()
        pytrainc.utils.set_random_seed(shuffle_seed)
        model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
        runs.append((w0, model.get_weights()))
    (w0a, wa), (w0b, wb) = runs
    for a, b in zip(w0a, w0b):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(wa[0], wb[0])


def test_other_models_draws_leave_a_models_shuffles_alone():
    # Each model shuffles from its own generator (issue 13.4): building another model
    # between building and fitting this one, which draws from the global generator,
    # changes nothing, in this thread as in another.
    x, y = make_data()
    runs = []
    for build_another in (False, True):
        pytrainc.utils.set_random_seed(99)
        model = Sequential([Input((12,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        if build_another:
            Sequential([Input((12,)), Dense(64)])
        history = model.fit(x, y, batch_size=32, epochs=2, shuffle=True, verbose=0)
        runs.append((model.get_weights(), history.history))
    assert_bitwise_equal(*runs)


def test_shuffle_false_ignores_the_seed_after_building():
    # Without shuffling, the global RNG is not used during fit: re-seeding differently
    # between build and fit changes nothing.
    x, y = make_data()
    out = []
    for s in (1, 2):
        pytrainc.utils.set_random_seed(3)
        model = Sequential([Input((12,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        pytrainc.utils.set_random_seed(s)
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        out.append(model.get_weights())
    for a, b in zip(*out):
        assert a.tobytes() == b.tobytes()


SUBPROCESS_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests_dir!r})
    import test_reproducibility as t
    weights, history = t.train(2024)
    print(t.digest(weights, history))
""")


def _train_in_subprocess(extra_env=None):
    env = dict(os.environ)
    env.update(extra_env or {})
    script = SUBPROCESS_SCRIPT.format(tests_dir=os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, cwd=tempfile.gettempdir()
    )  # not the repo root, which shadows the installed package
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_fresh_processes_give_identical_bytes():
    # Two interpreters differ in addresses (ASLR), allocation order and hash seeds; none of
    # that may leak into the result. PYTHONHASHSEED differs on purpose.
    a = _train_in_subprocess({"PYTHONHASHSEED": "1"})
    b = _train_in_subprocess({"PYTHONHASHSEED": "2"})
    assert len(a) == 64
    assert a == b
    assert a == digest(*train(2024))  # and this process agrees with both


@pytest.fixture
def restore_threads():
    before = pytrainc.blas_info()["num_threads"]
    yield
    pytrainc.set_num_threads(before)


def test_thread_count_observation(restore_threads):
    """Observation, not a cross-thread-count contract.

    Observed with OpenBLAS 0.3.x (Haswell kernels) on 2 cores: the same thread count always
    gives bitwise equal results; 1 and 2 threads give bitwise equal results for small
    products (this test's MLP, and sgemm up to ~64x64x64) but differ in the last bits for
    larger ones (from ~128x128x128, or 32x784x128: the forward output and dweight/dinp,
    though not dbias, which pytrainc sums itself). So a run is a function of the seed AND
    the thread count. Asserted: equality at equal thread counts, and that both thread counts
    are accurate (within the float32 error bound); reported: whether 1 vs 2 threads differ.
    """
    fits = {}
    for n in (1, 2, 1, 2):
        pytrainc.set_num_threads(n)
        assert pytrainc.blas_info()["num_threads"] == n
        fits.setdefault(n, []).append(digest(*train(77, epochs=2)))
    assert fits[1][0] == fits[1][1] and fits[2][0] == fits[2][1]
    r = np.random.default_rng(0)
    a = r.standard_normal((128, 784)).astype(np.float32)
    w = r.standard_normal((784, 256)).astype(np.float32)
    exact = a.astype(np.float64) @ w.astype(np.float64)
    bound = 784 * 2.0**-24 * 1.01 * (np.abs(a) @ np.abs(w))  # gamma_784 (|a| @ |w|)
    outs = {}
    for n in (1, 2, 1, 2):
        pytrainc.set_num_threads(n)
        out = pytrainc._C.dense_forward(a, w, None, False)
        if n in outs:
            assert out.tobytes() == outs[n].tobytes()  # deterministic at a fixed thread count
        assert np.all(np.abs(out - exact) <= bound)
        outs[n] = out
    print(
        f"\n[observation] 1 vs 2 BLAS threads: small-MLP fit identical={fits[1][0] == fits[2][0]}; "
        f"128x784x256 sgemm identical={outs[1].tobytes() == outs[2].tobytes()}, "
        f"max |diff|={np.abs(outs[1] - outs[2]).max():.3g}"
    )


def test_set_random_seed_rejects_bad_seeds():
    with pytest.raises(TypeError, match="seed must be an int"):
        pytrainc.utils.set_random_seed(1.5)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64\)"):
        pytrainc.utils.set_random_seed(-1)
    with pytest.raises(ValueError):
        pytrainc.utils.set_random_seed(2**64)


def test_resume_from_an_epoch_end_backup_replays_the_models_shuffles(tmp_path):
    from pytrainc.callbacks import BackupAndRestore, Callback

    class Crash(Callback):
        def __init__(self, at):
            super().__init__()
            self.at = at

        def on_epoch_end(self, epoch, logs=None):
            if epoch == self.at:
                raise RuntimeError("crash")

    x, y = make_data()

    def run(crash_at, backup):
        pytrainc.utils.set_random_seed(11)
        model = Sequential([Input((12,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        model.fit(
            x, y, batch_size=16, epochs=5, verbose=0, callbacks=[BackupAndRestore(tmp_path / backup), Crash(crash_at)]
        )
        return model.get_weights()

    reference = run(-1, "ref")
    with pytest.raises(RuntimeError, match="crash"):
        run(2, "b")  # the backup of epoch 2's end is written after on_epoch_end: the last is epoch 1's
    assert_bitwise_equal((run(-1, "b"), {}), (reference, {}))
