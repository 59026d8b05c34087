"""Kernels built per instruction set (csrc/isa.h): the dispatch and its promise.

On x86-64 the kernels outside BLAS are compiled for baseline SSE2, AVX2 and
AVX-512 and the best copy the CPU supports runs. The copies must give bitwise
identical training runs (no FMA contraction, no reassociation), and
PYTRAINC_ISA caps the choice, which is how these tests run the lower copies.
"""

import os
import platform
import subprocess
import tempfile
import sys
import textwrap

import pytest

import pytrainc

ISAS = ("baseline", "avx2", "avx512")
# The CPU flags (Linux /proc/cpuinfo names) each copy needs: csrc/isa.c's cpu_level.
NEEDS = {
    "avx2": {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"},
    "avx512": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def run(code, isa=None):
    env = dict(os.environ)
    env.pop("PYTRAINC_ISA", None)
    if isa is not None:
        env["PYTRAINC_ISA"] = isa
    # cwd outside the repository: from its root `python -c` would import the source tree (no _C).
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tempfile.gettempdir(),
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_build_info_names_the_running_copy():
    info = pytrainc.build_info()
    assert set(info) == {"kernel_isa", "kernel_isa_compiled"}
    assert info["kernel_isa"] in ISAS and info["kernel_isa_compiled"] in ISAS
    assert ISAS.index(info["kernel_isa"]) <= ISAS.index(info["kernel_isa_compiled"])
    if platform.machine() not in ("x86_64", "AMD64"):
        assert info["kernel_isa_compiled"] == "baseline"


@pytest.mark.skipif(platform.machine() != "x86_64" or cpu_flags() is None, reason="x86-64 Linux only")
def test_dispatch_picks_the_best_copy_the_cpu_runs():
    # In a fresh process without PYTRAINC_ISA: the choice follows the CPU's flags.
    compiled = pytrainc.build_info()["kernel_isa_compiled"]
    flags = cpu_flags()
    expected = "baseline"
    if NEEDS["avx2"] <= flags:
        expected = "avx512" if NEEDS["avx512"] <= flags else "avx2"
    expected = ISAS[min(ISAS.index(expected), ISAS.index(compiled))]
    assert run("import pytrainc; print(pytrainc.build_info()['kernel_isa'])") == expected


def test_pytrainc_isa_caps_the_choice():
    assert run("import pytrainc; print(pytrainc.build_info()['kernel_isa'])", isa="baseline") == "baseline"


def test_unknown_pytrainc_isa_warns():
    code = """
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import pytrainc
        print(pytrainc.build_info()["kernel_isa"] != "", [str(w.message) for w in caught])
    """
    line = run(code, isa="avx-512")
    assert line.startswith("True") and "PYTRAINC_ISA expects one of baseline, avx2, avx512" in line


# Trains models that between them run every kernel that has per-ISA copies
# (every activation forward and backward, conv + im2col/col2im, max/average and
# global pooling, batch normalization, dropout, every optimizer and clipping
# mode, the LSTM and GRU gate math) and prints one digest of the weights and histories.
TRAIN_ALL = """
    import hashlib, json
    import numpy as np
    import pytrainc
    from pytrainc import layers as L, optimizers as O
    from pytrainc.models import Sequential

    pytrainc.set_num_threads(1)
    pytrainc.utils.set_random_seed(0)  # once: layers (Dropout's seed) are built before fit() runs
    h = hashlib.sha256()
    r = np.random.default_rng(0)

    def fit(layers, x, y, opt, loss="sparse_categorical_crossentropy"):
        model = Sequential(layers)
        model.compile(optimizer=opt, loss=loss)
        hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.25).history
        for w in model.get_weights():
            h.update(np.ascontiguousarray(w).tobytes())
        h.update(json.dumps(hist, sort_keys=True).encode())

    x = r.standard_normal((64, 9, 9, 3)).astype(np.float32)
    y = r.integers(0, 4, 64)
    fit([L.Input((9, 9, 3)), L.Conv2D(5, 3, padding="same", activation="relu"), L.BatchNormalization(),
         L.MaxPooling2D(2, padding="same"), L.Conv2D(6, 2, strides=1, dilation_rate=2, activation="elu"),
         L.AveragePooling2D(2, padding="same"), L.Flatten(), L.Dropout(0.3), L.Dense(4, activation="softmax")],
        x, y, O.Adam())
    fit([L.Input((9, 9, 3)), L.Conv2D(70, 1), L.GlobalMaxPooling2D(), L.Dense(4, activation="softmax")],
        x, y, O.SGD(momentum=0.9, nesterov=True, clipnorm=1.0))
    fit([L.Input((9, 9, 3)), L.Conv2D(66, 3, strides=2), L.GlobalAveragePooling2D(), L.Dense(4)],
        x, np.eye(4, dtype=np.float32)[y], O.RMSprop(centered=True, momentum=0.5), loss="mse")
    acts = ["relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu", "hard_sigmoid",
            "softplus", "softsign", "swish", "log_softmax", "linear"]
    xd = (3 * r.standard_normal((64, 24))).astype(np.float32)
    for k, opt in enumerate([O.Adam(amsgrad=True, clipvalue=0.1), O.Nadam(), O.Adagrad(), O.AdamW(), O.SGD(),
                             O.RMSprop(), O.Adam(global_clipnorm=0.5)]):
        fit([L.Input((24,))] + [L.Dense(33, activation=a) for a in acts[k % 2::2]] + [L.Dense(4, "softmax")],
            xd, y, opt)
    xs = r.standard_normal((64, 6, 5)).astype(np.float32)  # the recurrent cells' gate kernels (rnn.c)
    for cell in (L.LSTM, L.GRU):
        fit([L.Input((6, 5)), cell(19, return_sequences=True), cell(7), L.Dense(4, activation="softmax")],
            xs, y, O.Adam())
    m = Sequential([L.Input((24,)), L.Dense(70, activation="relu"), L.Dense(4)])
    for b in (1, 2, 3):  # the few-rows dense kernel (dense.c): batches of 1, 2 and 3 rows
        h.update(m.predict(xd[:7], batch_size=b, verbose=0).tobytes())
    print(h.hexdigest())
"""


def test_every_copy_trains_bitwise_identically():
    best = run("import pytrainc; print(pytrainc.build_info()['kernel_isa'])")
    if best == "baseline":
        pytest.skip("only the baseline copy runs on this machine or build")
    digests = {isa: run(TRAIN_ALL, isa=isa) for isa in ISAS[: ISAS.index(best) + 1]}
    assert len(set(digests.values())) == 1, digests
