"""The layout rules of issue #8 that a reviewer would otherwise check by eye: no Python module in
pytrainc/ over ~800 lines and no C file in csrc/ over ~700, so each concept keeps a room of its own
(split a file that grows past them, by concept, as trainers/plan_compiler.py and data_prep.py were
split from trainer.py)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"pytrainc": ("*.py", 800), "csrc": ("*.[ch]", 700)}


def _long_files(folder, pattern, limit):
    return {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / folder).rglob(pattern))
        if "_vendor" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > limit
    }


@pytest.mark.parametrize("folder", sorted(LIMITS))
def test_no_file_is_over_the_length_limit(folder):
    pattern, limit = LIMITS[folder]
    if not (ROOT / folder).is_dir():
        pytest.skip(f"{folder}/ is not in this checkout")
    assert _long_files(folder, pattern, limit) == {}, f"files over {limit} lines: split them by concept"
