"""The shipped benchmark runs: its correctness check against PyTorch passes and
it prints the comparison table. Timings are printed, never asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_vs_torch.py"


def test_benchmark_quick_mode_checks_and_prints_table(tmp_path):
    pytest.importorskip("torch")
    r = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--wait-idle", "0", "--cases", "seed002", "cnn-seed004"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTRAINC_OFFLINE": "1"},
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "check FAILED" not in r.stdout
    assert r.stdout.count("check ok") >= 2
    assert "torch/pytrainc" in r.stdout


def test_workloads_benchmark_quick_mode_prints_tables(tmp_path):
    pytest.importorskip("torch")
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    r = subprocess.run(
        [sys.executable, str(BENCH.parent / "bench_workloads.py"), "--quick", "--workloads", "W1", "W2", "W3"]
        + ["--frameworks", "pytrainc", "torch", "torch-cl", "onnxruntime", "--json", str(out_json)]
        + ["--plot", str(out_png)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "check FAILED" not in r.stdout
    for text in ("OPENBLAS_CORETYPE=", "kernel ISA", "pytrainc_us", "torch_us", "roof_us", "load average"):
        assert text in r.stdout
    assert [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip().startswith("W")][:3] == ["W1", "W2", "W3"]
    result = json.loads(out_json.read_text())
    assert {row["workload"] for row in result["rows"]} == {"W1", "W2", "W3"}
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if "onnxruntime" in result["samples"]:
        assert "check ok: W2 onnxruntime == pytrainc predict" in r.stdout


@pytest.mark.slow
def test_tuning_benchmark_quick_mode_checks_and_prints_table(tmp_path):
    r = subprocess.run(
        [sys.executable, str(BENCH.parent / "bench_tuning.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "check ok: n_jobs=2 table == serial table" in r.stdout
    assert "builtin n_jobs=2" in r.stdout and "trials/min" in r.stdout
    # Each peer is either measured or named as not installed.
    assert ("pytrainc+ray " in r.stdout) != ("Ray Tune (pip install" in r.stdout)
    assert ("keras+kerastuner " in r.stdout) != ("Keras Tuner (" in r.stdout)
