"""The elementwise kernel loops vectorize, in the baseline copy and the AVX2 copy (csrc/isa.h).

Compiles the kernel files with setup.py's flags and GCC's vectorizer report
(-fopt-info-vec-optimized) and checks that each loop below is reported
vectorized with 16-byte (SSE2, the baseline copy) and 32-byte (AVX2) vectors.
A loop that stops vectorizing (a load moved under a condition, an aliasing
store, a flag dropped from setup.py) fails here rather than only in a profile.
Loops that cannot vectorize without changing results are not listed: libm
calls (exp, tanh, erf), sums accumulated in double, strided stores.
"""

import ast
import platform
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"

# file: source text found on or inside each loop that must vectorize (every occurrence).
LOOPS = {
    "activations.c": [
        "out[i] = !(inp[i] <= 0.0f) ? inp[i] : 0.0f",  # relu (NaN stays NaN)
        "ptc_select(inp[i] > 0.0f, inp[i], alpha * inp[i])",  # leaky relu
        "out[i] = y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y)",  # hard sigmoid
        "out[i] = inp[i] / (1.0f + fabsf(inp[i]))",  # softsign
        "dinp[i] += !(inp[i] <= 0.0f) ? g : 0.0f",  # relu backward
        "dinp[i] += dout[i] * out[i] * (1.0f - out[i])",  # sigmoid backward
        "dinp[i] += dout[i] * (1.0f - out[i] * out[i])",  # tanh backward
        "ptc_select(inp[i] > 0.0f, g, alpha * g)",  # leaky relu backward
        "ptc_select(inp[i] > 0.0f, g, g * (out[i] + alpha))",  # elu backward
        "ptc_select(inp[i] > 0.0f, SELU_SCALE, out[i] + SELU_SCALE * SELU_ALPHA)",  # selu backward
        "ptc_select((inp[i] > -3.0f) & (inp[i] < 3.0f), dout[i] / 6.0f, 0.0f)",  # hard sigmoid backward
        "dinp[i] += dout[i] / (d * d)",  # softsign backward
    ],
    "optim.c": [
        "w[i] -= clipped(g[i], s, cv) * lr",  # sgd
        "wr[i] += v[i] * mom - gi * lr",  # nesterov
        "wr[i] += v[i];",  # momentum
        "wr[i] -= (m[i] * alpha) / (sqrtf(v[i]) + eps)",  # adam
        "wr[i] -= (m[i] * alpha) / (sqrtf(vmax[i]) + eps)",  # amsgrad
        "const float inc = lr * gi / sqrtf(denom + eps)",  # rmsprop
        "w[i] -= lr * gi / sqrtf(acc[i] + eps)",  # adagrad
        "w[i] -= m_hat * lr / (sqrtf(v[i] * cvh) + eps)",  # nadam
        "w[i] -= w[i] * k->wd * k->lr",  # weight decay
    ],
    "pool.c": [
        "o[c] = beats(x[c], o[c]) ? x[c] : o[c]",  # max pooling forward, 2d and global
        "best = ptc_select(beats(x1[j], best), x1[j], best)",  # ... a full 2x2 window
        "d3[j] += ptc_float_of(l & hit)",  # max pooling backward, a full 2x2 window
        "beats(x[j], best[j]) ? x[j] : best[j]",  # max pooling backward: the max again
        "d[j] += ptc_float_of(l & hit)",  # ... and the routing
        "o[c] += x[c]",  # average pooling
        "d[c] += g[c] * scale",  # average pooling backward, 2d and global
        "acc[j] += x[j]",  # global average pooling
    ],
    "norm.c": [
        "o[j] = (x[j] - mean[j]) * scale[j] + shift[j]",
        "d[j] += k[j] * (g[j] - a[j] - (x[j] - b.mean[j]) * m[j])",
        "d[j] += k[j] * g[j]",
    ],
    "conv.c": [
        "dst[i + 1] += src[i + 1]",  # col2im's adds
    ],
    "reduce.c": [
        "acc[f] += x[r * ldx + f0 + f]",  # bias gradients' column sums (dense, conv, rnn)
    ],
}


def compile_args():
    """COMPILE_ARGS as setup.py defines them (read, not executed: running setup.py builds)."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILE_ARGS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py defines no COMPILE_ARGS")


def gcc_major():
    if shutil.which("gcc") is None:
        return 0
    out = subprocess.run(["gcc", "-dumpversion"], capture_output=True, text=True).stdout.strip()
    return int(out.split(".")[0]) if out.split(".")[0].isdigit() else 0


pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64" or gcc_major() < 11, reason="the per-ISA copies are built by GCC >= 11 on x86-64"
)


def loop_lines(source, snippet):
    """Line numbers (1-based) of the `for` of each loop whose body holds snippet."""
    lines = source.split("\n")
    found = []
    for i, line in enumerate(lines):
        if snippet in line:
            j = i
            while "for (" not in lines[j]:
                j -= 1
            found.append(j + 1)
    return found


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """GCC's vectorizer report per kernel file, the files compiled in parallel."""
    tmp = tmp_path_factory.mktemp("vec")
    includes = ["-I", str(CSRC), "-I", np.get_include()]
    try:
        import scipy_openblas32  # the cblas.h that blas.h's includers may pull in

        includes += ["-I", scipy_openblas32.get_include_dir()]
    except ImportError:
        pass
    procs = {
        name: subprocess.Popen(
            [
                "gcc",
                *compile_args(),
                "-fPIC",
                *includes,
                "-c",
                str(CSRC / name),
                "-o",
                str(tmp / (name + ".o")),
                "-fopt-info-vec-optimized",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in sorted(LOOPS)
    }
    out = {}
    for name, proc in procs.items():
        _, err = proc.communicate()
        out[name] = (proc.returncode, err)
    return out


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_kernel_loops_vectorize(name, reports):
    returncode, report = reports[name]
    assert returncode == 0, report
    sizes = {}
    for m in re.finditer(
        r"%s:(\d+):\d+: optimized: loop vectorized using (\d+) byte vectors" % re.escape(name), report
    ):
        sizes.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    source = (CSRC / name).read_text(encoding="utf-8")
    missing = []
    for snippet in LOOPS[name]:
        lines = loop_lines(source, snippet)
        assert lines, f"{name} has no loop with {snippet!r}: update LOOPS"
        for ln in lines:
            if not {16, 32} <= sizes.get(ln, set()):
                missing.append(f"{name}:{ln} ({snippet}): vector sizes {sorted(sizes.get(ln, ()))}")
    assert not missing, "loops not vectorized for SSE2 (16 bytes) and AVX2 (32 bytes):\n" + "\n".join(missing)
