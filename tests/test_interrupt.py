"""Ctrl-C during fit: the C engine must stop at a batch boundary, raise
KeyboardInterrupt promptly, and leave a usable model.

Each test runs a training script in a subprocess, waits for a marker line that
training has started, sends SIGINT and bounds every wait with a timeout. One
epoch of the script's model takes several seconds, so a process that only
notices the signal between epochs (or never) fails the time limit.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a subprocess")

SCRIPT = r"""
import sys
import time

import numpy as np

import pytrainc
from pytrainc.callbacks import Callback
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

mode = sys.argv[1]


class Marker(Callback):
    def on_train_begin(self, logs=None):
        print("TRAINING_STARTED", flush=True)


class PerBatchMarker(Marker):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


pytrainc.utils.set_random_seed(0)
rng = np.random.default_rng(0)
n = 60000 if mode != "after" else 512
x = rng.normal(size=(n, 32)).astype(np.float32)
y = rng.normal(size=(n, 1)).astype(np.float32)
model = Sequential([Input((32,)), Dense(512, activation="relu"), Dense(512, activation="relu"), Dense(1)])
model.compile(optimizer="adam", loss="mse")

if mode == "after":
    # Training that ends normally must give Ctrl-C back to Python.
    model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[Marker()])
    print("FIT_DONE", flush=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        time.sleep(0.02)
    print("NOT_INTERRUPTED", flush=True)
    sys.exit(0)

cb = PerBatchMarker() if mode == "batch" else Marker()
try:
    model.fit(x, y, epochs=100000, batch_size=32, verbose=1 if mode == "verbose" else 0, callbacks=[cb])
except KeyboardInterrupt:
    finite = all(np.isfinite(w).all() for w in model.get_weights())
    p = model.predict(x[:100], verbose=0)
    ok = finite and p.shape == (100, 1) and bool(np.isfinite(p).all())
    if mode == "batch":
        ok = ok and cb.batches > 0
    # Training can go on after the interrupt.
    hist = model.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0)
    ok = ok and np.isfinite(hist.history["loss"][0])
    print("AFTER_INTERRUPT_OK" if ok else "AFTER_INTERRUPT_BROKEN", flush=True)
    raise
print("FIT_RETURNED", flush=True)
"""

START_TIMEOUT = 60.0  # interpreter start, import, data: generous on a loaded machine
EXIT_TIMEOUT = 4.0  # from SIGINT to process exit; one epoch takes longer than this


def _reader(stream, lines):
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def _wait_for(lines, marker, timeout, seen):
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            return False
        if line is None:
            return False
        seen.append(line)
        if line.strip() == marker:
            return True


def _run(tmp_path, mode, marker, delay):
    script = tmp_path / "train_interrupt.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = queue.Queue()
    stdout_lines = []
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        if not _wait_for(lines, marker, START_TIMEOUT, stdout_lines):
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"no {marker} line from the script; stdout={stdout_lines!r} stderr={err[-2000:]}")
        time.sleep(delay)  # let the engine get deep into the epoch
        assert proc.poll() is None, "the script ended before it was interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"the script did not stop within {EXIT_TIMEOUT} s of SIGINT ({mode} mode)")
        elapsed = time.monotonic() - sent
        err = proc.stderr.read()
        reader.join(timeout=10)
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                stdout_lines.append(line)
        return proc.returncode, "".join(stdout_lines), err, elapsed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def _assert_interrupted(returncode, out, err):
    assert returncode != 0, out
    assert err.rstrip().splitlines()[-1] == "KeyboardInterrupt", err[-2000:]
    assert "FIT_RETURNED" not in out


@pytest.mark.parametrize("mode", ["epoch", "batch", "verbose"])
def test_sigint_during_fit_raises_keyboard_interrupt_and_leaves_a_usable_model(tmp_path, mode):
    returncode, out, err, elapsed = _run(tmp_path, mode, "TRAINING_STARTED", delay=0.5)
    _assert_interrupted(returncode, out, err)
    assert "AFTER_INTERRUPT_OK" in out, (out, err[-2000:])
    assert elapsed < EXIT_TIMEOUT


def test_ctrl_c_reaches_python_after_fit_returns(tmp_path):
    returncode, out, err, _ = _run(tmp_path, "after", "FIT_DONE", delay=0.2)
    _assert_interrupted(returncode, out, err)
    assert "NOT_INTERRUPTED" not in out
    assert "time.sleep" in err  # raised by Python's own handler, in the sleep loop
