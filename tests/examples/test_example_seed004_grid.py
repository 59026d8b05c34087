"""Seed 004's grid search example runs (--quick, on the generated stand-in) and resumes."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed004_grid_search.py"


def _best_params(out):
    line = next(line for line in out.splitlines() if line.startswith("best_params: "))
    return ast.literal_eval(line[len("best_params: ") :])


def _run(tmp_path):
    env = {**os.environ, "PYTRAINC_OFFLINE": "1", "PYTRAINC_DATA": str(tmp_path / "data")}
    r = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.slow
def test_seed004_grid_search_example(tmp_path):
    out = _run(tmp_path)
    trials = sorted((tmp_path / "seed004_search").glob("trial_*/trial.json"))
    records = [json.loads(p.read_text()) for p in trials]
    combos = {tuple(sorted(r["hyperparameters"]["values"].items())) for r in records}
    assert len(records) == len(combos) == 27  # the seed's whole 3 x 3 x 3 grid, each combination once
    best = max(records, key=lambda r: (r["score"], -r["trial_id"]))
    assert _best_params(out) == best["hyperparameters"]["values"]
    assert f"val_accuracy: {best['score']:.4f}" in out  # the checkpoint holds the best epoch
    mtimes = [p.stat().st_mtime_ns for p in trials]
    again = _run(tmp_path)  # a second run repeats no trial
    assert [p.stat().st_mtime_ns for p in trials] == mtimes
    assert _best_params(again) == best["hyperparameters"]["values"]
