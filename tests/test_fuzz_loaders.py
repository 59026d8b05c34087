"""fuzz/fuzz_loaders.py, the atheris harness for long local fuzzing of every loader (issue 13):
a short bounded run per target, so the harness and its seeds keep working. Skipped without
atheris (`pip install ".[fuzz]"`); CI's fuzzing is the deterministic mutation fuzz of
tests/saving/test_loader_hardening.py, which needs no extra package."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_loaders.py"
TARGETS = ["safetensors", "npz", "ptc", "keras", "h5-model", "h5-weights", "backup", "cifar-pickle", "mnist-npz"]


def test_targets_are_the_harness_targets(tmp_path):
    proc = subprocess.run([sys.executable, str(HARNESS)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    assert str(sorted(TARGETS)) in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_a_short_fuzz_run_finds_nothing(tmp_path, target):
    proc = subprocess.run(
        [sys.executable, str(HARNESS), target, "-atheris_runs=40", "-seed=1", "-rss_limit_mb=2048", "-timeout=60"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 40 " in proc.stderr  # libFuzzer ran every input
    assert any((tmp_path / "fuzz-corpus" / target).iterdir())  # the seeds were written
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("oom-*"))
