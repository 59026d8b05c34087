"""The Transformer classifier example runs as a script (--quick) and learns its generated task."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "transformer_classifier.py"


def test_transformer_classifier_example_learns_to_compare_counts(tmp_path):
    r = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    acc = float(re.search(r"validation accuracy: ([0-9.]+)", r.stdout).group(1))
    assert acc > 0.8, r.stdout  # chance is about 0.5
