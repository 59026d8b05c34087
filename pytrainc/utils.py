"""Utilities: seeding, label encoding and `PyDataset`/`Sequence` (keras.utils names)."""

import contextlib
import os
import random
import re

import numpy as np

from pytrainc import _C
from pytrainc._model_visualization import model_to_dot, plot_model  # noqa: F401 (keras.utils names)
from pytrainc.data.py_dataset import PyDataset, Sequence  # noqa: F401 (keras.utils names)

# -- More of keras.utils (issue #12): each in its own module, imported here by name --
from pytrainc.dataset_utils import (  # noqa: F401 (keras.utils names)
    image_dataset_from_directory,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)
from pytrainc.file_utils import get_file  # noqa: F401 (keras.utils name)
from pytrainc.image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401 (keras.utils names)
from pytrainc.io_utils import (  # noqa: F401 (keras.utils names)
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from pytrainc.progbar import Progbar  # noqa: F401 (keras.utils name)

# -- end of more keras.utils --

# The process-wide xoshiro256** state (4 uint64 words) shared by initializers,
# shuffling and dropout. The C core advances it in place.
_GLOBAL_RNG = np.zeros(4, dtype=np.uint64)
_C.rng_seed(_GLOBAL_RNG, int.from_bytes(os.urandom(8), "little"))
# How many times set_random_seed ran: a model whose shuffle generator is older
# takes a new copy of the global one at its next fit (pytrainc/models/model.py).
_SEEDINGS = 0


def global_rng():
    """Return the global RNG state array (advanced in place by the C core)."""
    return _GLOBAL_RNG


@contextlib.contextmanager
def _global_rng_kept():
    """Runs its block without a lasting draw from the global generator (for copies and unpickling)."""
    saved = _GLOBAL_RNG.copy()
    try:
        yield
    finally:
        _GLOBAL_RNG[...] = saved


def make_rng(seed):
    """Return a new RNG state seeded with `seed` (an int >= 0)."""
    state = np.zeros(4, dtype=np.uint64)
    _C.rng_seed(state, _check_seed(seed))
    return state


def _check_seed(seed):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"A seed must be an int. Received: seed={seed!r} of type {type(seed).__name__}")
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"A seed must be in [0, 2**64). Received: seed={seed}")
    return int(seed)


def set_random_seed(seed):
    """Seed every random number generator pytrainc uses.

    Seeds pytrainc's own generator (weight initialization, shuffling, dropout)
    and, as `keras.utils.set_random_seed` does, Python's `random` and NumPy's
    global generator. Each model shuffles from its own copy of pytrainc's
    generator, taken when the model is built and again at its first `fit` after
    each `set_random_seed`; so what other models draw (in this thread or
    another) never changes a model's shuffles. Two runs that build and fit the same model after the
    same seed, on the same machine with the same number of BLAS threads
    (`pytrainc.set_num_threads`), produce bitwise identical weights; OpenBLAS
    may split large matrix products differently for another thread count.

    Args:
        seed: An int in [0, 2**64).

    Example:

    >>> pytrainc.utils.set_random_seed(42)
    """
    global _SEEDINGS
    seed = _check_seed(seed)
    _C.rng_seed(_GLOBAL_RNG, seed)
    _SEEDINGS += 1
    random.seed(seed)
    np.random.seed(seed % 2**32)


def to_categorical(x, num_classes=None):
    """Convert integer class ids to one-hot rows, as `keras.utils.to_categorical`.

    Args:
        x: Array-like of non-negative integer class ids, any shape. A trailing
            axis of size 1 is dropped.
        num_classes: Number of classes. Defaults to `max(x) + 1`.

    Returns:
        A float32 array of shape `x.shape + (num_classes,)`.

    Raises:
        ValueError: if x holds non-integers, negative ids or ids >= num_classes.

    Example:

    >>> pytrainc.utils.to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]], dtype=float32)
    """
    x = np.asarray(x)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.isfinite(x)) or not np.all(x == np.floor(x)):
            raise ValueError("to_categorical expects integer class ids. Received non-integer values.")
    x = x.astype(np.int64)
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical expects class ids >= 0. Received: min={x.min()}")
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical got class id {x.max()} with num_classes={num_classes}")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def plot_history(history, metrics=None, path=None, **kwargs):
    """Training and validation curves of a History (matplotlib needed); see
    `pytrainc.plotting.plot_history`."""
    from pytrainc.plotting import plot_history as _plot

    return _plot(history, metrics=metrics, path=path, **kwargs)


def snake_case(class_name):
    """Keras 3's `naming.to_snake_case`: 'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d'.

    It gives layers their default names and their groups in Keras 3 `.weights.h5` files.

    Example:

    >>> snake_case("MaxPooling2D")
    'max_pooling2d'
    """
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads sequences to the same length, as `keras.utils.pad_sequences`.

    Each sequence longer than `maxlen` is cut (from the start with
    `truncating="pre"`, from the end with `"post"`); each shorter one is filled
    with `value` (before it with `padding="pre"`, after it with `"post"`).

    Args:
        sequences: A list of sequences (lists or arrays; items may themselves
            be arrays of one common shape).
        maxlen: Optional int >= 0, the length of every output row. Defaults to
            None: the longest sequence's length.
        dtype: The output's dtype. Defaults to `"int32"`; use `object` for
            variable-length strings.
        padding: `"pre"` or `"post"`. Defaults to `"pre"`.
        truncating: `"pre"` or `"post"`. Defaults to `"pre"`.
        value: The padding value (float or str). Defaults to 0.0.

    Returns:
        An array of shape `(len(sequences), maxlen) + item shape`.

    Raises:
        ValueError: for a non-iterable item, items of differing shapes, or an
            unknown `padding`/`truncating`.

    Example:

    >>> pytrainc.utils.pad_sequences([[1], [2, 3], [4, 5, 6]])
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
    >>> pytrainc.utils.pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post", value=-1)
    array([[ 1, -1],
           [ 2,  3],
           [ 4,  5]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences must be a list of sequences. Received: {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f"padding must be 'pre' or 'post'. Received: padding={padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"truncating must be 'pre' or 'post'. Received: truncating={truncating!r}")
    lengths, item_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(
                f"sequences must be a list of sequences. Received: {type(seq).__name__} at position {i}"
            ) from None
        if item_shape is None and len(seq):
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"maxlen must be None or an int >= 0. Received: maxlen={maxlen!r}")
    dtype = np.dtype(dtype)
    if isinstance(value, str) and dtype != object and dtype.kind not in "US":
        raise ValueError(
            f"dtype {dtype} cannot hold the padding value {value!r}: use dtype=object for variable-length strings"
        )
    out = np.full((len(lengths), int(maxlen)) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not lengths[i]:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(
                f"Every item must have the shape {tuple(item_shape)} of the first non-empty sequence's items. "
                f"Received: {kept.shape[1:]} in the sequence at position {i}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out


# -- More of keras.utils (issue #12): small helpers --
def normalize(x, axis=-1, order=2):
    """A copy of `x` divided by its `order`-norm along `axis`, as `keras.utils.normalize`
    (a norm of 0 divides by 1).

    Args:
        x: An array.
        axis: The axis along which to normalize. Defaults to -1.
        order: The norm's order (2: Euclidean). Defaults to 2.

    Returns:
        The normalized array.

    Example:

    >>> normalize(np.array([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    x = np.asarray(x)
    norm = np.linalg.norm(x, order, axis, keepdims=True)  # Keras's `axis or -1` would turn 0 into -1
    norm[norm == 0] = 1
    return x / norm


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)`, as `keras.utils.pack_x_y_sample_weight`
    (x alone is returned as is unless it is a tuple or list).

    Example:

    >>> pack_x_y_sample_weight(1, 2)
    (1, 2)
    """
    if y is None:
        return x if not isinstance(x, (tuple, list)) else (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, the
    missing ones None, as `keras.utils.unpack_x_y_sample_weight`.

    Raises:
        ValueError: for a tuple of more than 3 elements.

    Example:

    >>> unpack_x_y_sample_weight((1, 2))
    (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) <= 3:
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected as x, (x,), (x, y) or (x, y, sample_weight). Received a tuple of {len(data)}")


def get_source_inputs(tensor):
    """The `Input` tensors a symbolic tensor is computed from, as `keras.utils.get_source_inputs`.

    Args:
        tensor: A symbolic tensor of the functional API.

    Returns:
        A list of the input tensors, each once, in the order they are first reached.
    """
    sources, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        parents = getattr(t, "_inputs", ())
        if not parents:
            sources.append(t)
        stack.extend(reversed(parents))
    return sources


def clear_session(free_memory=True):
    """Resets pytrainc's global naming state, as `keras.utils.clear_session`: layer and
    model names start again at `dense`, `functional`... The random generator is left
    alone (`set_random_seed` reseeds it).

    Args:
        free_memory: Whether to run Python's garbage collector too. Defaults to True.
    """
    import gc

    from pytrainc.layers import core

    core._NAME_COUNTS.clear()
    if free_memory:
        gc.collect()


# -- end of more keras.utils --
