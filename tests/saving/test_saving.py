"""Tests of pytrainc.saving: round trips, interoperability, damaged files, atomicity."""

import collections
import json
import os
import pathlib
import pickle
import stat
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from pytrainc import saving
from pytrainc.saving import atomic, safetensors

DTYPES = ["f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "?"]
FORMATS = ["model.safetensors", "model.npz"]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def assert_same_arrays(got, expected):
    """Exact equality: names, order, dtype, shape and every byte (NaN payloads too)."""
    assert list(got) == list(expected)
    for name, want in expected.items():
        want = np.asarray(want)
        have = got[name]
        assert isinstance(have, np.ndarray), name
        assert have.dtype == want.dtype, name
        assert have.shape == want.shape, name
        assert have.tobytes() == np.ascontiguousarray(want).tobytes(), name


def extreme_values(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        values = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            np.inf,
            -np.inf,
            np.nan,
            info.max,
            info.min,
            info.tiny,
            info.smallest_subnormal,
            info.eps,
        ]
        return np.array(values, dtype=dtype).reshape(3, 4)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([info.min, info.max, 0, 1, 7, info.max // 3], dtype=dtype).reshape(2, 3)
    return np.array([[True, False, True], [False, False, True]])


def sample_state():
    return collections.OrderedDict(
        [
            ("dense.kernel", np.arange(12, dtype=np.float32).reshape(3, 4) / 7),
            ("dense.bias", np.array([0.5, -0.25, 3.0, np.nan], dtype=np.float32)),
            ("step", np.array(41, dtype=np.int64)),
            ("empty", np.zeros((0, 5), dtype=np.int16)),
            ("mask", np.array([True, False, True])),
        ]
    )


def raw_safetensors(header, data=b"", *, pad=True):
    """Builds a safetensors file by hand, to make files our writer never would."""
    header_bytes = json.dumps(header).encode("utf-8") if not isinstance(header, bytes) else header
    if pad:
        header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data


def split_file(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def rewrite_header(path, edit):
    """Re-encodes the header of `path` after `edit(header)`, keeping the data."""
    raw = pathlib.Path(path).read_bytes()
    header, data = split_file(raw)
    edit(header)
    pathlib.Path(path).write_bytes(raw_safetensors(header, data))


class PickleBomb:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.parametrize("filename", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_dtype_is_exact(tmp_path, filename, dtype):
    state = {"x": extreme_values(dtype), "y": extreme_values(dtype)[::-1].copy()}
    path = tmp_path / filename
    saving.save(state, path)
    assert_same_arrays(saving.load(path), state)


@pytest.mark.parametrize("filename", FORMATS)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 0, 2), (0, 0), (1, 1, 1, 1)])
def test_round_trip_0d_and_empty_shapes(tmp_path, filename, shape):
    state = {
        "a": np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape),
        "b": np.ones(shape, dtype=np.uint16),
    }
    path = tmp_path / filename
    saving.save(state, path)
    loaded = saving.load(path)
    assert_same_arrays(loaded, state)
    assert loaded["a"].shape == shape


@pytest.mark.parametrize("filename", FORMATS)
def test_round_trip_empty_mapping(tmp_path, filename):
    path = tmp_path / filename
    saving.save({}, path)
    assert saving.load(path) == collections.OrderedDict()


@pytest.mark.parametrize("filename", FORMATS)
def test_round_trip_large_array(tmp_path, filename):
    rng = np.random.default_rng(0)
    state = {"big": rng.standard_normal((2048, 2048)), "small": rng.integers(0, 9, 5)}
    path = tmp_path / filename
    saving.save(state, path)
    assert_same_arrays(saving.load(path), state)


@pytest.mark.parametrize("filename", FORMATS)
def test_order_is_preserved(tmp_path, filename):
    # Names and dtypes chosen so that neither sorting by name nor the
    # safetensors layout (by dtype alignment, then name) gives this order.
    state = collections.OrderedDict(
        [
            ("z", np.zeros(2, np.int8)),
            ("a", np.zeros(2, np.float64)),
            ("m", np.zeros(2, np.float32)),
            ("b", np.zeros(2, np.uint8)),
            ("layer.10", np.zeros(1)),
            ("layer.9", np.zeros(1)),
        ]
    )
    path = tmp_path / filename
    saving.save(state, path)
    assert list(saving.load(path)) == ["z", "a", "m", "b", "layer.10", "layer.9"]
    if filename.endswith(".safetensors"):
        header, _ = split_file(path.read_bytes())
        layout = sorted((v["data_offsets"], k) for k, v in header.items() if k != "__metadata__")
        assert [k for _, k in layout] != list(state)  # the order really comes from the metadata


@pytest.mark.parametrize("filename", FORMATS)
def test_unusual_names(tmp_path, filename):
    state = {
        "naïve/ü.weight": np.ones(2),
        "with space": np.zeros(1),
        "a.npy": np.ones(3),
        '"quoted"': np.arange(2),
        "": np.ones(1),
    }
    path = tmp_path / filename
    saving.save(state, path)
    assert_same_arrays(saving.load(path), state)


def test_loaded_arrays_are_writable_and_own_their_memory(tmp_path):
    path = tmp_path / "m.safetensors"
    saving.save(sample_state(), path)
    loaded = saving.load(path)
    for name, array in loaded.items():
        assert array.flags.writeable and array.flags.owndata and array.flags.c_contiguous, name
    loaded["dense.kernel"][0, 0] = 123.0
    assert saving.load(path)["dense.kernel"][0, 0] != 123.0


@pytest.mark.parametrize("filename", FORMATS)
def test_non_contiguous_big_endian_and_array_like_inputs(tmp_path, filename):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    state = {
        "transposed": base.T,
        "strided": base[::2, ::3],
        "big_endian": base.astype(">f8"),
        "list": [[1, 2], [3, 4]],
        "scalar": 2.5,
        "numpy_scalar": np.int16(-3),
    }
    path = tmp_path / filename
    saving.save(state, path)
    loaded = saving.load(path)
    for name, value in state.items():
        want = np.asarray(value)
        np.testing.assert_array_equal(loaded[name], want)
        assert loaded[name].shape == want.shape
        assert loaded[name].dtype == want.dtype.newbyteorder("=")
        assert loaded[name].dtype.isnative


def test_pathlike_and_str_paths(tmp_path):
    saving.save({"a": np.ones(2)}, str(tmp_path / "s.safetensors"))
    saving.save({"a": np.ones(2)}, tmp_path / "p.safetensors")
    assert_same_arrays(saving.load(str(tmp_path / "p.safetensors")), {"a": np.ones(2)})
    assert_same_arrays(saving.load(tmp_path / "s.safetensors"), {"a": np.ones(2)})


def test_extension_dispatch(tmp_path):
    saving.save({"a": np.ones(2)}, tmp_path / "m.NPZ")
    assert zipfile.is_zipfile(tmp_path / "m.NPZ")
    saving.save({"a": np.ones(2)}, tmp_path / "m.weights")
    assert not zipfile.is_zipfile(tmp_path / "m.weights")
    assert (tmp_path / "m.weights").read_bytes()[8:9] == b"{"


def test_metadata_round_trip_hides_bookkeeping(tmp_path):
    path = tmp_path / "m.safetensors"
    saving.write_safetensors(path, {"w": np.ones(3)}, metadata={"epoch": "3", "note": "é"})
    tensors, metadata = saving.read_safetensors(path)
    assert metadata == {"epoch": "3", "note": "é", "format": "pytrainc", "format_version": "1"}
    raw_meta = split_file(path.read_bytes())[0]["__metadata__"]
    assert set(raw_meta) >= {"pytrainc.order", "pytrainc.sha256", "pytrainc.header_sha256"}
    # What read_safetensors returns can be written back unchanged.
    saving.write_safetensors(path, tensors, metadata)
    assert saving.read_safetensors(path)[1] == metadata


@pytest.mark.parametrize(
    "metadata, match",
    [
        ({"pytrainc.sha256": "0" * 64}, "reserved"),
        ({"pytrainc.order": "[]"}, "reserved"),
        ({"format": "pt"}, "reserved and must be 'pytrainc'"),
        ({"format_version": "7"}, "reserved and must be '1'"),
    ],
)
def test_reserved_metadata_keys_are_rejected(tmp_path, metadata, match):
    with pytest.raises(ValueError, match=match):
        saving.write_safetensors(tmp_path / "m.safetensors", {"w": np.ones(1)}, metadata)
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("metadata", [{"a": 1}, {1: "a"}, ["a"]])
def test_metadata_must_be_str_to_str(tmp_path, metadata):
    with pytest.raises(TypeError, match="dict of str to str"):
        saving.write_safetensors(tmp_path / "m.safetensors", {"w": np.ones(1)}, metadata)


def test_npz_is_numpy_compatible(tmp_path):
    state = sample_state()
    state["file"] = np.ones(2)  # would clash with np.savez's own arguments
    state["allow_pickle"] = np.zeros(2)
    state["complex"] = np.array([1 + 2j, -3j])
    path = tmp_path / "m.npz"
    saving.save_npz(state, path)
    with np.load(path, allow_pickle=False) as npz:
        assert npz.files == list(state)
        assert_same_arrays({k: npz[k] for k in npz.files}, state)
    # and files written by np.savez load too (no pytrainc comment)
    np.savez(tmp_path / "plain.npz", b=np.arange(3), a=np.eye(2))
    assert_same_arrays(saving.load_npz(tmp_path / "plain.npz"), {"b": np.arange(3), "a": np.eye(2)})


# --------------------------------------------------------------------------
# Interoperability with the official safetensors library
# --------------------------------------------------------------------------


def interop_state():
    state = collections.OrderedDict()
    for dtype in DTYPES:
        state[f"t_{np.dtype(dtype).name}"] = extreme_values(dtype)
    state["scalar"] = np.array(1.5, dtype=np.float32)
    state["empty"] = np.zeros((0, 3), dtype=np.float32)
    return state


def test_official_numpy_reader_reads_our_files(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    state = interop_state()
    path = tmp_path / "m.safetensors"
    saving.save(state, path)
    loaded = st_numpy.load_file(str(path))
    assert sorted(loaded) == sorted(state)
    for name, want in state.items():
        assert loaded[name].dtype == want.dtype and loaded[name].shape == want.shape
        assert loaded[name].tobytes() == want.tobytes(), name
    with safetensors.safe_open(str(path), framework="numpy") as f:
        assert f.metadata()["format"] == "pytrainc"
        assert json.loads(f.metadata()["pytrainc.order"]) == list(state)


def test_official_torch_reader_reads_our_files(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    state = interop_state()
    path = tmp_path / "m.safetensors"
    saving.save(state, path)
    loaded = st_torch.load_file(str(path))
    assert sorted(loaded) == sorted(state)
    for name, want in state.items():
        tensor = loaded[name]
        assert list(tensor.shape) == list(want.shape), name
        # View as bytes so that the comparison works for every dtype torch has.
        got = tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        assert got == want.tobytes(), name


def test_layout_matches_the_official_writer(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    state = interop_state()
    saving.save(state, tmp_path / "ours.safetensors")
    st_numpy.save_file(dict(state), str(tmp_path / "theirs.safetensors"))
    ours, ours_data = split_file((tmp_path / "ours.safetensors").read_bytes())
    theirs, theirs_data = split_file((tmp_path / "theirs.safetensors").read_bytes())
    ours.pop("__metadata__")
    theirs.pop("__metadata__", None)
    assert ours == theirs
    assert ours_data == theirs_data


def test_we_read_files_of_the_official_writer(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    state = interop_state()
    path = tmp_path / "theirs.safetensors"
    st_numpy.save_file(dict(state), str(path), metadata={"source": "hf"})
    tensors, metadata = saving.read_safetensors(path)
    assert metadata == {"source": "hf"}
    header, _ = split_file(path.read_bytes())
    assert list(tensors) == [k for k in header if k != "__metadata__"]  # header order
    assert_same_arrays(tensors, {k: state[k] for k in tensors})


def test_we_read_files_of_the_official_torch_writer(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    tensors = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(5)}
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(tensors, str(path), metadata={"format": "pt"})
    loaded, metadata = saving.read_safetensors(path)
    assert metadata == {"format": "pt"}
    assert_same_arrays({k: loaded[k] for k in tensors}, {k: v.numpy() for k, v in tensors.items()})


def test_bf16_from_torch_gets_a_clear_error(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "bf16.safetensors"
    st_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(ValueError, match=r"BF16.*does not support.*tensor.float\(\)"):
        saving.load(path)


# --------------------------------------------------------------------------
# Damaged and foreign files
# --------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.safetensors"
    saving.save(sample_state(), path)
    return path


@pytest.mark.parametrize("cut", ["4", "8", "header_middle", "header_end", "data_middle", "minus_one"])
def test_truncated_file(saved, cut):
    raw = saved.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    keep = {
        "4": 4,
        "8": 8,
        "header_middle": 8 + n // 2,
        "header_end": 8 + n,
        "data_middle": 8 + n + (len(raw) - 8 - n) // 2,
        "minus_one": len(raw) - 1,
    }[cut]
    saved.write_bytes(raw[:keep])
    with pytest.raises(ValueError, match=rf"{saved.name}.*truncated"):
        saving.load(saved)


def test_empty_file(tmp_path):
    for name in ["m.safetensors", "m.npz"]:
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(ValueError, match=rf"{name}.*empty"):
            saving.load(tmp_path / name)


def test_flipped_bit_in_data_fails_the_checksum(saved):
    raw = bytearray(saved.read_bytes())
    raw[-3] ^= 0x10  # a byte of the last tensor's data
    saved.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"model.safetensors.*checksum mismatch: the file is damaged"):
        saving.load(saved)


def test_flipped_bit_in_header_shape_of_empty_tensor(saved):
    # [0, 5] -> [0, 4] keeps the header valid and the byte count (0) right:
    # only the header checksum can tell.
    raw = saved.read_bytes()
    pos = raw.index(b'"shape":[0,5]') + len(b'"shape":[0,')
    damaged = bytearray(raw)
    damaged[pos] ^= 0x01
    assert damaged[pos : pos + 1] == b"4"
    saved.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="header checksum mismatch: the file is damaged"):
        saving.load(saved)


def test_every_single_bit_flip_is_detected(tmp_path):
    path = tmp_path / "m.safetensors"
    saving.save(
        {
            "w": np.arange(6, dtype=np.float32).reshape(2, 3),
            "e": np.zeros((0, 5), np.int16),
            "s": np.int64(7),
        },
        path,
    )
    raw = path.read_bytes()
    damaged_path = tmp_path / "damaged.safetensors"
    undetected = []
    for i in range(len(raw)):
        for bit in range(8):
            damaged = bytearray(raw)
            damaged[i] ^= 1 << bit
            damaged_path.write_bytes(bytes(damaged))
            try:
                saving.load(damaged_path)
            except ValueError:
                continue
            undetected.append((i, bit))
    assert undetected == []


def test_npz_bit_flips_never_give_wrong_arrays(tmp_path):
    # Some bytes of a zip (timestamps, "version made by") do not matter; a
    # flip anywhere must give an error or exactly the saved arrays.
    state = {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "e": np.zeros((0, 5), np.int16),
        "s": np.int64(7),
    }
    path = tmp_path / "m.npz"
    saving.save(state, path)
    raw = path.read_bytes()
    damaged_path = tmp_path / "damaged.npz"
    wrong, errors = [], 0
    for i in range(len(raw)):
        for bit in range(8):
            damaged = bytearray(raw)
            damaged[i] ^= 1 << bit
            damaged_path.write_bytes(bytes(damaged))
            try:
                loaded = saving.load(damaged_path)
            except ValueError:
                errors += 1
                continue
            try:
                assert_same_arrays(loaded, state)
            except AssertionError:
                wrong.append((i, bit))
    assert wrong == []
    assert errors > len(raw)  # most flips are errors


@pytest.mark.parametrize("cut", [10, 100, 400, -30, -1])
def test_truncated_npz(tmp_path, cut):
    path = tmp_path / "m.npz"
    saving.save(sample_state(), path)
    raw = path.read_bytes()
    path.write_bytes(raw[:cut])
    with pytest.raises(ValueError, match=r"m.npz.*(truncated|damaged)"):
        saving.load(path)


def test_flipped_bit_in_npz_data_fails_the_crc(tmp_path):
    path = tmp_path / "m.npz"
    saving.save({"w": np.arange(64, dtype=np.float64)}, path)
    raw = bytearray(path.read_bytes())
    pos = raw.index(np.float64(33.0).tobytes())
    raw[pos] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"m.npz.*checksum mismatch.*CRC-32"):
        saving.load(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ValueError, match=r"m.safetensors.*not a safetensors file"):
        saving.load(path)


def test_header_length_larger_than_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b'{"a": 1}')
    with pytest.raises(ValueError, match=r"header length field says 1000 bytes but only 8 bytes follow"):
        saving.load(path)


def test_header_length_beyond_the_format_limit(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}      ")
    with pytest.raises(ValueError, match="limit of the safetensors format"):
        saving.load(path)


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}


@pytest.mark.parametrize(
    "header, data, match",
    [
        (b"[1, 2]", b"", "does not start with '{'"),
        (b"{" + b'"a":' * 0 + b"[" * 100000 + b"]" * 100000 + b"}", b"", "not valid JSON"),
        (b'{"a": [' + b"[" * 100000 + b"]" * 100000 + b"]}", b"", "not valid JSON"),
        (
            b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
            b' "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
            bytes(8),
            "duplicate key",
        ),
        (b'{"w": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', bytes(4), "NaN"),
        (b'{"w": \xff}', b"", "not valid UTF-8"),
        (
            {"w": {"dtype": "C128", "shape": [1], "data_offsets": [0, 16]}},
            bytes(16),
            "unknown dtype 'C128'",
        ),
        (
            {"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}},
            bytes(16),
            "non-negative integers",
        ),
        (
            {"w": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}},
            bytes(16),
            "non-negative integers",
        ),
        (
            {"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}},
            bytes(4),
            "non-negative integers",
        ),
        ({"w": {"dtype": "F32", "shape": [4]}}, bytes(16), "must be an object with"),
        ({"w": [1, 2]}, b"", "must be an object with"),
        (
            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}},
            bytes(16),
            "0 <= begin <= end",
        ),
        (
            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}},
            bytes(12),
            r"\(16 bytes\).*\(12 bytes\)",
        ),
        (
            {"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 16]}},
            bytes(16),
            "damaged",
        ),
        (
            {"w": {"dtype": "F32", "shape": [0, 2**40, 2**40], "data_offsets": [0, 0]}},
            b"",
            "which NumPy cannot hold",
        ),
        ({"a": F32_4, "b": F32_4}, bytes(16), "overlaps another tensor"),
        (
            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}},
            bytes(24),
            "leaves a gap",
        ),
        ({"w": F32_4}, bytes(20), "trailing bytes"),
        (
            {"w": F32_4, "__metadata__": {"a": 1}},
            bytes(16),
            "__metadata__' must be a JSON object of strings",
        ),
        (
            {"w": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}},
            b"\x01\x02",
            "BOOL tensor 'w' holds bytes",
        ),
    ],
)
def test_malformed_headers(tmp_path, header, data, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw_safetensors(header, data))
    with pytest.raises(ValueError, match=match) as info:
        saving.load(path)
    assert "bad.safetensors" in str(info.value)


def test_hand_made_valid_file_loads(tmp_path):
    # The counterpart of test_malformed_headers: the helper itself makes loadable files.
    path = tmp_path / "ok.safetensors"
    data = np.arange(4, dtype="<f4").tobytes() + b"\x01\x00"
    header = {"w": F32_4, "m": {"dtype": "BOOL", "shape": [2], "data_offsets": [16, 18]}}
    path.write_bytes(raw_safetensors(header, data, pad=False))
    assert_same_arrays(saving.load(path), {"w": np.arange(4, dtype=np.float32), "m": np.array([True, False])})


@pytest.mark.parametrize("filename", ["model.safetensors", "model.pth", "model.npz", "model.bin"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_is_never_unpickled(tmp_path, filename, protocol):
    marker = tmp_path / "code_ran"
    payload = pickle.dumps({"weight": PickleBomb(marker)}, protocol=protocol)
    # The payload is live: unpickling it does create the marker.
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()

    path = tmp_path / filename
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=rf"{filename}.*pickle.*never unpickles.*safetensors.torch"):
        saving.load(path)
    assert not marker.exists()


def test_legacy_torch_file_is_reported_as_pickle(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="pickle file.*never unpickles"):
        saving.load(path)


def make_torch_like_zip(path, marker):
    # The layout torch.save writes: a zip whose data.pkl holds the pickle.
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"w": PickleBomb(marker)}))
        zf.writestr("archive/version", "3\n")


def test_zip_archive_is_rejected(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "model.pth"
    make_torch_like_zip(path, marker)
    with pytest.raises(ValueError, match=r"model.pth.*zip archive.*torch.save.*never unpickles"):
        saving.load(path)
    npz_path = tmp_path / "model.npz"
    make_torch_like_zip(npz_path, marker)
    with pytest.raises(ValueError, match=r"model.npz.*PyTorch checkpoint.*never unpickles"):
        saving.load(npz_path)
    assert not marker.exists()


def test_real_torch_save_file_is_rejected(tmp_path):
    torch = pytest.importorskip("torch")
    for name, match in [("model.pth", "zip archive"), ("model.npz", "PyTorch checkpoint")]:
        torch.save({"w": torch.ones(2)}, tmp_path / name)
        with pytest.raises(ValueError, match=match):
            saving.load(tmp_path / name)


def test_npz_with_object_array_is_never_unpickled(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "objects.npz"
    np.savez(path, ok=np.ones(2), evil=np.array([PickleBomb(marker)], dtype=object))
    with pytest.raises(ValueError, match=r"objects.npz.*'evil' is an object array.*never unpickles"):
        saving.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x93NUMPY\x01\x00" + bytes(100), "NumPy .npy file"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5 file"),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n",
            "Git LFS pointer",
        ),
    ],
)
def test_other_formats_are_named(tmp_path, content, match):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        saving.load(path)


def test_npz_loader_rejects_non_zip_files(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"\x93NUMPY\x01\x00" + bytes(100))
    with pytest.raises(ValueError, match=r"m.npz.*\.npy file"):
        saving.load(path)
    path.write_bytes(b"hello, world")
    with pytest.raises(ValueError, match=r"m.npz.*not a .npz file"):
        saving.load(path)


def test_newer_format_version(saved):
    rewrite_header(saved, lambda h: h["__metadata__"].update(format_version="2"))
    with pytest.raises(ValueError, match=r"model.safetensors.*newer version of pytrainc.*format_version 2"):
        saving.load(saved)


def test_newer_format_version_npz(tmp_path):
    path = tmp_path / "m.npz"
    saving.save({"a": np.ones(2)}, path)
    with zipfile.ZipFile(path, "a") as zf:
        comment = json.loads(zf.comment)
        comment["format_version"] = "2"
        zf.comment = json.dumps(comment).encode()
    with pytest.raises(ValueError, match=r"m.npz.*newer version of pytrainc"):
        saving.load(path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda h: h["__metadata__"].update(format_version="0"), "unknown format_version"),
        (lambda h: h["__metadata__"].update(format_version="one"), "expected a number"),
        (lambda h: h["__metadata__"].pop("pytrainc.sha256"), "lacks the 'pytrainc.sha256'"),
        (lambda h: h["__metadata__"].update({"epoch": "2"}), "header checksum mismatch"),
        (lambda h: h["__metadata__"].update({"format": "pt"}), "header checksum mismatch"),
    ],
)
def test_damaged_pytrainc_metadata(saved, edit, match):
    rewrite_header(saved, edit)
    with pytest.raises(ValueError, match=match):
        saving.load(saved)


def test_missing_file(tmp_path):
    for name in ["nope.safetensors", "nope.npz"]:
        with pytest.raises(FileNotFoundError):
            saving.load(tmp_path / name)


# --------------------------------------------------------------------------
# What save accepts
# --------------------------------------------------------------------------


class FakeModel:
    def state_dict(self):
        return {"w": np.ones(2)}


@pytest.mark.parametrize("filename", FORMATS)
def test_save_rejects_a_model_and_suggests_state_dict(tmp_path, filename):
    with pytest.raises(
        TypeError,
        match=r"mapping of str.*Received: object of type FakeModel"
        r".*pytrainc.save\(model.state_dict\(\), path\)",
    ):
        saving.save(FakeModel(), tmp_path / filename)
    assert not (tmp_path / filename).exists()


@pytest.mark.parametrize("filename", FORMATS)
@pytest.mark.parametrize(
    "obj, match",
    [
        ([np.ones(2)], "mapping of str.*Received: object of type list"),
        ({1: np.ones(2)}, "key to be a str|every key.*str.*Received: key 1"),
        ({"a": np.array([object()], dtype=object)}, "Received: dtype=object.*without pickle"),
        ({"a": np.array(["x", "y"])}, "Received: dtype=<U1.*without pickle"),
        ({"a": None}, "Received: dtype=object"),
        ({"a": [[1, 2], [3]]}, "array-like|dtype=object"),  # NumPy 1.23 makes an object array
    ],
)
def test_save_type_errors(tmp_path, filename, obj, match):
    with pytest.raises(TypeError, match=match):
        saving.save(obj, tmp_path / filename)
    assert not (tmp_path / filename).exists()
    assert list(tmp_path.iterdir()) == []


def test_safetensors_rejects_dtypes_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r"float64, float32.*Received: dtype=complex128"):
        saving.save({"c": np.ones(2, dtype=complex)}, tmp_path / "m.safetensors")


def test_reserved_tensor_name(tmp_path):
    with pytest.raises(ValueError, match="'__metadata__' is reserved"):
        saving.save({"__metadata__": np.ones(1)}, tmp_path / "m.safetensors")


def test_path_type_error(tmp_path):
    with pytest.raises(TypeError, match=r"`path` to be a str or os.PathLike. Received: path=3"):
        saving.save({"a": np.ones(1)}, 3)
    with pytest.raises(TypeError, match="os.PathLike"):
        saving.load(None)


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("filename", FORMATS)
def test_failed_replace_keeps_previous_file_and_removes_temp(tmp_path, monkeypatch, filename):
    path = tmp_path / filename
    saving.save({"old": np.ones(3)}, path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        assert os.path.exists(src)  # the new file was fully written first
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        saving.save({"new": np.zeros(5)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]


@pytest.mark.parametrize("error", [OSError("no space left"), KeyboardInterrupt()])
def test_error_mid_write_keeps_previous_file_and_removes_temp(tmp_path, error):
    path = tmp_path / "log.bin"
    saving.atomic_write_bytes(path, b"previous contents")

    def chunks():
        yield b"new "
        yield memoryview(b"partial ")
        raise error

    with pytest.raises(type(error)):
        saving.atomic_write_bytes(path, chunks())
    assert path.read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["log.bin"]


def test_failing_array_write_mid_save(tmp_path, monkeypatch):
    # A failure while the tensor data is being written (after the header).
    path = tmp_path / "m.safetensors"
    saving.save(sample_state(), path)
    before = path.read_bytes()
    real_view = safetensors._as_bytes_view
    calls = []

    def view_then_fail(array):
        calls.append(array.shape)
        if len(calls) > len(sample_state()) + 1:  # past the checksum pass, into the writes
            raise MemoryError("simulated")
        return real_view(array)

    monkeypatch.setattr(safetensors, "_as_bytes_view", view_then_fail)
    with pytest.raises(MemoryError):
        saving.save(sample_state(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_fsync_of_file_and_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", recording_fsync)
    saving.save({"a": np.ones(2)}, tmp_path / "m.safetensors")
    assert synced == ["file", "dir"]
    synced.clear()
    saving.save({"a": np.ones(2)}, tmp_path / "m.npz")
    assert synced == ["file", "dir"]


def test_failing_fsync_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    saving.save({"a": np.ones(2)}, path)
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        saving.save({"a": np.zeros(2)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_process_killed_mid_save_keeps_previous_file(tmp_path):
    path = tmp_path / "m.safetensors"
    saving.save({"a": np.arange(4.0)}, path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, numpy as np
        from pytrainc import saving
        from pytrainc.saving import safetensors
        real = safetensors._as_bytes_view
        count = [0]
        def dying(array):
            count[0] += 1
            if count[0] == 2:  # second call: writing the data, header already out
                os._exit(17)
            return real(array)
        safetensors._as_bytes_view = dying
        saving.save({{"a": np.zeros(10**6)}}, {str(path)!r})
        """)
    root = pathlib.Path(saving.__file__).resolve().parent.parent.parent
    result = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=120)
    assert result.returncode == 17
    assert path.read_bytes() == before
    assert_same_arrays(saving.load(path), {"a": np.arange(4.0)})


def test_permissions_of_replaced_file_are_kept(tmp_path):
    path = tmp_path / "m.safetensors"
    saving.save({"a": np.ones(2)}, path)
    os.chmod(path, 0o640)
    saving.save({"a": np.zeros(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_new_file_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        saving.save({"a": np.ones(2)}, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode) == 0o640


def test_atomic_write_bytes_accepts_bytes_like_chunks(tmp_path):
    path = tmp_path / "out.bin"
    array = np.arange(4, dtype="<u2")
    saving.atomic_write_bytes(path, [b"ab", bytearray(b"cd"), memoryview(b"ef"), array])
    assert path.read_bytes() == b"abcdef" + array.tobytes()
    saving.atomic_write_bytes(str(path), b"replaced")
    assert path.read_bytes() == b"replaced"
    with pytest.raises(TypeError, match="chunk to be bytes-like"):
        saving.atomic_write_bytes(path, ["text"])
    with pytest.raises(TypeError, match="iterable of bytes-like"):
        saving.atomic_write_bytes(path, "text")
    assert path.read_bytes() == b"replaced"


def test_atomic_write_to_a_directory_fails_cleanly(tmp_path):
    with pytest.raises(IsADirectoryError):
        saving.atomic_write_bytes(tmp_path, b"x")
    assert list(tmp_path.iterdir()) == []


def _kill_mid_save(path):
    """Runs a save of `path` in a child that is killed (SIGKILL) with part of the data on disk."""
    script = textwrap.dedent(f"""
        import os, signal, numpy as np
        from pytrainc import saving
        from pytrainc.saving import safetensors
        real = safetensors._as_bytes_view
        count = [0]
        def dying(array):
            count[0] += 1
            if count[0] == 4:  # two checksum passes, then 'a' written, then 'b'
                os.kill(os.getpid(), signal.SIGKILL)
            return real(array)
        safetensors._as_bytes_view = dying
        saving.save({{"a": np.zeros(10**5), "b": np.zeros(10)}}, {str(path)!r})
        """)
    # cwd outside the repository: there `python -c` would import the source tree, which has no _C.
    result = subprocess.run([sys.executable, "-c", script], cwd=path.parent, timeout=120)
    assert result.returncode == -9


def temporaries(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.skipif(os.name == "nt", reason="stale temporary files are found by POSIX file locks")
def test_next_save_removes_temporaries_of_killed_saves(tmp_path):
    # Issue 13.8: kill -9 during a save left `.name.*.tmp` files behind forever.
    path = tmp_path / "m.safetensors"
    _kill_mid_save(path)
    [first] = temporaries(tmp_path)
    assert (tmp_path / first).stat().st_size > 0
    _kill_mid_save(path)  # removes the first one, leaves its own
    [second] = temporaries(tmp_path)
    assert second != first
    other = tmp_path / ".other.safetensors.0123456789ab.tmp"  # another target's: not ours to remove
    other.write_bytes(b"x")
    saving.save({"a": np.ones(2)}, path)
    assert temporaries(tmp_path) == [other.name]
    assert_same_arrays(saving.load(path), {"a": np.ones(2)})


@pytest.mark.skipif(os.name == "nt", reason="stale temporary files are found by POSIX file locks")
def test_temporary_of_a_live_save_is_kept(tmp_path):
    # A save still running in another process holds the lock on its temporary file.
    path = tmp_path / "m.safetensors"
    live = tmp_path / ".m.safetensors.00000000beef.tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import fcntl, os, sys
        fd = os.open({str(live)!r}, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"half written")
        print("locked", flush=True)
        sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        saving.save({"a": np.ones(2)}, path)
        assert temporaries(tmp_path) == [live.name]
    finally:
        holder.communicate("", timeout=60)
    saving.save({"a": np.ones(2)}, path)  # its writer is gone now
    assert temporaries(tmp_path) == []


@pytest.mark.skipif(os.name == "nt", reason="stale temporary files are found by POSIX file locks")
def test_empty_temporary_is_kept_only_while_young(tmp_path):
    # An empty, unlocked temporary may belong to a writer between creating and locking it.
    path = tmp_path / "m.npz"
    young = tmp_path / ".m.npz.0000000000aa.tmp"
    old = tmp_path / ".m.npz.0000000000bb.tmp"
    young.touch()
    old.touch()
    os.utime(old, (1_000_000, 1_000_000))
    saving.save({"a": np.ones(2)}, path)
    assert temporaries(tmp_path) == [young.name]


def _raise_errno(code, filename=None):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), *([filename] if filename else []))

    return fail


@pytest.mark.parametrize("filename", FORMATS)
def test_full_disk_error_names_the_target(tmp_path, monkeypatch, filename):
    # Issue 13.8: ENOSPC came out with no file name at all.
    import errno

    path = tmp_path / filename
    saving.save({"a": np.ones(2)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(atomic.os, "fsync", _raise_errno(errno.ENOSPC))
    with pytest.raises(OSError, match="No space left on device") as info:
        saving.save({"a": np.zeros(2)}, path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(path)
    assert path.read_bytes() == before
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("code", ["EACCES", "EROFS"])
def test_read_only_error_names_the_target_not_the_temporary(tmp_path, monkeypatch, code):
    import errno

    real_open = os.open

    def refusing_open(name, flags, *args):
        if flags & os.O_CREAT:  # creating the temporary file
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), name)
        return real_open(name, flags, *args)

    path = tmp_path / "m.safetensors"
    monkeypatch.setattr(atomic.os, "open", refusing_open)
    with pytest.raises(OSError) as info:
        saving.save({"a": np.ones(2)}, path)
    monkeypatch.undo()
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value).replace(str(tmp_path), "")
    assert f"creating a temporary file in '{tmp_path}'" in str(info.value)
    assert isinstance(info.value, PermissionError) == (code == "EACCES")


@pytest.mark.skipif(os.name == "nt", reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_mid_write_names_the_target(tmp_path):
    # A real kernel error in the middle of the write: EFBIG past RLIMIT_FSIZE.
    path = tmp_path / "m.safetensors"
    saving.save({"a": np.ones(2)}, path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import resource, signal, numpy as np
        from pytrainc import saving
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            saving.save({{"a": np.zeros(10**5)}}, {str(path)!r})
        except OSError as err:
            print(err.errno, err.filename, err)
        """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    import errno

    assert out.stdout.startswith(f"{errno.EFBIG} {path} "), out.stdout + out.stderr
    assert path.read_bytes() == before
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("filename", FORMATS)
def test_unaligned_and_strided_arrays_are_copied_not_refused(tmp_path, filename):
    # Issue 13.8: any memory layout is accepted, as the docs promise.
    buffer = np.zeros(4 * 6 + 1, np.uint8)
    unaligned = np.frombuffer(buffer.data, np.float32, count=6, offset=1).reshape(2, 3)
    unaligned[...] = np.arange(6).reshape(2, 3)
    assert not unaligned.flags.aligned
    swapped = np.frombuffer(buffer.data, ">f4", count=6, offset=1).reshape(3, 2)
    arrays = {"unaligned": unaligned, "transposed": unaligned.T, "big_endian": swapped[::2]}
    saving.save(arrays, tmp_path / filename)
    got = saving.load(tmp_path / filename)
    for name, array in arrays.items():
        np.testing.assert_array_equal(got[name], array)
        assert got[name].dtype.isnative and got[name].flags.aligned
    saving.atomic_write_bytes(tmp_path / "raw.bin", [unaligned.T])
    assert (tmp_path / "raw.bin").read_bytes() == np.ascontiguousarray(unaligned.T).tobytes()


def test_npz_with_a_non_npy_member_is_refused(tmp_path):
    import zipfile as _zipfile

    path = tmp_path / "odd.npz"
    with _zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not an array")
    with pytest.raises(ValueError, match="not a .npy array"):
        saving.load_npz(path)
