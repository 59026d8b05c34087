"""`get_file`: Keras's cached download (`keras.utils.get_file`), verified and extracted safely.

Files go to `cache_dir/cache_subdir`, by default pytrainc's dataset cache for
`cache_subdir="datasets"` (`pytrainc.datasets.data_dir()`) and `~/.pytrainc/<subdir>`
(or `$PYTRAINC_HOME/<subdir>`) otherwise. A download is written to a temporary file,
checked against `file_hash` and only then renamed into place; an archive is
extracted without letting any member leave the extraction directory (no absolute
paths, no `..`, no links out of it).
"""

import os
import tarfile
import urllib.parse
import warnings
import zipfile

from pytrainc.datasets import _cache

__all__ = ["get_file"]


def _algorithm(hash_algorithm, file_hash):
    """Keras's `resolve_hasher`: 'auto' is sha256 for a 64-digit hash, md5 otherwise."""
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"`hash_algorithm` must be 'auto', 'sha256' or 'md5'. Received: {hash_algorithm!r}")
    if hash_algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return hash_algorithm


def _cache_dir(cache_dir, cache_subdir):
    if cache_dir is not None:
        return os.path.join(os.path.expanduser(cache_dir), cache_subdir)
    if cache_subdir == "datasets":
        return _cache.data_dir()
    home = os.environ.get(_cache.ENV_HOME) or os.path.join("~", ".pytrainc")
    return os.path.join(os.path.expanduser(home), cache_subdir)


def _inside(root, name):
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def _extract(path, directory, archive_format):
    """Extracts a tar or zip archive into `directory`; returns False if `path` is neither."""
    formats = {"auto": ("tar", "zip"), "tar": ("tar",), "zip": ("zip",)}.get(archive_format)
    if formats is None:
        raise ValueError(f"`archive_format` must be 'auto', 'tar' or 'zip'. Received: {archive_format!r}")
    root = os.path.realpath(directory)
    if "tar" in formats and tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            members = archive.getmembers()
            for m in members:
                link_ok = not (m.issym() or m.islnk()) or _inside(
                    root, os.path.join(os.path.dirname(m.name), m.linkname)
                )
                if not _inside(root, m.name) or not link_ok or m.isdev():
                    raise ValueError(f"The archive {path} has a member that leaves its directory: {m.name!r}")
            os.makedirs(root, exist_ok=True)
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # checked above, too
            archive.extractall(root, members=members, **safe)
        return True
    if "zip" in formats and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            bad = [n for n in archive.namelist() if not _inside(root, n)]
            if bad:
                raise ValueError(f"The archive {path} has a member that leaves its directory: {bad[0]!r}")
            archive.extractall(root)
        return True
    return False


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads a file from a URL unless it is cached, as `keras.utils.get_file`.

    Give `file_hash` (the hex SHA-256, or MD5, of the file, from a source you trust):
    the cached or downloaded file is then checked against it, and a download that
    does not match is discarded. Without it the file is used unchecked (a warning
    says so).

    Args:
        fname: The file's name in the cache; None: the last part of `origin`'s path.
        origin: The URL (`https://`, `http://`, `file://`).
        untar: Deprecated alias of `extract=True` for a tar archive. Defaults to False.
        md5_hash: Deprecated: an MD5 `file_hash`. Defaults to None.
        file_hash: The expected hex digest. Defaults to None.
        cache_subdir: Subdirectory of the cache. Defaults to "datasets".
        hash_algorithm: "sha256", "md5" or "auto" (by the hash's length). Defaults to "auto".
        extract: Whether to extract a tar or zip archive. Defaults to False.
        archive_format: "auto", "tar" or "zip". Defaults to "auto".
        cache_dir: The cache's root. Defaults to None (see the module's docstring).
        force_download: Whether to download again even when cached. Defaults to False.

    Returns:
        The path of the file, or of its extraction directory with `extract`.

    Raises:
        ValueError: without `origin`, for an `fname` holding a directory, a file
            whose digest differs from `file_hash`, or an unsafe archive.
        FileNotFoundError: if the download fails.

    Example:

    >>> path = get_file(origin="https://example.com/data.csv", file_hash="9f86d0...")  # doctest: +SKIP
    """
    if not origin:
        raise ValueError(f"get_file needs the `origin` URL. Received: origin={origin!r}")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _algorithm(hash_algorithm, file_hash)
    provided = fname is not None
    if fname is None:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Could not take a file name from origin={origin!r}: give `fname`")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(f"`fname` is a file name; give its directory as `cache_dir`. Received: fname={fname!r}")
    directory = _cache_dir(cache_dir, cache_subdir)
    target = os.path.join(directory, fname)
    if extract or untar:  # Keras's names: data.tar.gz -> data_extracted/, data -> data_archive + data/
        stem = fname[: fname.find(".")] if provided and "." in fname else fname
        extraction = os.path.join(directory, f"{stem}_extracted" if provided and "." in fname else stem)
        if not (provided and "." in fname):
            target = os.path.join(directory, f"{fname}_archive")
    if file_hash is None:
        warnings.warn(
            f"get_file: no `file_hash` for {origin}, so the file is not verified. Pass its sha256 to pin it.",
            stacklevel=2,
        )
    if not os.path.isfile(target) or force_download:
        _cache.download(origin, target, file_hash, algorithm)
    elif file_hash is not None and _cache.file_sha256(target, algorithm) != file_hash:
        os.remove(target)  # Keras downloads again a cached file that no longer matches
        _cache.download(origin, target, file_hash, algorithm)
    if extract or untar:
        if not _extract(target, extraction, "tar" if untar else archive_format):
            warnings.warn(f"get_file could not extract {target}: not a tar or zip archive", stacklevel=2)
        return extraction
    return target
