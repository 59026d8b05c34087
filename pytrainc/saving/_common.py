"""What every file format of `pytrainc.saving` shares: paths, the bad-file error, names.

Each helper exists once here; the format modules (safetensors, npz, h5, the
model file) import it instead of keeping their own copy.
"""

import os

# The format name and version that pytrainc writes into every file it owns.
FORMAT_NAME = "pytrainc"
FORMAT_VERSION = 1
# The metadata keys that hold them (safetensors `__metadata__`, the .npz zip comment).
KEY_FORMAT = "format"
KEY_VERSION = "format_version"

PICKLE_ADVICE = (
    "pytrainc never unpickles files, because unpickling can run arbitrary code. "
    "If this is a PyTorch checkpoint you trust, convert it once in PyTorch: "
    "`from safetensors.torch import save_file; "
    "save_file(torch.load(path, weights_only=True), 'model.safetensors')`, "
    "then load 'model.safetensors' with pytrainc.load"
)
# The pickled magic number at the start of PyTorch's legacy (pre-1.6) format.
_TORCH_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")


def fspath(path, argname="path"):
    """`path` as a str; a TypeError naming `argname` for anything that is not a path."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fsdecode(path)
    raise TypeError(
        f"Expected `{argname}` to be a str or os.PathLike. Received: {argname}={path!r} of type {type(path).__name__}"
    )


class BadFile(ValueError):
    """A file that cannot be loaded; a plain ValueError to callers."""


def bad_file(path, problem):
    """The error for a damaged, truncated or foreign file: it names the file and the problem."""
    return BadFile(f"Cannot load '{path}': {problem}")


def newer_version_problem(version):
    return (
        f"it was written by a newer version of pytrainc (file format_version {version}; "
        f"this pytrainc reads format_version {FORMAT_VERSION}). Upgrade pytrainc to load it"
    )


def looks_like_pickle(head):
    """Whether the first bytes of a file are a pickle (PyTorch's .pt/.pth/.bin files)."""
    # Pickle protocols 2 to 5 start with the PROTO opcode 0x80 and the
    # protocol number; PyTorch's legacy format then pickles a magic number.
    return (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or (
        _TORCH_LEGACY_MAGIC in head[:32]
    )


# Keras 3's naming.to_snake_case; it names a layer's group in `.weights.h5` files.
from pytrainc.utils import snake_case  # noqa: E402,F401
