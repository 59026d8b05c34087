"""Atomic writes: readers see the old file or the new one, never a part of either.

Every writer of `pytrainc.saving` goes through `atomic_file` (or
`atomic_write_bytes`): the bytes go to a temporary file next to the target,
which is flushed, fsync'ed and renamed over it with `os.replace`; the
directory is then fsync'ed so that the rename itself survives a power cut.
"""

import collections.abc
import contextlib
import errno
import os
import secrets
import stat

import numpy as np

from pytrainc.saving._common import fspath

__all__ = ["atomic_write_bytes", "atomic_file"]


def _fsync_directory(directory):
    # Makes the rename itself durable. Windows cannot open directories, and a
    # few file systems refuse fsync on them; neither is worth failing a save.
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a binary file object whose contents replace `path` on success.

    The temporary file lives next to `path` (a rename is only atomic within
    one file system); on any exception, including KeyboardInterrupt, it is
    removed and `path` is left as it was.
    """
    path = fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not base:
        raise IsADirectoryError(f"Expected a file path. Received a directory path: {path!r}")
    mode = None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"Expected a file path. Received a directory: {path!r}")
        mode = stat.S_IMODE(st.st_mode)

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 lets the umask decide the permissions, as for open(path, "wb").
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                # Keep the permissions of the file being replaced (best effort:
                # only its owner may copy them).
                with contextlib.suppress(OSError):
                    os.chmod(tmp, mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # never hide the original error
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path, chunks):
    """Writes bytes to a file atomically: readers see the old file or the new one.

    The chunks go to a temporary file in the same directory, which is flushed,
    fsync'ed and renamed over `path` with `os.replace`; the directory is then
    fsync'ed. If anything fails (or the process dies) before the rename, the
    previous contents of `path` are untouched, and on an exception the
    temporary file is removed.

    Args:
        path: str or os.PathLike, the file to write.
        chunks: a bytes-like object, or an iterable of bytes-like objects
            (`bytes`, `bytearray`, `memoryview`, C-contiguous NumPy arrays)
            written one after another without being joined first.

    Returns:
        None.

    Raises:
        TypeError: if `path` is not a path or a chunk is not bytes-like.
        OSError: if the file cannot be written; `path` is then unchanged.

    Example:

    >>> atomic_write_bytes("notes.txt", [b"epoch 1\\n", b"epoch 2\\n"])
    """
    path = fspath(path)
    if isinstance(chunks, (bytes, bytearray, memoryview, np.ndarray)):
        chunks = (chunks,)
    elif isinstance(chunks, str) or not isinstance(chunks, collections.abc.Iterable):
        raise TypeError(
            "Expected `chunks` to be bytes-like or an iterable of bytes-like objects. "
            f"Received: chunks of type {type(chunks).__name__}"
        )
    with atomic_file(path) as f:
        for chunk in chunks:
            if isinstance(chunk, str):
                raise TypeError(
                    "Expected each chunk to be bytes-like. Received: a str; encode it first"
                )
            f.write(chunk)
