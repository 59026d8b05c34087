"""The CIFAR-10 reader's bounds (issue 13, item 8): a hostile batch or archive can exhaust neither
memory nor time. Every hostile file is generated here; each is refused with a ValueError that
names the file, in a child process capped at 1 GiB more address space (one child for the table)."""

import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from pytrainc.datasets import _cache, _safe_pickle, cifar10

sys.path.insert(0, str(Path(__file__).parent))
from test_datasets import Offline, cifar_archive, cifar_source, install_cifar, py2_batch  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The dataset cache, offline (as test_datasets.py's `cache` and `offline` fixtures)."""
    monkeypatch.setenv("PYTRAINC_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTRAINC_HOME", raising=False)
    monkeypatch.setattr(_cache, "urlopen", Offline())
    path = tmp_path / "cache"
    path.mkdir()
    return path


PROTO2 = b"\x80\x02"
HOSTILE_PICKLES = {
    # CPython's unpickler sizes its memo by the largest index: 9 bytes asked for 4 GB.
    "memo-index": PROTO2 + b"Nr\xff\xff\xff\x0f.",
    "memo-index-binput-text": b"N" + b"p268435455\n.",  # protocol 0 PUT
    # Length prefixes far past the data that follows them.
    "bytes4-length": PROTO2 + b"B\xff\xff\xff\x7f" + b"x" * 16 + b".",
    "bytes8-length": b"\x80\x04\x8e" + (2**60).to_bytes(8, "little") + b"x.",
    "unicode8-length": b"\x80\x04\x8d" + (2**60).to_bytes(8, "little") + b"x.",
    "frame-length": b"\x80\x04\x95" + (2**60).to_bytes(8, "little") + b"N.",
    "long4-length": PROTO2 + b"\x8b\xff\xff\xff\x7f" + b"\x01" * 8 + b".",
    # More opcodes than any batch has: a list of 2**19 + 1 Nones.
    "opcode-count": PROTO2 + b"](" + b"N" * (_safe_pickle.MAX_OPCODES + 1) + b"e.",
    # A decimal long too long to parse in linear time (Python caps int() at 4300 digits).
    "long-decimal": b"L" + b"9" * 100_000 + b"L\n.",
}
MATCH = {
    "memo-index": "memo indices below",
    "memo-index-binput-text": "memo indices below",
    "opcode-count": "at most 524288 pickle opcodes",
}


def test_caps_are_far_above_an_official_batch():
    """A batch as big as an official one (10,000 images, re-saved by Python 3, the larger layout)
    is inside every cap: its size, its opcodes, its memo."""
    import pickle
    import pickletools

    n = 10_000
    batch = {
        b"data": np.zeros((n, 3072), np.uint8),
        b"labels": [i % 10 for i in range(n)],
        b"batch_label": b"training batch 1 of 5",
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }
    blob = pickle.dumps(batch, protocol=2)
    ops = list(pickletools.genops(io.BytesIO(blob)))
    memo = max(arg for op, arg, _ in ops if op.name in ("BINPUT", "LONG_BINPUT", "PUT"))
    assert len(blob) * 2 < _safe_pickle.MAX_BYTES
    assert len(ops) * 5 < _safe_pickle.MAX_OPCODES and memo * 5 < _safe_pickle.MAX_OPCODES
    got = _safe_pickle.load(io.BytesIO(blob), "batch")
    assert got["data"].shape == (n, 3072) and len(got["filenames"]) == n


def test_py2_layout_batch_is_inside_the_caps():
    data, labels = np.zeros((10_000, 3072), np.uint8), [3] * 10_000
    got = _safe_pickle.load(io.BytesIO(py2_batch("data_batch_1", data, labels)), "batch")
    assert got["labels"] == labels


CHILD = r"""
import io, json, os, resource, sys, time, tracemalloc
# 1 GiB past what the interpreter holds now (under ASan that already counts its shadow reservation)
in_use = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (in_use + (1 << 30), resource.RLIM_INFINITY))
from pytrainc.datasets import _safe_pickle
results = {}
for name, blob in json.load(sys.stdin).items():
    blob = bytes.fromhex(blob)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        _safe_pickle.load(io.BytesIO(blob), "batch")
        outcome = "loaded"
    except ValueError as err:
        outcome = "ValueError: " + str(err)
    except BaseException as err:
        outcome = type(err).__name__ + ": " + str(err)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results[name] = [outcome, seconds, peak, len(blob)]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory):
    payload = json.dumps({name: blob.hex() for name, blob in HOSTILE_PICKLES.items()})
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=payload,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path_factory.mktemp("child"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", sorted(HOSTILE_PICKLES))
def test_hostile_pickle_is_refused_in_bounded_memory_and_time(hostile_results, name):
    outcome, seconds, peak, size = hostile_results[name]
    assert outcome.startswith("ValueError: Cannot load 'batch': "), outcome
    assert MATCH.get(name, "") in outcome
    # Memory: the bytes read plus the opcode walk's own objects; never the declared sizes.
    assert peak < 8 * size + (16 << 20), f"{name}: peak {peak} bytes for a {size}-byte file"
    assert seconds < 30, f"{name}: {seconds:.1f} s"  # a loose bound: the machine may be loaded


def test_a_pickle_past_max_bytes_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setattr(_safe_pickle, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r"Cannot load 'batch': Expected a pickle of at most 1000 bytes"):
        _safe_pickle.load(io.BytesIO(PROTO2 + b"N" * 2000 + b"."), "batch")


def tar_with(members):
    """A .tar.gz of (name, declared size, data) members; data may be shorter than declared."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, size, data in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(data.ljust(size, b"\0")))
    return buffer.getvalue()


def test_archive_with_too_many_members_is_refused(monkeypatch, cache):
    archive = tar_with([(f"junk/{i}", 0, b"") for i in range(cifar10._MAX_MEMBERS + 1)])
    install_cifar(monkeypatch, cache, archive)
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz.*expected at most 64 members.*member 65"):
        cifar10.load_data()


@pytest.mark.parametrize("skipped", [True, False])
def test_archive_member_larger_than_the_cap_is_refused_from_its_header(monkeypatch, cache, skipped):
    """A member's declared size is checked before its data is read or skipped (decompressed)."""
    monkeypatch.setattr(cifar10, "_MAX_MEMBER_BYTES", 1 << 16)
    name = "cifar-10-batches-py/readme.html" if skipped else "cifar-10-batches-py/data_batch_1"
    archive = cifar_archive(cifar_source(), replace={name: b"x" * ((1 << 16) + 1)})
    install_cifar(monkeypatch, cache, archive)
    with pytest.raises(ValueError, match=r"of at most 65536 bytes each.*\(.*, 65537 bytes\)"):
        cifar10.load_data()


def test_archive_total_past_the_cap_is_refused(monkeypatch, cache):
    monkeypatch.setattr(cifar10, "_MAX_ARCHIVE_BYTES", 1 << 16)
    archive = tar_with([(f"junk/{i}", 1 << 14, b"") for i in range(5)])  # 80 KiB of zeros in all
    install_cifar(monkeypatch, cache, archive)
    with pytest.raises(ValueError, match=r"65536 in all.*member 5"):
        cifar10.load_data()


def test_caps_admit_the_official_archive_shape(monkeypatch, cache):
    """The official archive: 9 members, 186 MB, the largest 31 MB; the caps are above each."""
    assert cifar10._MAX_MEMBERS >= 9 * 4
    assert cifar10._MAX_MEMBER_BYTES >= 2 * 31_035_704 and cifar10._MAX_ARCHIVE_BYTES >= 2 * 186_214_000
    install_cifar(monkeypatch, cache, cifar_archive(cifar_source()))
    t0 = time.perf_counter()
    (x, y), _ = cifar10.load_data()
    assert x.dtype == np.uint8 and y.shape == (x.shape[0], 1)
    assert time.perf_counter() - t0 < 60
