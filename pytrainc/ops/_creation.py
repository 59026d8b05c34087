"""`pytrainc.ops` functions that make constants or read sizes: zeros, ones, size and
convert_to_numpy (keras.ops's names and signatures)."""

import math

import numpy as np

from pytrainc import ops as _ops
from pytrainc.ops import _batch
from pytrainc.ops._trace import is_symbolic, is_variable


def zeros(shape, dtype=None):
    """`keras.ops.zeros`: a constant array of zeros (float32 unless dtype is given)."""
    return np.zeros(shape, dtype or np.float32)


def ones(shape, dtype=None):
    """`keras.ops.ones`: a constant array of ones (float32 unless dtype is given)."""
    return np.ones(shape, dtype or np.float32)


def size(x):
    """`keras.ops.size`: the number of elements. On a symbolic tensor, a per-batch tensor of shape
    () counting the batch's real rows times each sample's size (as Keras's value in the call)."""
    if not is_symbolic(x):
        return np.asarray(np.size(x._value if is_variable(x) else x), dtype=np.int32)
    if x._per_batch:
        return np.asarray(math.prod(x.shape), dtype=np.int32)
    per_sample = math.prod(x.sample_shape)
    return _batch.rows(_ops.mean(_ops.reshape(x, (-1, per_sample)), axis=-1)) * float(per_sample)


def convert_to_numpy(x):
    """`keras.ops.convert_to_numpy`: a NumPy array of an array-like value (a weight's current
    value); a symbolic tensor has none."""
    if is_symbolic(x):
        raise ValueError(f"ops.convert_to_numpy takes an array; a symbolic tensor {x} has no value while tracing")
    return np.array(x._value if is_variable(x) else x)
