"""The safetensors file: pytrainc's default layout for weights, state dicts and models.

Loading never executes code from the file. Writes are atomic (see
`pytrainc.saving.atomic`), so a crash in the middle of a save never damages
the file that was there before.

The layout is safetensors
(https://github.com/huggingface/safetensors): an 8-byte little-endian header
length `N`, `N` bytes of UTF-8 JSON header, then the tensor bytes. Files
written here are plain safetensors files that the official library reads;
pytrainc adds a few `__metadata__` strings that its own reader checks:

- `"format": "pytrainc"` and `"format_version": "1"`;
- `"pytrainc.order"`: a JSON list of the tensor names in the caller's order
  (the header is a JSON object, whose key order other readers may not keep);
- `"pytrainc.sha256"`: the hex SHA-256 of the data buffer;
- `"pytrainc.header_sha256"`: the hex SHA-256 of a canonical form of the rest
  of the header, so that a damaged header (for example the shape of an empty
  tensor) is caught as well as damaged data.
"""

import collections
import collections.abc
import hashlib
import io
import json
import os
import struct

import numpy as np

from pytrainc.saving._common import (
    FORMAT_NAME,
    FORMAT_VERSION,
    KEY_FORMAT,
    KEY_VERSION,
    PICKLE_ADVICE,
    bad_file,
    fspath,
    looks_like_pickle,
    newer_version_problem,
)
from pytrainc.saving.atomic import atomic_write_bytes

__all__ = ["write_safetensors", "read_safetensors"]

_KEY_ORDER = "pytrainc.order"
_KEY_SHA256 = "pytrainc.sha256"
_KEY_HEADER_SHA256 = "pytrainc.header_sha256"
# Written and checked by pytrainc, never shown to or accepted from the caller.
_BOOKKEEPING_KEYS = (_KEY_ORDER, _KEY_SHA256, _KEY_HEADER_SHA256)

# The official reader refuses headers larger than this, and so do we: it also
# bounds what a hostile length field can make us allocate.
_MAX_HEADER_SIZE = 100_000_000

# safetensors dtype name -> little-endian NumPy dtype.
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAME_OF_KIND = {(dt.kind, dt.itemsize): name for name, dt in _DTYPES.items()}
# Rank of each dtype in the official `Dtype` enum ("in increasing alignment
# order"); the official writer lays tensors out by descending rank, then name,
# so that every tensor is aligned to its element size. We do the same.
_DTYPE_RANK = {
    name: i
    for i, name in enumerate(["BOOL", "U8", "I8", "I16", "U16", "F16", "I32", "U32", "F32", "F64", "I64", "U64"])
}
_KNOWN_UNSUPPORTED = {
    "BF16": "NumPy has no bfloat16; convert it in PyTorch with `tensor.float()`",
    "F8_E4M3": "NumPy has no float8; convert it in PyTorch with `tensor.float()`",
    "F8_E5M2": "NumPy has no float8; convert it in PyTorch with `tensor.float()`",
}
_SUPPORTED_NUMPY = "float64, float32, float16, int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool"


# --------------------------------------------------------------------------
# Validation of what the caller gives us
# --------------------------------------------------------------------------


def check_tensors(tensors, what, safetensors_dtypes_only):
    """Returns an OrderedDict name -> ndarray after checking keys and dtypes."""
    if not isinstance(tensors, collections.abc.Mapping):
        hint = ""
        if callable(getattr(tensors, "state_dict", None)):
            hint = " It has a `state_dict()` method: save it with `pytrainc.save(model.state_dict(), path)`."
        raise TypeError(
            f"Expected {what} to be a mapping of str names to arrays "
            f"(for example `model.state_dict()`). Received: object of type "
            f"{type(tensors).__name__}.{hint}"
        )
    out = collections.OrderedDict()
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(
                f"Expected every key of {what} to be a str. Received: key {name!r} of type {type(name).__name__}"
            )
        try:
            array = np.asarray(value)
        except Exception as err:  # a failing __array__ of a foreign object
            raise TypeError(
                f"Expected {what}[{name!r}] to be array-like. Received: object of type {type(value).__name__} ({err})"
            ) from err
        if safetensors_dtypes_only:
            supported = (array.dtype.kind, array.dtype.itemsize) in _NAME_OF_KIND
        else:
            supported = array.dtype.kind in "biufc" and array.dtype.fields is None
        if not supported:
            expected = _SUPPORTED_NUMPY if safetensors_dtypes_only else "a numeric or bool dtype"
            why = ""
            if array.dtype.kind in "OUSV":
                why = " (object, string and structured arrays cannot be saved without pickle)"
            raise TypeError(
                f"Expected {what}[{name!r}] to be an array of {expected}. Received: dtype={array.dtype}{why}"
            )
        out[name] = array
    return out


def _check_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, collections.abc.Mapping):
        raise TypeError(
            f"Expected `metadata` to be a dict of str to str. Received: object of type {type(metadata).__name__}"
        )
    out = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                "Expected `metadata` to be a dict of str to str. "
                f"Received: {key!r}: {value!r} ({type(key).__name__}: {type(value).__name__})"
            )
        if key in _BOOKKEEPING_KEYS:
            raise ValueError(
                f"The metadata key {key!r} is reserved: pytrainc writes it itself. "
                f"Received: metadata[{key!r}]={value!r}"
            )
        expected = {KEY_FORMAT: FORMAT_NAME, KEY_VERSION: str(FORMAT_VERSION)}.get(key)
        if expected is not None and value != expected:
            raise ValueError(
                f"The metadata key {key!r} is reserved and must be {expected!r} "
                f"(pytrainc sets it). Received: metadata[{key!r}]={value!r}"
            )
        out[key] = value
    return out


# --------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------


def _canonical_header_digest(entries, metadata):
    """SHA-256 of the header as parsed, without the digest itself.

    Computed from the parsed values, not the bytes, so the writer and the
    reader agree whatever JSON spacing or key order the file uses.
    """
    meta = {k: v for k, v in metadata.items() if k != _KEY_HEADER_SHA256}
    canonical = json.dumps(
        {"tensors": entries, "metadata": meta},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _as_bytes_view(array):
    """A flat uint8 view of a C-contiguous array (works for 0-d and bool)."""
    return array.reshape(-1).view(np.uint8)


def write_safetensors(path, tensors, metadata=None):
    """Writes arrays to a safetensors file, atomically.

    The file is a standard safetensors file (readable by
    `safetensors.numpy.load_file` and `safetensors.torch.load_file`), with
    tensors laid out like the official writer does (by dtype alignment, then
    name), plus pytrainc's format name, version, name order and checksums in
    `__metadata__`.

    Args:
        path: str or os.PathLike, the file to write.
        tensors: mapping of str names to arrays (any shape, including 0-d and
            empty) of dtype float64, float32, float16, int64, int32, int16,
            int8, uint64, uint32, uint16, uint8 or bool. Non-contiguous and
            big-endian arrays are converted; the order of the mapping is kept.
        metadata: optional dict of str to str stored in the header. Defaults
            to `None`.

    Returns:
        None.

    Raises:
        TypeError: if `tensors` is not a mapping of str to numeric arrays, or
            `metadata` is not a dict of str to str.
        ValueError: if a name is `"__metadata__"` or `metadata` uses a key
            that pytrainc reserves.
        OSError: if the file cannot be written; a previous file is unchanged.

    Example:

    >>> write_safetensors("w.safetensors", {"kernel": np.ones((2, 3), "float32")})
    >>> arrays, meta = read_safetensors("w.safetensors")
    """
    path = fspath(path)
    atomic_write_bytes(path, safetensors_chunks(tensors, metadata))


def safetensors_chunks(tensors, metadata=None):
    """The bytes of the safetensors file `write_safetensors` writes, as an iterator of chunks.

    The arguments are checked before this returns, as `write_safetensors`
    documents; the arrays are not copied.
    """
    arrays = check_tensors(tensors, "`tensors`", safetensors_dtypes_only=True)
    user_metadata = _check_metadata(metadata)
    if "__metadata__" in arrays:
        raise ValueError(
            "The tensor name '__metadata__' is reserved by the safetensors format. "
            "Received: a tensor named '__metadata__'"
        )

    prepared = {}
    for name, array in arrays.items():
        dtype_name = _NAME_OF_KIND[(array.dtype.kind, array.dtype.itemsize)]
        # Little-endian, C order, as the format requires; no copy when the
        # array already is.
        data = np.asarray(array, dtype=_DTYPES[dtype_name], order="C")
        prepared[name] = (dtype_name, data)

    layout = sorted(prepared, key=lambda n: (-_DTYPE_RANK[prepared[n][0]], n))
    entries = {}
    offset = 0
    digest = hashlib.sha256()
    for name in layout:
        dtype_name, data = prepared[name]
        entries[name] = {
            "dtype": dtype_name,
            "shape": [int(d) for d in data.shape],
            "data_offsets": [offset, offset + data.nbytes],
        }
        offset += data.nbytes
        if data.nbytes:
            digest.update(_as_bytes_view(data))

    meta = dict(user_metadata)
    meta[KEY_FORMAT] = FORMAT_NAME
    meta[KEY_VERSION] = str(FORMAT_VERSION)
    meta[_KEY_ORDER] = json.dumps(list(arrays), separators=(",", ":"), ensure_ascii=False)
    meta[_KEY_SHA256] = digest.hexdigest()
    meta[_KEY_HEADER_SHA256] = _canonical_header_digest(entries, meta)

    header = {"__metadata__": meta}
    header.update(entries)
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # Pad with spaces so the data starts 8-byte aligned, as the official writer does.
    header_bytes += b" " * (-len(header_bytes) % 8)

    def chunks():
        yield struct.pack("<Q", len(header_bytes))
        yield header_bytes
        for name in layout:
            data = prepared[name][1]
            if data.nbytes:
                yield _as_bytes_view(data)

    return chunks()


def _sniff_foreign(path, head, size):
    """Raises a ValueError that names the format if `head` is not safetensors."""
    if size == 0:
        raise bad_file(path, "the file is empty (0 bytes); expected a safetensors file")
    # A safetensors file starts with its header length, whose low byte may be
    # anything (0x80 included, like a pickle); a plausible length followed by
    # '{' is safetensors, even if damaged further on.
    if len(head) >= 9 and struct.unpack("<Q", head[:8])[0] <= _MAX_HEADER_SIZE and head[8:9] == b"{":
        return
    if looks_like_pickle(head):
        raise bad_file(
            path,
            "this looks like a pickle file (for example a PyTorch .pt/.pth/.bin file "
            f"saved with torch.save). {PICKLE_ADVICE}",
        )
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        raise bad_file(
            path,
            "this is a zip archive: a PyTorch .pt/.pth file written by torch.save "
            "(which holds a pickle) or a NumPy .npz file. If it is a .npz file, "
            "rename it to end in '.npz' or use pytrainc.saving.load_npz. "
            f"Otherwise: {PICKLE_ADVICE}",
        )
    if head[:6] == b"\x93NUMPY":
        raise bad_file(path, "this is a NumPy .npy file, not a safetensors file; read it with np.load")
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        raise bad_file(path, "this is an HDF5 file (such as a Keras .h5 file), not a safetensors file")
    if head.startswith(b"version https://git-lfs"):
        raise bad_file(
            path,
            "this is a Git LFS pointer file, not the weights themselves; fetch the real file with `git lfs pull`",
        )


def _reject_json_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


def _object_without_duplicates(pairs):
    obj = collections.OrderedDict()
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _parse_header(path, raw, buffer_size):
    """Parses and validates the JSON header. Returns (entries, metadata)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad_file(
            path,
            f"the header is not valid UTF-8 ({err}); the file is damaged or not a safetensors file",
        ) from err
    if not text.startswith("{"):
        raise bad_file(path, "the header does not start with '{'; this is not a safetensors file")
    try:
        header = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_json_constant,
        )
    except (ValueError, RecursionError) as err:
        raise bad_file(
            path,
            f"the header is not valid JSON ({err}); the file is damaged or not a safetensors file",
        ) from err
    if not isinstance(header, dict):
        raise bad_file(path, "the header is not a JSON object; this is not a safetensors file")

    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = collections.OrderedDict()
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad_file(path, "'__metadata__' must be a JSON object of strings; the header is damaged")

    entries = collections.OrderedDict()
    for name, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
            raise bad_file(
                path,
                f"the header entry of tensor {name!r} must be an object with "
                f"'dtype', 'shape' and 'data_offsets'; received {info!r:.200}",
            )
        dtype_name = info["dtype"]
        if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
            if isinstance(dtype_name, str) and dtype_name in _KNOWN_UNSUPPORTED:
                raise bad_file(
                    path,
                    f"tensor {name!r} has dtype {dtype_name}, which pytrainc does not support "
                    f"({_KNOWN_UNSUPPORTED[dtype_name]})",
                )
            raise bad_file(
                path,
                f"tensor {name!r} has unknown dtype {dtype_name!r:.50}; expected one of "
                f"{', '.join(_DTYPES)}. The file is damaged or not a safetensors file",
            )
        shape = info["shape"]
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise bad_file(
                path,
                f"tensor {name!r} has shape {shape!r:.200}; expected a list of non-negative integers",
            )
        offsets = info["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise bad_file(
                path,
                f"tensor {name!r} has data_offsets {offsets!r:.200}; expected [begin, end] "
                "with 0 <= begin <= end. The file is damaged",
            )
        if offsets[1] > buffer_size:
            raise bad_file(
                path,
                f"the file is truncated: tensor {name!r} needs bytes up to {offsets[1]} of "
                f"the data buffer but only {buffer_size} bytes follow the header",
            )
        nbytes = _DTYPES[dtype_name].itemsize
        for d in shape:
            nbytes *= d
        if offsets[1] - offsets[0] != nbytes:
            raise bad_file(
                path,
                f"tensor {name!r} has dtype {dtype_name} and shape {shape} ({nbytes} bytes) "
                f"but data_offsets {offsets} ({offsets[1] - offsets[0]} bytes); "
                "the file is damaged",
            )
        entries[name] = {"dtype": dtype_name, "shape": shape, "data_offsets": offsets}

    # Like the official reader: the tensors, sorted by offsets, must tile the
    # buffer exactly, with no overlap and no gap.
    position = 0
    for name in sorted(entries, key=lambda n: tuple(entries[n]["data_offsets"])):
        begin, end = entries[name]["data_offsets"]
        if begin != position:
            problem = "overlaps another tensor" if begin < position else "leaves a gap before it"
            raise bad_file(
                path,
                f"tensor {name!r} at data_offsets {[begin, end]} {problem}; the file is damaged",
            )
        position = end
    if position != buffer_size:
        raise bad_file(
            path,
            f"the tensors cover {position} bytes but the data buffer has {buffer_size} bytes "
            "after the header; the file is damaged or has trailing bytes",
        )
    return entries, metadata


def _check_pytrainc_metadata(path, entries, metadata):
    """Checks version, order and header digest. Returns the names in order."""
    ours = metadata.get(KEY_FORMAT) == FORMAT_NAME or any(k in metadata for k in _BOOKKEEPING_KEYS)
    if not ours:
        # A file from another writer: no checksum to verify, header order.
        return list(entries), None

    version = metadata.get(KEY_VERSION)
    if not isinstance(version, str) or not version.isdigit() or not version.isascii():
        raise bad_file(
            path,
            f"the header has format_version {version!r:.50}; expected a number. The file is damaged",
        )
    if int(version) > FORMAT_VERSION:
        raise bad_file(path, newer_version_problem(version))
    if int(version) != FORMAT_VERSION:
        raise bad_file(path, f"unknown format_version {version!r}; the file is damaged")
    for key in (KEY_FORMAT, *_BOOKKEEPING_KEYS):
        if key not in metadata:
            raise bad_file(
                path,
                f"the header lacks the {key!r} entry that pytrainc writes; the file is damaged",
            )

    if _canonical_header_digest(entries, metadata) != metadata[_KEY_HEADER_SHA256]:
        raise bad_file(path, "header checksum mismatch: the file is damaged")
    if metadata[KEY_FORMAT] != FORMAT_NAME:  # covered by the digest; kept explicit
        raise bad_file(path, "the header names the wrong format; the file is damaged")

    try:
        order = json.loads(metadata[_KEY_ORDER])
    except (ValueError, RecursionError):
        order = None
    if (
        not isinstance(order, list)
        or not all(isinstance(n, str) for n in order)
        or len(order) != len(entries)
        or set(order) != set(entries)
    ):
        raise bad_file(
            path,
            "the 'pytrainc.order' entry does not list the tensors of the file; the file is damaged",
        )
    return order, metadata[_KEY_SHA256]


def _readinto_exactly(f, view):
    filled = 0
    total = len(view)
    while filled < total:
        n = f.readinto(view[filled:])
        if not n:
            return filled
        filled += n
    return filled


def read_safetensors(path):
    """Reads a safetensors file into NumPy arrays, validating everything.

    Reads files written by pytrainc (whose checksums are verified) and by the
    official `safetensors` library. Nothing in the file is executed.

    Args:
        path: str or os.PathLike, the file to read.

    Returns:
        A tuple `(tensors, metadata)`: `tensors` is an OrderedDict of name to
        a writable NumPy array that owns its memory, in the order the tensors
        were saved (header order for files not written by pytrainc);
        `metadata` is the dict of `__metadata__` strings, without pytrainc's
        bookkeeping entries (name order and checksums).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not a valid safetensors file (empty,
            truncated, damaged, failing its checksum, a pickle or zip archive
            such as a PyTorch .pth file, or written by a newer pytrainc); the
            message names the file and the problem.

    Example:

    >>> write_safetensors("w.safetensors", {"bias": np.zeros(3, "float32")})
    >>> tensors, metadata = read_safetensors("w.safetensors")
    >>> tensors["bias"].shape
    (3,)
    """
    path = fspath(path)
    with open(path, "rb") as f:
        return _read(path, f, os.fstat(f.fileno()).st_size)


def read_safetensors_bytes(data, name):
    """`read_safetensors` of a file's bytes held in memory; errors call the file `name`."""
    return _read(name, io.BytesIO(data), len(data))


def _read(path, f, size):
    """`read_safetensors` of the open binary file `f` of `size` bytes, named `path`."""
    head = f.read(64)
    _sniff_foreign(path, head, size)
    if size < 8:
        raise bad_file(
            path,
            f"the file has only {size} bytes, fewer than the 8-byte header length "
            "of a safetensors file; it is truncated or not a safetensors file",
        )
    (header_size,) = struct.unpack("<Q", head[:8])
    if header_size > _MAX_HEADER_SIZE:
        raise bad_file(
            path,
            f"the header length field says {header_size} bytes, more than the "
            f"{_MAX_HEADER_SIZE}-byte limit of the safetensors format; this is not "
            "a safetensors file or it is damaged",
        )
    if 8 + header_size > size:
        raise bad_file(
            path,
            f"the header length field says {header_size} bytes but only {size - 8} "
            "bytes follow it; the file is truncated or not a safetensors file",
        )
    if header_size < 2:
        raise bad_file(
            path,
            f"the header length field says {header_size} bytes, too small for a "
            "JSON header; this is not a safetensors file",
        )
    f.seek(8)
    raw = f.read(header_size)
    buffer_size = size - 8 - header_size
    entries, metadata = _parse_header(path, raw, buffer_size)
    order, expected_sha = _check_pytrainc_metadata(path, entries, metadata)

    # The tensors tile the buffer, so reading them in offset order is one
    # sequential pass; each lands in its own freshly allocated array.
    digest = hashlib.sha256()
    arrays = {}
    for name in sorted(entries, key=lambda n: tuple(entries[n]["data_offsets"])):
        info = entries[name]
        try:
            array = np.empty(info["shape"], dtype=_DTYPES[info["dtype"]])
        except (ValueError, OverflowError) as err:  # e.g. shape [0, 2**40, 2**40]
            raise bad_file(path, f"tensor {name!r} has shape {info['shape']}, which NumPy cannot hold") from err
        if array.nbytes:
            view = memoryview(_as_bytes_view(array))
            got = _readinto_exactly(f, view)
            if got != array.nbytes:
                raise bad_file(path, "the file is truncated (it changed while being read)")
            digest.update(view)
        arrays[name] = array
    if f.read(1):
        raise bad_file(path, "the file grew while being read")

    if expected_sha is not None and digest.hexdigest() != expected_sha:
        raise bad_file(
            path,
            "checksum mismatch: the file is damaged (the SHA-256 of its tensor data "
            f"is {digest.hexdigest()}, the header records {expected_sha})",
        )

    result = collections.OrderedDict()
    for name in order:
        array = arrays[name]
        if entries[name]["dtype"] == "BOOL" and array.size and array.view(np.uint8).max() > 1:
            raise bad_file(path, f"BOOL tensor {name!r} holds bytes other than 0 and 1; the file is damaged")
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        result[name] = array
    user_metadata = {k: v for k, v in metadata.items() if k not in _BOOKKEEPING_KEYS}
    return result, user_metadata
