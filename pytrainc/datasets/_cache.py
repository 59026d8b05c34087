"""The dataset cache: where archives live, checksums, and downloads.

Archives are kept in one directory, chosen by the environment:

- `PYTRAINC_DATA`, if set, is that directory;
- otherwise `PYTRAINC_HOME`, if set, holds it as `$PYTRAINC_HOME/datasets`;
- otherwise it is `~/.pytrainc/datasets`.

Every archive is checked against the SHA-256 digest pinned by its loader, both
when it is downloaded and each time it is loaded. A download is written to a
temporary file in the cache directory and renamed into place only after its
digest matched, so the cache never holds a partial or unverified file.
"""

import hashlib
import http.client
import os
import sys
import urllib.request

from pytrainc import saving

__all__ = ["data_dir", "get_file"]

ENV_DATA = "PYTRAINC_DATA"
ENV_HOME = "PYTRAINC_HOME"

# The function that opens a URL, called as `urlopen(url, timeout=...)`, which
# returns a file-like response usable as a context manager. Looked up at each
# download, so it can be replaced (tests install fakes, a user can install an
# opener with a proxy).
urlopen = urllib.request.urlopen
TIMEOUT_SECONDS = 60
_CHUNK_SIZE = 1 << 20


class _DownloadFailed(Exception):
    """The network or server failed; a disk error is an OSError and not this."""


def data_dir():
    """Returns the directory that holds downloaded dataset archives.

    `$PYTRAINC_DATA` if set, else `$PYTRAINC_HOME/datasets` if `PYTRAINC_HOME`
    is set, else `~/.pytrainc/datasets`. The directory need not exist yet; it
    is created by the first download.

    Returns:
        An absolute path (str).

    Example:

    >>> import pytrainc
    >>> pytrainc.datasets.data_dir()  # doctest: +SKIP
    '/home/me/.pytrainc/datasets'
    """
    data = os.environ.get(ENV_DATA)
    if data:
        return os.path.abspath(os.path.expanduser(data))
    home = os.environ.get(ENV_HOME)
    if home:
        return os.path.abspath(os.path.join(os.path.expanduser(home), "datasets"))
    return os.path.abspath(os.path.join(os.path.expanduser("~"), ".pytrainc", "datasets"))


def get_file(fname, origin, sha256, algorithm="sha256"):
    """Returns the path of a verified archive, downloading it if it is absent.

    Args:
        fname: str, the file name in the cache directory (an absolute path is
            used as is, as Keras's `get_file` does).
        origin: str, the official URL of the file.
        sha256: str, the expected hex digest of the file.
        algorithm: "sha256", or "md5" for the files Keras pins by MD5 only (the
            word indexes of imdb and reuters). Defaults to "sha256".

    Returns:
        The path (str) of the file, whose digest matched.

    Raises:
        FileNotFoundError: if the file is absent and cannot be downloaded; the
            message names the file, its URL and digest, and where to put it.
        ValueError: if the file (cached or downloaded) has another digest. A
            bad download is removed; a bad cached file is left for the user.
    """
    path = os.path.join(data_dir(), fname)
    if os.path.isfile(path):
        actual = file_sha256(path, algorithm)
        if actual != sha256:
            raise ValueError(
                f"The cached file '{path}' is damaged or not the official {os.path.basename(path)}: "
                f"expected {algorithm} {sha256}. Received: {algorithm} {actual}. Delete it to download it "
                f"again from {origin}"
            )
        return path
    if os.environ.get("PYTRAINC_OFFLINE", "") not in ("", "0"):
        raise FileNotFoundError(_missing_message(path, origin, sha256, "PYTRAINC_OFFLINE is set, so no download"))
    download(origin, path, sha256, algorithm)
    return path


def download(url, path, sha256, algorithm="sha256"):
    """Downloads `url` to `path` through a verified temporary file.

    Args:
        url: str, the URL to fetch with the module-level `urlopen`.
        path: str, the destination file; its directory is created if needed.
        sha256: str, the expected hex SHA-256 digest.

    Raises:
        FileNotFoundError: if the download fails (no network, HTTP error, cut
            connection); nothing is left in the cache directory.
        ValueError: if the downloaded bytes have another digest; the
            temporary file is removed and `path` is not created.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    print(f"Downloading data from {url}", file=sys.stderr)
    try:
        response = urlopen(url, timeout=TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException) as err:  # URLError, HTTPError, timeouts
        raise FileNotFoundError(_missing_message(path, url, sha256, err)) from err
    with response:
        try:
            # atomic_write_bytes removes its temporary file when the chunks
            # raise, so a failed or mismatched download never reaches `path`.
            # A local error (disk full) stays an OSError of its own.
            saving.atomic_write_bytes(path, _verified_chunks(response, url, sha256, algorithm))
        except _DownloadFailed as err:
            reason = err.__cause__
            raise FileNotFoundError(_missing_message(path, url, sha256, reason)) from reason


def _verified_chunks(response, url, sha256, algorithm="sha256"):
    digest = hashlib.new(algorithm)
    while True:
        try:
            chunk = response.read(_CHUNK_SIZE)
        except (OSError, http.client.HTTPException) as err:
            raise _DownloadFailed() from err
        if not chunk:
            break
        digest.update(chunk)
        yield chunk
    actual = digest.hexdigest()
    if sha256 is not None and actual != sha256:  # None: `utils.get_file` without a pinned hash
        raise ValueError(
            f"The file downloaded from {url} has the wrong checksum: expected {algorithm} {sha256}. "
            f"Received: {algorithm} {actual}. It was discarded; try again, or download it yourself"
        )


def _missing_message(path, url, sha256, reason):
    return (
        f"The dataset file '{os.path.basename(path)}' is not in the cache and could not be "
        f"downloaded ({type(reason).__name__}: {reason}). Download it yourself from "
        f"{url} (sha256 {sha256}) and put it at '{path}', or set the {ENV_DATA} environment "
        "variable to a directory that holds it"
    )


def file_sha256(path, algorithm="sha256"):
    """Returns the hex SHA-256 (or `algorithm`'s) digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()
