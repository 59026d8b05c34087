"""No leak per call (issue 13): the resident memory of a process drifts by less
than 1 MB over 10,000 calls each of fit, predict, evaluate, building and
deleting a model, and load_weights; over 1,000 calls of save_weights, each of
which waits for two fsyncs (about 1 ms each here, 10 ms on a busy disk).

Each kind runs in a fresh child process: a warm-up of 2,000 calls fills the
allocators' pools and caches, then RSS (from /proc/self/statm, after a
gc.collect) is read before and after 10,000 more. A leak of 100 bytes per call
shows as 1 MB.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")

CALLS = 10_000
MAX_DRIFT = 1024 * 1024

SCRIPT = textwrap.dedent("""
    import gc, json, os, sys
    import numpy as np
    from pytrainc import layers as L, models

    def rss():
        gc.collect()
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = x[:, :1].copy()

    def build():
        m = models.Sequential([L.Input((4,)), L.Dense(8, activation="relu"), L.Dropout(0.1), L.Dense(1)])
        m.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return m

    model = build()
    calls = {
        "fit": lambda: model.fit(x, y, batch_size=8, epochs=1, verbose=0),
        "predict": lambda: model.predict(x, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, verbose=0),
        "build_delete": build,
        "load": lambda: model.load_weights("w.safetensors"),
        "save": lambda: model.save_weights("w.safetensors"),
    }
    model.save_weights("w.safetensors")
    name, n = sys.argv[1], int(sys.argv[2])
    call = calls[name]
    for _ in range(n // 5):
        call()
    before = rss()
    for _ in range(n):
        call()
    print(json.dumps({"drift": rss() - before}))
""")


@pytest.mark.parametrize(
    "name,calls",
    [
        ("fit", CALLS),
        ("predict", CALLS),
        ("evaluate", CALLS),
        ("build_delete", CALLS),
        ("load", CALLS),
        pytest.param("save", 1_000, marks=pytest.mark.slow),
    ],
)
def test_rss_does_not_drift(name, calls, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, name, str(calls)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    drift = json.loads(proc.stdout.strip().splitlines()[-1])["drift"]
    assert drift < MAX_DRIFT, f"{name}: RSS grew by {drift / 1024:.0f} KiB over {calls} calls"
