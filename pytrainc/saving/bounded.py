"""Reading a file in a child process that is bounded in time and memory.

libhdf5 can loop forever at 100% CPU, or allocate memory without limit, on a
damaged HDF5 file (plain h5py does the same), and Ctrl-C cannot stop it while
it does. Checks before the read cannot rule this out, because the loops are
in libhdf5's own parsing of the file's metadata. So on Linux pytrainc reads an
HDF5 file in a forked child process with:

- at most `time_limit(size)` seconds of wall-clock time: 10 s plus 1 s per
  10 MB of file (and the same CPU time, should the parent die);
- at most `memory_limit(size)` bytes of memory beyond what the process had
  when it forked: 256 MiB plus 4 times the file's size.

A child past a limit, or killed by a signal (libhdf5 can also crash on a
damaged file), is killed and the read raises a ValueError naming the file.
Ctrl-C in the parent kills the child and raises KeyboardInterrupt at once.
The child sends its result back as safetensors bytes (nothing is unpickled),
and an error as its type name and message.

Elsewhere (no `fork`, or not Linux, where forking a process with threads is
not safe), the read runs in the calling process, with only the checks that
the reader itself makes.
"""

import collections
import contextlib
import json
import os
import select
import signal
import sys
import time

from pytrainc.saving._common import BadFile, bad_file
from pytrainc.saving.safetensors import read_safetensors_bytes, safetensors_chunks

__all__ = ["run_bounded", "time_limit", "memory_limit"]

_BASE_SECONDS = 10.0
_BYTES_PER_SECOND = 10e6
_BASE_MEMORY = 256 << 20
_MEMORY_PER_FILE_BYTE = 4
# Errors of the child that come back as themselves (with their message); any
# other becomes a ValueError naming the file.
_RAISED_AS_IS = {cls.__name__: cls for cls in (ValueError, FileNotFoundError, PermissionError, IsADirectoryError)}
_RESULT_KEY = "pytrainc.result"
_FORK = hasattr(os, "fork") and sys.platform.startswith("linux")


def time_limit(size):
    """Seconds a bounded read of a file of `size` bytes may take."""
    return _BASE_SECONDS + size / _BYTES_PER_SECOND


def memory_limit(size):
    """Bytes a bounded read of a file of `size` bytes may allocate."""
    return _BASE_MEMORY + _MEMORY_PER_FILE_BYTE * size


def run_bounded(path, size, read, *args, lock=None):
    """`read(*args)`, run in a child process bounded in time and memory.

    Args:
        path: The file being read, for error messages.
        size: Its size in bytes, which sets the limits.
        read: A function returning `(tensors, metadata)`: an ordered mapping
            of str to numeric arrays and a dict of str to str.
        *args: Its arguments.
        lock: Optional context manager held while forking (h5py's lock, so
            that no other thread holds it in the child).

    Returns:
        `read(*args)` as the child computed it.

    Raises:
        ValueError: for a read past a limit or killed by a signal, naming the
            file; and errors of `read` itself (ValueError, FileNotFoundError,
            ...) with their message.
    """
    if not _FORK:
        return read(*args)
    readable, writable = os.pipe()
    with lock if lock is not None else contextlib.nullcontext():
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(readable)
        _child(writable, size, read, args)
    os.close(writable)
    try:
        payload, status = _collect(path, size, pid, readable)
    finally:
        os.close(readable)
    return _result(path, size, payload, status)


def _child(fd, size, read, args):
    try:
        with contextlib.suppress(ValueError):  # the parent handles Ctrl-C, and kills the child
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        _limit_resources(size)
        try:
            chunks = [b"R", *_pack(*read(*args))]
        except BaseException as err:  # MemoryError at the limit included
            chunks = [b"E", json.dumps({"type": type(err).__name__, "message": str(err)}).encode("utf-8")]
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    finally:
        os._exit(0)


def _pack(tensors, metadata):
    """The safetensors bytes of a result: tensors by position, names and metadata as JSON
    (so that no name or metadata key of the file meets the rules of safetensors)."""
    arrays = collections.OrderedDict((str(i), value) for i, value in enumerate(tensors.values()))
    return safetensors_chunks(arrays, {_RESULT_KEY: json.dumps({"names": list(tensors), "metadata": metadata})})


def _unpack(arrays, metadata):
    result = json.loads(metadata[_RESULT_KEY])
    return collections.OrderedDict(zip(result["names"], arrays.values())), result["metadata"]


def _limit_resources(size):
    import resource

    seconds = int(time_limit(size)) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    with open("/proc/self/statm") as f:
        in_use = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = in_use + memory_limit(size)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _collect(path, size, pid, fd):
    """Everything the child writes, and its wait status; kills it past the limits."""
    deadline = time.monotonic() + time_limit(size)
    cap = 2 * memory_limit(size)
    payload = bytearray()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise bad_file(
                    path,
                    f"reading it took more than {time_limit(size):.0f} s, the limit for a file of "
                    f"{size} bytes (libhdf5 can loop forever on a damaged file); the file is damaged",
                )
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            payload += chunk
            if len(payload) > cap:
                raise bad_file(
                    path,
                    f"reading it produced more than {cap} bytes, more than a file of {size} bytes "
                    "can hold; the file is damaged",
                )
    except BaseException:  # a limit, or KeyboardInterrupt
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    return payload, status


def _result(path, size, payload, status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        if sig == signal.SIGXCPU:
            raise bad_file(path, f"reading it used more than {time_limit(size):.0f} s of CPU; the file is damaged")
        raise bad_file(path, f"the HDF5 library crashed reading it ({name}); the file is damaged")
    if not payload:
        raise bad_file(path, f"the process reading it exited with status {os.WEXITSTATUS(status)} and no result")
    kind, body = payload[:1], bytes(payload[1:])
    if kind == b"R":
        return _unpack(*read_safetensors_bytes(body, path))
    error = json.loads(body.decode("utf-8"))
    name, message = error["type"], error["message"]
    if name == "MemoryError":
        raise bad_file(
            path,
            f"reading it needs more than {memory_limit(size) >> 20} MiB, the limit for a file "
            f"of {size} bytes; the file is damaged or crafted",
        )
    if name == BadFile.__name__:
        raise BadFile(message)
    if name in _RAISED_AS_IS:
        raise _RAISED_AS_IS[name](message)
    raise bad_file(path, f"reading it failed ({name}: {message})")
