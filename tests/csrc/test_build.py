"""Build and packaging contract: the installed extension and its BLAS.

With the default build (scipy-openblas32), pytrainc/_vendor/ holds the OpenBLAS
shared library and pytrainc._C finds it through an `$ORIGIN`-relative rpath.
A build with PYTRAINC_BLAS=system vendors nothing; run the tests with the same
variable set to check that build instead.
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pytrainc
from pytrainc import _C

SYSTEM_BLAS = os.environ.get("PYTRAINC_BLAS", "").strip().lower() == "system"
VENDORED_LIB = "libscipy_openblas.so"

PKG_DIR = Path(pytrainc.__file__).resolve().parent
EXT_PATH = Path(_C.__file__).resolve()
VENDOR_DIR = PKG_DIR / "_vendor"

vendored_only = pytest.mark.skipif(SYSTEM_BLAS, reason="PYTRAINC_BLAS=system vendors no BLAS")


def _readelf_dynamic(path):
    """(NEEDED libraries, RPATH/RUNPATH entries) of a shared object, via readelf -d."""
    out = subprocess.run(["readelf", "-d", str(path)], check=True, capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]*)\]", out)
    paths = []
    for value in re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library (?:rpath|runpath): \[([^\]]*)\]", out):
        paths.extend(p for p in value.split(":") if p)
    return needed, paths


def _mapped_files():
    """Paths of the files mapped into this process (Linux)."""
    with open("/proc/self/maps", encoding="utf-8") as f:
        return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}


def test_extension_imports_from_installed_location():
    assert EXT_PATH.parent == PKG_DIR, f"_C at {EXT_PATH} is not inside {PKG_DIR}"
    try:
        dist = importlib.metadata.distribution("pytrainc")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("pytrainc is not installed: run `pip install .` (or `pip install -e .`)")
    assert dist.version == pytrainc.__version__
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct_url.get("dir_info", {}).get("editable", False):
        return  # an editable install imports the source tree by design
    installed = Path(dist.locate_file("pytrainc")).resolve()
    assert PKG_DIR == installed, (
        f"imported pytrainc from {PKG_DIR}, but it is installed at {installed}: "
        "the source tree is shadowing the installed package"
    )


@vendored_only
def test_vendored_openblas_next_to_extension():
    lib = VENDOR_DIR / VENDORED_LIB
    assert lib.is_file(), f"expected the vendored OpenBLAS at {lib}"
    assert not list(VENDOR_DIR.glob("*.a")), "static archives must not be vendored"


@vendored_only
@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc/self/maps (Linux)")
def test_extension_loaded_the_vendored_openblas():
    # NumPy's own OpenBLAS (libscipy_openblas64_*) has another name and ABI.
    loaded = {str(Path(p).resolve()) for p in _mapped_files() if os.path.basename(p) == VENDORED_LIB}
    expected = str((VENDOR_DIR / VENDORED_LIB).resolve())
    assert loaded == {expected}, f"expected only {expected} to be loaded. Loaded: {sorted(loaded)}"


@vendored_only
@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf not found (binutils)")
def test_rpath_is_origin_relative():
    needed, paths = _readelf_dynamic(EXT_PATH)
    assert VENDORED_LIB in needed, f"NEEDED entries: {needed}"
    assert "$ORIGIN/_vendor" in paths, f"RPATH/RUNPATH entries: {paths}"
    absolute = [p for p in paths if not p.startswith("$ORIGIN")]
    assert not absolute, f"build-time absolute rpath entries left in {EXT_PATH.name}: {absolute}"


@pytest.mark.skipif(not SYSTEM_BLAS, reason="only for builds with PYTRAINC_BLAS=system")
def test_system_blas_build_vendors_nothing():
    assert not VENDOR_DIR.exists() or not any(VENDOR_DIR.iterdir())
    if shutil.which("readelf"):
        needed, _ = _readelf_dynamic(EXT_PATH)
        assert any(n.startswith("libopenblas") for n in needed), f"NEEDED entries: {needed}"


def test_blas_info():
    info = pytrainc.blas_info()
    assert set(info) >= {"config", "num_threads"}
    assert isinstance(info["config"], str) and "OpenBLAS" in info["config"]
    assert isinstance(info["num_threads"], int) and info["num_threads"] >= 1


def test_set_num_threads_round_trip():
    before = pytrainc.blas_info()["num_threads"]
    try:
        pytrainc.set_num_threads(1)
        assert pytrainc.blas_info()["num_threads"] == 1
    finally:
        pytrainc.set_num_threads(before)
    assert pytrainc.blas_info()["num_threads"] == before
