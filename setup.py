"""Build pytrainc's C extension, pytrainc._C.

BLAS backends, chosen with the PYTRAINC_BLAS environment variable at build time:

- unset (the default): PyPI's scipy-openblas32, a build requirement in
  pyproject.toml. Its symbols carry the `scipy_` prefix, so they never clash
  with NumPy's or a system OpenBLAS. Its shared library is vendored: copied into
  the package as pytrainc/_vendor/libscipy_openblas.so, and the extension finds
  it through the rpath `$ORIGIN/_vendor`, which holds for wheels, `pip install .`
  and `pip install -e .` alike (the isolated build env is gone after the build,
  so no build-time path may be baked in).

- PYTRAINC_BLAS=system: a system OpenBLAS found by
  `pkg-config --cflags --libs openblas` (Debian/Ubuntu: apt-get install
  libopenblas-dev pkg-config). Compiled with -DPTC_SYSTEM_OPENBLAS; nothing is
  vendored, and the loader finds libopenblas at run time as any system library.
  Example: PYTRAINC_BLAS=system pip install .
  (scipy-openblas32 still lands in pip's isolated build env, unused). Run the
  tests with PYTRAINC_BLAS=system set too: tests/csrc/test_build.py then checks the
  system build instead of the vendored one.
"""

import os
import re
import shlex
import subprocess
from glob import glob

import numpy
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

PACKAGE = "pytrainc"
VENDOR_DIR = "_vendor"  # inside the package, next to _C*.so
BLAS = os.environ.get("PYTRAINC_BLAS", "scipy-openblas").strip().lower() or "scipy-openblas"
if BLAS not in ("scipy-openblas", "system"):
    raise SystemExit(f"PYTRAINC_BLAS must be unset or 'system'. Received: {BLAS!r}")

RPATH_FLAG = re.compile(r"^-Wl,(-rpath[,=]|-R)")
# -fno-math-errno: sqrtf and friends never set errno (nothing reads it), which
# lets the optimizer loops vectorize; IEEE results (NaN, inf) are unchanged.
# -ffp-contract=off: no a * b + c fused into an FMA, so the AVX2/AVX-512 copies of
# the kernels (csrc/isa.h) round exactly as the baseline copy does.
COMPILE_ARGS = [
    "-O3",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-fvisibility=hidden",
    "-fno-math-errno",
    "-ffp-contract=off",
]


def read_version():
    # Parsed, not imported: importing pytrainc needs the extension being built.
    with open(os.path.join(PACKAGE, "__init__.py"), encoding="utf-8") as f:
        match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", f.read(), re.M)
    if match is None:
        raise SystemExit(f'setup.py expects a line `__version__ = "X.Y.Z"` in {PACKAGE}/__init__.py. Received none.')
    return match.group(1)


def read_readme():
    # Optional so that a checkout without README.md still builds.
    if not os.path.exists("README.md"):
        return ""
    with open("README.md", encoding="utf-8") as f:
        return f.read()


def scipy_openblas_libraries(lib_dir):
    """The shared libraries of scipy-openblas32 that the extension loads at run time."""
    libs = sorted(name for name in os.listdir(lib_dir) if name.startswith("libscipy_openblas") and ".so" in name)
    if not libs:
        raise SystemExit(f"scipy-openblas32 has no shared library in {lib_dir}")
    return libs


def blas_config():
    """Extension keyword arguments for the selected BLAS, and the files to vendor."""
    if BLAS == "system":
        try:
            out = subprocess.run(
                ["pkg-config", "--cflags", "--libs", "openblas"], check=True, capture_output=True, text=True
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SystemExit(
                "PYTRAINC_BLAS=system needs `pkg-config --cflags --libs "
                "openblas` to succeed (apt-get install libopenblas-dev "
                f"pkg-config). It failed: {exc}"
            ) from exc
        kw = {"include_dirs": [], "library_dirs": [], "libraries": [], "extra_compile_args": [], "extra_link_args": []}
        for flag in shlex.split(out):
            if flag.startswith("-I"):
                kw["include_dirs"].append(flag[2:])
            elif flag.startswith("-L"):
                kw["library_dirs"].append(flag[2:])
            elif flag.startswith("-l"):
                kw["libraries"].append(flag[2:])
            else:
                kw["extra_compile_args"].append(flag)
                kw["extra_link_args"].append(flag)
        kw["define_macros"] = [("PTC_SYSTEM_OPENBLAS", None)]
        return kw, []

    import scipy_openblas32  # build requirement (pyproject.toml)

    lib_dir = scipy_openblas32.get_lib_dir()
    kw = {
        "include_dirs": [scipy_openblas32.get_include_dir()],
        "library_dirs": [lib_dir],  # link time only; run time uses the rpath below
        "libraries": [scipy_openblas32.get_library()],
        "define_macros": [],
        "extra_compile_args": [],
        # Literal `$ORIGIN`: setuptools runs the linker without a shell.
        "extra_link_args": [f"-Wl,-rpath,$ORIGIN/{VENDOR_DIR}"],
    }
    vendored = [os.path.join(lib_dir, name) for name in scipy_openblas_libraries(lib_dir)]
    return kw, vendored


class BuildExt(build_ext):
    """build_ext that also copies the BLAS shared library next to the extension.

    The copy goes to <build_lib>/pytrainc/_vendor (what wheels, hence
    `pip install .`, ship) and, for in-place and editable builds, to the source
    tree's pytrainc/_vendor (git-ignored), where the in-place _C*.so looks.
    """

    def build_extensions(self):
        # Some interpreters (pyenv, conda) put `-Wl,-rpath,<their lib dir>` in
        # LDSHARED; a wheel must not carry that absolute path of the build machine.
        self.compiler.linker_so = [arg for arg in self.compiler.linker_so if not RPATH_FLAG.match(arg)]
        super().build_extensions()

    def run(self):
        super().run()  # builds into build_lib, then copies to source if inplace
        for src in VENDORED_LIBS:
            for dest_dir in self._vendor_dirs():
                os.makedirs(dest_dir, exist_ok=True)
                self.copy_file(src, os.path.join(dest_dir, os.path.basename(src)))

    def _vendor_dirs(self):
        dirs = [os.path.join(self.build_lib, PACKAGE, VENDOR_DIR)]
        if self.inplace:
            build_py = self.get_finalized_command("build_py")
            dirs.append(os.path.join(build_py.get_package_dir(PACKAGE), VENDOR_DIR))
        return dirs

    def _vendor_mapping(self):
        # (file in build_lib, its in-place twin), as setuptools' editable_wheel expects
        build_py = self.get_finalized_command("build_py")
        for src in VENDORED_LIBS:
            name = os.path.basename(src)
            yield (
                os.path.join(self.build_lib, PACKAGE, VENDOR_DIR, name),
                os.path.join(build_py.get_package_dir(PACKAGE), VENDOR_DIR, name),
            )

    def get_outputs(self):
        outputs = super().get_outputs()
        for regular, inplace in self._vendor_mapping():
            outputs.append(inplace if self.inplace else regular)
        return outputs

    def get_output_mapping(self):
        mapping = super().get_output_mapping()
        if self.inplace:
            mapping.update(dict(self._vendor_mapping()))
        return mapping


BLAS_KW, VENDORED_LIBS = blas_config()

setup(
    version=read_version(),
    long_description=read_readme(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    ext_modules=[
        Extension(
            f"{PACKAGE}._C",
            sources=sorted(glob("csrc/*.c") + glob("csrc/python/*.c")),
            depends=sorted(
                glob("csrc/*.h") + glob("csrc/*.def") + glob("csrc/python/*.h")
            ),  # rebuild on header edits; ship them in sdists
            include_dirs=["csrc", numpy.get_include()] + BLAS_KW["include_dirs"],
            library_dirs=BLAS_KW["library_dirs"],
            libraries=BLAS_KW["libraries"],
            define_macros=BLAS_KW["define_macros"],
            extra_compile_args=COMPILE_ARGS + BLAS_KW["extra_compile_args"],
            extra_link_args=BLAS_KW["extra_link_args"],
        )
    ],
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
