"""NumPy `.npz` files: the layout `np.savez` writes, read without unpickling anything.

pytrainc writes an uncompressed zip of `.npy` members, as `np.savez` does,
and records its format name, version and list of arrays in the zip comment;
the reader checks the CRC-32 of every member and reads with
`allow_pickle=False`.
"""

import collections
import hashlib
import json
import math
import os
import struct
import zipfile
import zlib

import numpy as np

from pytrainc.saving._common import (
    FORMAT_NAME,
    FORMAT_VERSION,
    KEY_FORMAT,
    KEY_VERSION,
    PICKLE_ADVICE,
    BadFile,
    bad_file,
    fspath,
    looks_like_pickle,
    newer_version_problem,
)
from pytrainc.saving.atomic import atomic_file
from pytrainc.saving.safetensors import check_tensors

__all__ = ["save_npz", "load_npz"]


def _npz_manifest(names):
    """The zip comment of a pytrainc .npz file.

    It names the format and version and fixes the list of members: the zip
    central directory is not checksummed, and a damaged entry count or offset
    there would otherwise make arrays silently disappear. Only a digest of
    the names is stored, because a zip comment holds at most 65535 bytes.
    """
    names_json = json.dumps(list(names), ensure_ascii=False)
    return json.dumps(
        {
            KEY_FORMAT: FORMAT_NAME,
            KEY_VERSION: str(FORMAT_VERSION),
            "count": len(names),
            "names_sha256": hashlib.sha256(names_json.encode("utf-8")).hexdigest(),
        },
        separators=(",", ":"),
    ).encode("ascii")


def save_npz(mapping, path):
    """Saves arrays to a NumPy `.npz` file, atomically.

    The layout is the one `np.savez` writes (an uncompressed zip of `.npy`
    files, in the order of the mapping), so `np.load` reads it. The zip
    comment records pytrainc's format name, version and list of arrays, and
    each member carries the zip CRC-32 that `load_npz` verifies.

    Args:
        mapping: mapping of str names to array-likes of a numeric or bool
            dtype (complex included).
        path: str or os.PathLike, the file to write (normally ending in `.npz`).

    Returns:
        None.

    Raises:
        TypeError: if `mapping` is not a mapping of str to numeric arrays.
        OSError: if the file cannot be written; a previous file is unchanged.

    Example:

    >>> save_npz({"kernel": np.ones((2, 2))}, "weights.npz")
    >>> load_npz("weights.npz")["kernel"].shape
    (2, 2)
    """
    path = fspath(path)
    arrays = check_tensors(mapping, "`mapping`", safetensors_dtypes_only=False)
    with atomic_file(path) as f:
        # What np.savez does, without its keyword-argument interface (which
        # would reject names such as "file" or "allow_pickle").
        with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, array in arrays.items():
                with zf.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
            zf.comment = _npz_manifest(arrays)


# What zipfile and np.load raise on archives that are damaged in some way.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    struct.error,
    UnicodeDecodeError,
    NotImplementedError,  # "zip file version 10.9", an unknown compression
    RuntimeError,  # "File ... is encrypted, password required"
    SyntaxError,  # a damaged .npy header dict, from ast.literal_eval
    RecursionError,  # a .npy header dict nested too deeply
    ValueError,
    OSError,
)


def load_npz(path):
    """Loads a NumPy `.npz` file without unpickling anything.

    Args:
        path: str or os.PathLike, a file written by `save_npz` or `np.savez`.

    Returns:
        An OrderedDict of name to NumPy array (in native byte order), in the
        order of the archive.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not a valid `.npz` file (empty, truncated,
            failing its CRC-32, holding pickled object arrays, a PyTorch
            checkpoint, written by a newer pytrainc); the message names the
            file and the problem.

    Example:

    >>> save_npz({"bias": np.zeros(3)}, "weights.npz")
    >>> list(load_npz("weights.npz"))
    ['bias']
    """
    path = fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(64)
    if size == 0:
        raise bad_file(path, "the file is empty (0 bytes); expected a .npz file")
    if head[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        if looks_like_pickle(head):
            raise bad_file(path, f"this looks like a pickle file, not a .npz file. {PICKLE_ADVICE}")
        if head[:6] == b"\x93NUMPY":
            raise bad_file(
                path,
                "this is a NumPy .npy file (one array), not a .npz file; read it with np.load",
            )
        raise bad_file(
            path,
            "this is not a .npz file (it does not start with a zip signature); it is damaged or of another format",
        )

    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in members):
                raise bad_file(
                    path,
                    f"this is a PyTorch checkpoint written by torch.save, not a .npz file. {PICKLE_ADVICE}",
                )
            stray = [n for n in members if not n.endswith(".npy")]
            if stray:
                raise bad_file(
                    path,
                    f"the archive holds {stray[0]!r}, which is not a .npy array; a .npz file holds only .npy members",
                )
            names = [n[:-4] for n in members]
            _check_npz_comment(path, zf.comment, names)
            # np.load reads only as many bytes as each .npy header asks for,
            # so a damaged header could go unnoticed; testzip checks the
            # CRC-32 of every member first.
            bad = zf.testzip()
            if bad is not None:
                raise bad_file(
                    path,
                    f"checksum mismatch: the file is damaged (the CRC-32 of member {bad!r} is wrong)",
                )
            for info in zf.infolist():
                _check_member(path, zf, info)

        result = collections.OrderedDict()
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                if name in result:
                    raise bad_file(path, f"the archive holds {name!r} twice; the file is damaged")
                array = npz[name]  # object arrays were refused by _check_member
                if not array.dtype.isnative:  # the engine works in native byte order
                    array = array.astype(array.dtype.newbyteorder("="))
                result[name] = array
    except (BadFile, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _ZIP_ERRORS as err:
        raise bad_file(path, f"the archive is truncated or damaged ({type(err).__name__}: {err})") from err
    return result


def _check_member(path, zf, info):
    """Compares a member's .npy header with the member's size, before any array exists.

    np.load allocates the array that a header declares before reading its
    data, so a 2 KB file declaring a (2**30,) float32 array would take 4 GB.
    After `testzip` the member sizes are the true ones: a .npy member is its
    header, then exactly the array's bytes.
    """
    with zf.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            # NumPy's readers parse the header dict without eval. Version 3.0 is
            # 2.0 with UTF-8 field names, which do not change the sizes.
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(member)
        except Exception as err:  # NumPy's header parser raises ValueError, TokenError, IndexError, ...
            raise bad_file(
                path, f"the member {info.filename!r} is not a valid .npy array ({type(err).__name__}: {err})"
            ) from err
        data_size = info.file_size - member.tell()
    if dtype.hasobject:
        raise bad_file(
            path,
            f"the array {info.filename[:-4]!r} is an object array: pickled Python objects, "
            "which pytrainc never unpickles because unpickling can run arbitrary "
            "code. Save numeric arrays only",
        )
    declared = dtype.itemsize * math.prod(shape)
    if declared != data_size:
        raise bad_file(
            path,
            f"the member {info.filename!r} declares an array of shape {shape} and dtype {dtype} "
            f"({declared} bytes) but holds {data_size} bytes of data; the file is damaged or crafted",
        )


def _check_npz_comment(path, comment, names):
    if not comment:
        return  # written by np.savez: the zip CRCs are all there is to check
    try:
        info = json.loads(comment.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        info = None
    if not isinstance(info, dict) or info.get(KEY_FORMAT) != FORMAT_NAME:
        if b"pytrainc" in comment or b"format_version" in comment:
            raise bad_file(
                path,
                "the pytrainc comment at the end of the archive is damaged or cut off (is the file truncated?)",
            )
        return  # someone else's comment
    version = info.get(KEY_VERSION)
    if not isinstance(version, str) or not version.isdigit() or not version.isascii():
        raise bad_file(path, f"the archive has format_version {version!r:.50}; the file is damaged")
    if int(version) > FORMAT_VERSION:
        raise bad_file(path, newer_version_problem(version))
    if int(version) != FORMAT_VERSION:
        raise bad_file(path, f"unknown format_version {version!r}; the file is damaged")
    names_json = json.dumps(names, ensure_ascii=False)
    if (
        info.get("count") != len(names)
        or info.get("names_sha256") != hashlib.sha256(names_json.encode("utf-8")).hexdigest()
    ):
        raise bad_file(
            path,
            f"the archive lists {len(names)} arrays but was written with "
            f"{info.get('count')!r:.20} (or with other names); the file is damaged",
        )
