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
import re
import secrets
import stat
import time

import numpy as np

from pytrainc.saving._common import fspath

try:
    import fcntl
except ImportError:  # Windows: no locks, so temporary files of killed saves stay
    fcntl = None

__all__ = ["atomic_write_bytes", "atomic_file"]

_TEMP_SUFFIX = re.compile(r"[0-9a-f]{12}\.tmp")
_UNLOCKED_GRACE_SECONDS = 10.0
# Windows cannot rename a file that is open; elsewhere it is renamed while
# still open and locked, so that no other save mistakes it for a stale one.
_REPLACE_OPEN_FILE = os.name != "nt"


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


def _lock(fd):
    """Holds an exclusive lock on the temporary file while it is written.

    The kernel drops it when the writer dies, even by kill -9, so a later save
    can tell a temporary file left behind from one still being written.
    """
    if fcntl is None:
        return
    with contextlib.suppress(OSError):  # a file system without locks: no cleanup, still a save
        fcntl.flock(fd, fcntl.LOCK_EX)


def _remove_stale_temporaries(directory, base):
    """Removes the temporary files of `base` that killed saves left in `directory`.

    A temporary file whose lock can be taken has no writer any more. One that
    is still empty and younger than a few seconds is spared: its writer may
    be between creating it and locking it.
    """
    if fcntl is None:
        return
    try:
        names = os.listdir(directory)
    except OSError:
        return
    prefix = f".{base}."
    for name in names:
        if not (name.startswith(prefix) and _TEMP_SUFFIX.fullmatch(name, len(prefix))):
            continue
        candidate = os.path.join(directory, name)
        try:
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a writer holds it
            st = os.fstat(fd)
            if st.st_size or time.time() - st.st_mtime > _UNLOCKED_GRACE_SECONDS:
                os.unlink(candidate)
        except OSError:
            pass
        finally:
            os.close(fd)


def _naming_target(err, path, doing):
    """The OSError `err` as one that names the file being saved, not the temporary file.

    A full disk gives an error with no file name, and a read-only directory
    one that names the temporary file; either way the caller wants `path`.
    """
    if err.errno is None:
        return OSError(f"Cannot save '{path}' ({doing}): {err}. A previous file there is unchanged")
    return OSError(err.errno, f"{err.strerror} ({doing}); a previous file there is unchanged", path)


@contextlib.contextmanager
def atomic_file(path):
    """Yields a binary file object whose contents replace `path` on success.

    The temporary file `.<name>.<random>.tmp` lives next to `path` (a rename
    is only atomic within one file system); on any exception, including
    KeyboardInterrupt, it is removed and `path` is left as it was. Temporary
    files of `path` left by saves that were killed (kill -9, power cut) are
    removed first. An OSError names `path`, not the temporary file.
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
    _remove_stale_temporaries(directory, base)

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 lets the umask decide the permissions, as for open(path, "wb").
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as err:
            raise _naming_target(err, path, f"creating a temporary file in {directory!r}") from err
    doing = "writing"
    try:
        with os.fdopen(fd, "wb") as f:
            _lock(fd)
            if mode is not None:
                # Keep the permissions of the file being replaced (best effort:
                # only its owner may copy them).
                with contextlib.suppress(OSError):
                    os.chmod(tmp, mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
            doing = "renaming the temporary file over it"
            if _REPLACE_OPEN_FILE:  # the lock is held until the new file is in place
                os.replace(tmp, path)
        if not _REPLACE_OPEN_FILE:
            os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):  # never hide the original error
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _naming_target(err, path, doing) from err
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
            (`bytes`, `bytearray`, `memoryview`, NumPy arrays of any layout,
            whose elements are written in C order) written one after another
            without being joined first.

    Returns:
        None.

    Raises:
        TypeError: if `path` is not a path or a chunk is not bytes-like.
        OSError: if the file cannot be written (full disk, read-only
            directory, ...); the message names `path`, which is unchanged.

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
                raise TypeError("Expected each chunk to be bytes-like. Received: a str; encode it first")
            if isinstance(chunk, np.ndarray) and not chunk.flags.c_contiguous:
                chunk = np.ascontiguousarray(chunk)
            f.write(chunk)
