"""pytrainc: Keras-like neural network training on the CPU, with the hot paths in C.

Example:

>>> import pytrainc
>>> from pytrainc.models import Sequential
>>> from pytrainc.layers import Dense
>>> model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
>>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
"""

__version__ = "0.1.0"

import os
import sys
import warnings

from pytrainc import _C
from pytrainc import (
    activations,
    callbacks,
    constraints,
    data,
    datasets,
    h5,
    initializers,
    interop,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    regularizers,
    saving,
    utils,
)
from pytrainc import random  # keras.random (after ops, which it uses)
from pytrainc.layers import Input
from pytrainc.models import Model, Sequential, load_model, save_model
from pytrainc.saving import load, save

# `import pytrainc as tf` lets code written for `tf.keras.layers.Dense`,
# `tf.keras.Sequential`, `tf.keras.utils.to_categorical`, ... run unchanged.
keras = sys.modules[__name__]


# Imported on first use: they import optional dependencies (scikit-learn, onnx).
_LAZY_MODULES = ("wrappers", "onnx")


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def blas_info():
    """Describe the BLAS behind matmul.

    Returns:
        A dict with "config" (the OpenBLAS build string: version, kernel, max
        threads) and "num_threads" (the threads pytrainc's pool uses now; see
        `set_num_threads`).
    """
    config, num_threads = _C.blas_info()
    return {"config": config, "num_threads": int(num_threads)}


_ISAS = ("baseline", "avx2", "avx512")


if os.environ.get("PYTRAINC_ISA", _ISAS[0]) not in _ISAS:
    warnings.warn(
        f"PYTRAINC_ISA expects one of {', '.join(_ISAS)}. Received: {os.environ['PYTRAINC_ISA']!r} (ignored)",
        stacklevel=2,
    )


def build_info():
    """Describe how the C kernels outside BLAS were built and which copy runs.

    On x86-64 the kernels (activations, pooling, batch normalization, im2col,
    optimizer steps) are compiled three times, for baseline x86-64 (SSE2),
    AVX2 (x86-64-v3) and AVX-512 (x86-64-v4), and the best one the CPU
    supports is chosen when pytrainc loads. All three give bitwise identical
    results. The environment variable `PYTRAINC_ISA=baseline|avx2|avx512`,
    read at import, caps the choice. Other architectures build the baseline only.

    Returns:
        A dict with "kernel_isa" (the copy that runs: "baseline", "avx2" or
        "avx512") and "kernel_isa_compiled" (the best copy in this build).

    Example:

    >>> import pytrainc
    >>> pytrainc.build_info()["kernel_isa"] in ("baseline", "avx2", "avx512")
    True
    """
    return _C.build_info()


def set_num_threads(n):
    """Set the number of threads pytrainc uses (process-wide).

    pytrainc runs one thread pool of its own (the calling thread included)
    for matrix products, which it splits over the pool, and for the work
    outside them (activations, optimizer steps, im2col, pooling). OpenBLAS
    itself runs single-threaded, so that its idle threads never spin on the
    pool's cores. The default is OpenBLAS's thread count at import
    (`OPENBLAS_NUM_THREADS`, else the cores available). Small work stays on
    one thread. Results are bitwise reproducible at a fixed thread count;
    another count can change them in the last bits. At most 64 threads; a
    larger n is capped there.

    Args:
        n: An int in [1, 2**31 - 1].

    Raises:
        TypeError: if n is not an int.
        ValueError: if n is out of range.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects an int. Received: {n!r}")
    if not 1 <= n <= 2**31 - 1:
        raise ValueError(f"num_threads must be an int in [1, {2**31 - 1}]. Received: {n}")
    _C.set_num_threads(n)


__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "blas_info",
    "build_info",
    "callbacks",
    "data",
    "constraints",
    "datasets",
    "initializers",
    "keras",
    "layers",
    "load",
    "load_model",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "save",
    "save_model",
    "saving",
    "set_num_threads",
    "utils",
]
