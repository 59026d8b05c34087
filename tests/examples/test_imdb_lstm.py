"""The IMDB-style LSTM example runs as a script (--quick) and learns its generated task."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "imdb_lstm.py"


def test_imdb_lstm_example_learns_sentiment(tmp_path):
    r = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    acc = float(re.search(r"validation accuracy: ([0-9.]+)", r.stdout).group(1))
    # Chance is 0.5; counting the sentiment words over the sequence gets well above it.
    assert acc > 0.75, r.stdout
