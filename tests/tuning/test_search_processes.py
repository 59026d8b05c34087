"""Searches in child processes: kill -9 and restart, and n_jobs workers against a serial search.

Each child runs with cwd=tmp_path (an installed pytrainc, not the source tree) and imports its
build_model from a module written there, as a user's script would for worker processes.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from pytrainc.saving import read_safetensors

SPACE = '''
import os, signal
import numpy as np
import pytrainc
from pytrainc.callbacks import Callback
from pytrainc.layers import Dense, Input
from pytrainc.models import Sequential

R = np.random.default_rng(0)
X = R.random((96, 8)).astype(np.float32)
Y = (X.sum(1, keepdims=True) > 4).astype(np.float32)


def build_model(hp):
    if os.environ.get("BUILD_LOG"):
        with open(os.environ["BUILD_LOG"], "a") as f:
            f.write("build\\n")
    model = Sequential([Input((8,)), Dense(hp.Int("units", 2, 16), activation="relu"),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer=pytrainc.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


class KillOnce(Callback):
    """kill -9 of this process at the end of the n-th epoch of the search, unless the flag file exists."""
    seen = 0

    def __init__(self, flag, at):
        super().__init__()
        self.flag, self.at = flag, at

    def on_epoch_end(self, epoch, logs=None):
        KillOnce.seen += 1
        if KillOnce.seen == self.at and not os.path.exists(self.flag):
            open(self.flag, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
'''

SCRIPT = """
import json, sys
from pytrainc.tuning import Hyperband, RandomSearch
from space import X, Y, KillOnce, build_model

def main():
    name, n_jobs, tuner = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    common = dict(directory="runs", project_name=name, seed=11, n_jobs=n_jobs, threads_per_trial=1)
    if tuner == "random":
        t = RandomSearch(build_model, max_trials=6, backup_freq="epoch", **common)
        t.search(X, Y, epochs=5, batch_size=16, validation_split=0.25, verbose=0,
                 callbacks=[KillOnce(sys.argv[4], int(sys.argv[5]))] if len(sys.argv) > 4 else None)
    else:
        t = Hyperband(build_model, max_epochs=4, factor=2, **common)
        t.search(X, Y, batch_size=16, validation_split=0.25, verbose=0)
    rows = [{k: v for k, v in r.items() if k != "elapsed"} for r in t.trials_table()]
    print(json.dumps(rows))

if __name__ == "__main__":
    main()
"""


@pytest.fixture
def child(tmp_path):
    (tmp_path / "space.py").write_text(SPACE)
    (tmp_path / "search.py").write_text(SCRIPT)

    def run(*args, env=None, check=True):
        proc = subprocess.run(
            [sys.executable, "search.py", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **(env or {})},
        )
        if check:
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout.strip().splitlines()[-1])
        return proc

    return run


def _weights(tmp_path, project, trial_id):
    tensors, _ = read_safetensors(tmp_path / "runs" / project / f"trial_{trial_id:04d}" / "checkpoint.ptc")
    return tensors


def test_kill_9_then_restart_repeats_no_finished_trial(child, tmp_path):
    log = tmp_path / "builds.log"
    # The 13th epoch of the search is in trial 2 (5 epochs a trial): the process dies there.
    proc = child("killed", 1, "random", tmp_path / "flag", 13, env={"BUILD_LOG": str(log)}, check=False)
    assert proc.returncode == -signal.SIGKILL
    done = sorted(os.listdir(tmp_path / "runs" / "killed"))
    assert done[:2] == ["trial_0000", "trial_0001"]
    assert json.loads((tmp_path / "runs/killed/trial_0002/trial.json").read_text())["status"] == "RUNNING"
    assert os.path.exists(tmp_path / "runs/killed/trial_0002/backup_0/backup.ptc")
    builds_before = log.read_text().count("build")

    resumed = child("killed", 1, "random", tmp_path / "flag", 13, env={"BUILD_LOG": str(log)})
    # One build to discover the space, then trials 2..5 only.
    assert log.read_text().count("build") - builds_before == 1 + 4
    uninterrupted = child("whole", 1, "random", tmp_path / "flag", 13)  # the flag exists: no kill
    assert resumed == uninterrupted
    for trial_id in range(6):
        a, b = _weights(tmp_path, "killed", trial_id), _weights(tmp_path, "whole", trial_id)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_parallel_search_gives_the_serial_trials_table(child, tuner):
    serial = child("serial", 1, tuner)
    parallel = child("parallel", 2, tuner)
    assert len(serial) >= 6 and all(r["status"] == "COMPLETED" for r in serial)
    assert parallel == serial
