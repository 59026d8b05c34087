"""Saving and loading, one module per file format.

- `atomic`: atomic writes (temporary file, fsync, rename) that every writer uses;
- `safetensors`: the default layout for weights and state dicts;
- `npz`: NumPy `.npz` files;
- `h5`: HDF5 files in Keras's layouts (h5py needed);
- `model_file`: a whole model (architecture, weights, optimizer) in one file,
  `save_model` / `load_model`, which dispatch by suffix;
- `keras_file`: Keras 3's `.keras` zip, read and written; `keras_config` turns
  pytrainc's configurations into Keras's `config.json` and back;
- `state_keys`: the names under which model, optimizer and generator state
  are stored, shared by the model file and `BackupAndRestore`.

Loading never executes code from the file: no pickle, no `eval`, and
`np.load` only with `allow_pickle=False`. Every writer goes through
`atomic_write_bytes` (or the same temporary-file protocol), so a crash in the
middle of a save never damages the file that was there before.

`save` and `load` choose the format from the path: `.npz` for NumPy's, any
other extension for safetensors.
"""

from pytrainc.saving._common import FORMAT_NAME, FORMAT_VERSION, fspath
from pytrainc.saving.atomic import atomic_write_bytes
from pytrainc.saving.npz import load_npz, save_npz
from pytrainc.saving.safetensors import check_tensors, read_safetensors, write_safetensors

# Keras's `keras.saving` names: custom objects and (de)serialization (issue #9, session 10)
from pytrainc.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from pytrainc.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = [
    "atomic_write_bytes",
    "write_safetensors",
    "read_safetensors",
    "save",
    "load",
    "save_npz",
    "load_npz",
    # Keras's keras.saving (issue #9, session 10)
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "serialize_keras_object",
    "deserialize_keras_object",
    "save_model",
    "load_model",
    "save_weights",
    "load_weights",
]


def _is_npz(path):
    return path.lower().endswith(".npz")


def save(obj, path):
    """Saves a mapping of named arrays, such as `model.state_dict()`, to a file.

    Paths ending in `.npz` get a NumPy `.npz` file (see `save_npz`); every
    other path gets a safetensors file (see `write_safetensors`). The write
    is atomic: a crash during the save leaves any previous file intact.

    Args:
        obj: mapping of str names to array-likes (NumPy arrays or anything
            `np.asarray` accepts) of a numeric or bool dtype.
        path: str or os.PathLike, the file to write, for example
            `"model.safetensors"` or `"model.npz"`.

    Returns:
        None.

    Raises:
        TypeError: if `obj` is not a mapping (pass `model.state_dict()`, not
            the model), a key is not a str, or an array has an object or
            string dtype.
        OSError: if the file cannot be written.

    Example:

    >>> weights = {"dense.kernel": np.ones((4, 2), "float32")}
    >>> pytrainc.save(weights, "model.safetensors")
    >>> pytrainc.load("model.safetensors")["dense.kernel"].shape
    (4, 2)
    """
    path = fspath(path)
    if _is_npz(path):
        save_npz(obj, path)
    else:
        arrays = check_tensors(obj, "the object to save", safetensors_dtypes_only=True)
        write_safetensors(path, arrays)


def load(path):
    """Loads named arrays saved by `save` (or by `safetensors` / `np.savez`).

    Paths ending in `.npz` are read as NumPy `.npz` files; every other path as
    a safetensors file. Nothing in the file is executed, and checksums are
    verified.

    Args:
        path: str or os.PathLike, the file to read.

    Returns:
        An OrderedDict of name to NumPy array in the order they were saved.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is damaged, truncated, of another format (a
            pickle or PyTorch .pth file, for example), or written by a newer
            pytrainc; the message names the file and the problem.

    Example:

    >>> pytrainc.save({"bias": np.zeros(2)}, "model.safetensors")
    >>> state = pytrainc.load("model.safetensors")
    """
    path = fspath(path)
    if _is_npz(path):
        return load_npz(path)
    tensors, _ = read_safetensors(path)
    return tensors


# Keras 3's `keras.saving.save_model` / `load_model` / `save_weights` / `load_weights` (pytrainc.models
# imports this package, so these import it on first call).
def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Saves a model to one file, as `keras.saving.save_model`: `model.save(filepath)` (see
    `pytrainc.saving.model_file.save_model`). `zipped`: None or True (a `.keras` file is a zip,
    as Keras's default); Keras's unzipped directory (False) is not written."""
    from pytrainc.saving import model_file

    if zipped not in (None, True):
        raise ValueError(f"pytrainc writes zipped `.keras` files only. Received: zipped={zipped!r}")
    if kwargs:
        raise TypeError(f"save_model got unexpected keyword argument(s): {sorted(kwargs)}")
    return model_file.save_model(model, filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `save_model`, as `keras.saving.load_model` (see
    `pytrainc.saving.model_file.load_model`)."""
    from pytrainc.saving import model_file

    return model_file.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """Saves a model's weights, as `keras.saving.save_weights`: `model.save_weights(filepath)`.

    Raises:
        FileExistsError: with `overwrite=False`, for a path that exists.
        ValueError: for a `max_shard_size`: pytrainc writes one file.
    """
    import os

    if max_shard_size is not None:
        raise ValueError(
            f"pytrainc writes weights to one file: max_shard_size must be None. Received: {max_shard_size!r}"
        )
    if kwargs:
        raise TypeError(f"save_weights got unexpected keyword argument(s): {sorted(kwargs)}")
    if not overwrite and os.path.exists(fspath(filepath, "filepath")):
        raise FileExistsError(f"save_weights(overwrite=False): the file exists. Received: filepath={filepath!r}")
    return model.save_weights(filepath)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Loads a model's weights, as `keras.saving.load_weights`: `model.load_weights(filepath)`.

    Raises:
        ValueError: for `skip_mismatch=True`, which pytrainc does not implement (every weight must fit).
    """
    if kwargs:
        raise TypeError(f"load_weights got unexpected keyword argument(s): {sorted(kwargs)}")
    if skip_mismatch:
        raise ValueError("pytrainc loads weights strictly: skip_mismatch must be False. Received: skip_mismatch=True")
    return model.load_weights(filepath)
