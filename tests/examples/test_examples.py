"""The seed examples run as scripts (in a temporary working directory) and do
what their seed documents describe."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import pytrainc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 120


def run_example(name, tmp_path, quick=False):
    env = dict(os.environ)
    env.pop("PYTRAINC_EXAMPLE_QUICK", None)
    if quick:
        env["PYTRAINC_EXAMPLE_QUICK"] = "1"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_seed002_keras_script_stops_early(tmp_path):
    out = run_example("seed002_keras_early_stopping.py", tmp_path)
    # ProgbarLogger's "Epoch i/1000" lines: training ended well before epoch 1000.
    epochs = [int(m) for m in re.findall(r"^Epoch (\d+)/1000$", out, flags=re.M)]
    assert epochs and epochs == list(range(1, len(epochs) + 1))
    assert len(epochs) < 1000
    assert re.search(r"epochs run: (\d+) of 1000", out).group(1) == str(len(epochs))
    assert "stopped early: True" in out
    # Keras's EarlyStopping: patience=100 epochs after the best one.
    best_epoch = int(re.search(r"best val_loss: [0-9.]+ at epoch (\d+)", out).group(1))
    assert len(epochs) == best_epoch + 100
    logged = [float(v) for v in re.findall(r" - val_loss: ([0-9.]+)", out)]
    assert len(logged) == len(epochs)
    best = float(re.search(r"best val_loss: ([0-9.]+)", out).group(1))
    assert abs(min(logged) - best) <= 6e-5  # the progress lines show 4 decimals
    assert not list(tmp_path.iterdir())  # the Keras script writes no files


def test_seed002_quick_mode(tmp_path):
    out = run_example("seed002_keras_early_stopping.py", tmp_path, quick=True)
    assert re.search(r"epochs run: (\d+) of 300", out)
    assert "/1000" not in out


def _check_state_dict_file(path):
    assert path.is_file()
    loaded = pytrainc.load(path)
    # Net(): Linear(10, 20) relu, Linear(20, 1)
    pytrainc.utils.set_random_seed(0)  # the example's seed: `net` starts from its initial weights
    net = pytrainc.models.Sequential(
        [pytrainc.layers.Input((10,)), pytrainc.layers.Dense(20, activation="relu"), pytrainc.layers.Dense(1)]
    )
    expected = net.state_dict()
    assert list(loaded) == list(expected)
    assert {k: v.shape for k, v in loaded.items()} == {k: v.shape for k, v in expected.items()}
    assert net.load_state_dict(loaded) == ([], [])
    assert all(np.isfinite(v).all() for v in loaded.values())
    assert not np.array_equal(loaded["0.kernel"], expected["0.kernel"])  # trained, not the initial weights
    return loaded


def test_seed001_pytorch_loop_saves_a_loadable_state_dict(tmp_path):
    out = run_example("seed001_pytorch_loop.py", tmp_path)
    _check_state_dict_file(tmp_path / "model.safetensors")
    run, total = map(int, re.search(r"epochs run: (\d+) of (\d+)", out).groups())
    assert total == 1000 and 1 <= run <= 1000
    # The seed's rule: stop at the first epoch whose validation loss rises.
    assert "stopped early: True" in out and run < 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_seed001_quick_mode(tmp_path):
    out = run_example("seed001_pytorch_loop.py", tmp_path, quick=True)
    run, total = map(int, re.search(r"epochs run: (\d+) of (\d+)", out).groups())
    assert total == 100 and run <= 100
    _check_state_dict_file(tmp_path / "model.safetensors")
