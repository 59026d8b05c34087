"""The seed 000 (L2 + save_model to .h5), 003 (dropout) and 004 (CNN) examples run
with only their imports changed (and the fixes their docstrings explain)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name, tmp_path, *args):
    env = {
        **os.environ,
        "PYTRAINC_EXAMPLE_QUICK": "1",
        "PYTRAINC_OFFLINE": "1",
        "PYTRAINC_DATA": str(tmp_path / "data"),
    }
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_seed000_l2_model_trains_and_saves_h5(tmp_path):
    pytest.importorskip("h5py")
    import numpy as np

    import pytrainc

    out = _run("seed000_l2_regularization.py", tmp_path)
    assert "L2 penalty in the loss" in out
    model = pytrainc.models.load_model(tmp_path / "model.h5")
    assert model.layers[0].kernel_regularizer.l2 == pytest.approx(0.01)
    x = np.random.default_rng(0).random((4, 100))
    assert model.predict(x, verbose=0).shape == (4, 10)


def test_seed003_dropout_example(tmp_path):
    out = _run("seed003_dropout.py", tmp_path)
    assert "integer labels are refused" in out and "sparse_categorical_crossentropy" in out
    assert "predictions:" in out


def test_seed004_cnn_example(tmp_path):
    out = _run("seed004_cnn.py", tmp_path, "--quick")
    assert "using random images instead" in out
    assert "final val_accuracy" in out
