"""pytrainc: Keras-like neural network training on the CPU, with the hot paths in C.

Example:

>>> import pytrainc
>>> from pytrainc.models import Sequential
>>> from pytrainc.layers import Dense
>>> model = Sequential([Dense(10, input_dim=8, activation="relu"), Dense(1, activation="sigmoid")])
>>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
"""

__version__ = "0.1.0"

import sys

from pytrainc import _C
from pytrainc import (activations, callbacks, datasets, h5, initializers, interop, layers, losses, metrics, models,
                      optimizers, regularizers, saving, utils)
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
        threads) and "num_threads" (threads it uses now).
    """
    config, num_threads = _C.blas_info()
    return {"config": config, "num_threads": int(num_threads)}


def set_num_threads(n):
    """Set the number of threads OpenBLAS uses for matmul (process-wide).

    Args:
        n: An int >= 1.

    Raises:
        ValueError: if n < 1.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects an int. Received: {n!r}")
    _C.set_num_threads(n)


__all__ = [
    "Input", "Model", "Sequential", "activations", "datasets", "keras", "blas_info", "callbacks", "initializers", "layers", "load",
    "load_model", "losses", "metrics", "models", "optimizers", "regularizers", "save", "save_model",
    "saving", "set_num_threads", "utils",
]
