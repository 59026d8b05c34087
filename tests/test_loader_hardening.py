"""Loaders against damaged and crafted files (issue 13, items 3 and 6).

- Item 3: a small file cannot make a loader allocate much more than its own
  size: declared shapes are compared with the data present before anything
  is built.
- Item 6: a damaged or crafted file raises a ValueError that names the file,
  never a TypeError, KeyError, IndexError, RecursionError, ...
"""

import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from pytrainc import saving

# The memory caps of these tests read /proc: Linux.
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork and /proc (Linux)")


# ---------------------------------------------------------------------------
# Helpers: models and the files they make


def expect_bad_file(call, path, match):
    with pytest.raises(ValueError, match=match) as info:
        call(path)
    assert str(path) in str(info.value)
    return info.value


# ---------------------------------------------------------------------------
# Item 3: no allocation past the file's size


def _memory_capped(code, megabytes=600):
    """Runs `code` in a child whose address space may grow by `megabytes` at most; returns its stdout."""
    script = textwrap.dedent(f"""
        import os, resource
        import pytrainc
        from pytrainc.models import load_model
        from pytrainc import saving
        in_use = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (in_use + {megabytes} * 2**20, resource.RLIM_INFINITY))
        try:
            {code}
        except Exception as err:
            print(type(err).__name__, err)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    return out.stdout + out.stderr


@linux_only
def test_npz_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**30,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", header.getvalue() + bytes(16))
    out = _memory_capped(f"saving.load({str(path)!r})")
    assert out.startswith("BadFile Cannot load"), out
    assert "'a.npy' declares an array of shape (1073741824,)" in out and "holds 16 bytes" in out


# ---------------------------------------------------------------------------
# Item 6: the examples of the issue, each a ValueError naming the file


def _foreign_safetensors(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_safetensors_dtype_that_is_a_list(tmp_path):
    path = tmp_path / "list.safetensors"
    _foreign_safetensors(path, {"t": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    expect_bad_file(saving.load, path, r"tensor 't' has unknown dtype \['F32'\]")


def test_npz_member_that_is_not_npy(tmp_path):
    path = tmp_path / "text.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", "not an array")
    expect_bad_file(saving.load, path, r"'a.npy' is not a valid .npy array")
