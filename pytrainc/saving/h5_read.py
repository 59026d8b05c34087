"""Reading the HDF5 files of `pytrainc.saving.h5` (see its docstring for the layouts and the
checks): every read runs bounded in time and memory in a child process, and no dataset is read
whose declared size, with those read before it, exceeds the file's size."""

import collections
import io
import json
import math
import os

import numpy as np

from pytrainc.saving._common import FORMAT_VERSION, bad_file, fspath, newer_version_problem
from pytrainc.saving.bounded import run_bounded

KERAS_MODEL_CONFIG = "keras.model_config"  # read_model's metadata key for a Keras whole-model file
from pytrainc.saving.h5 import (  # the names both halves share
    FORMAT_MODEL,
    FORMAT_WEIGHTS,
    _ATTR_FORMAT,
    _ATTR_SHA256,
    _ATTR_VERSION,
    _HDF5_SIGNATURE,
    _KERAS_WEIGHTS_GROUP,
    _MODEL_GROUP,
    _check_model,
    _digest,
    _get_name_list,
    _get_str,
    _h5py,
    _keras3_groups,
    _keras3_names,
    _legacy_weights,
)


def _check_file(path):
    """(first 8 bytes, size) of a file to read, after the checks that need no HDF5."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected a file path. Received a directory: {path!r}")
    with open(path, "rb") as raw:  # FileNotFoundError / PermissionError as they are
        head = raw.read(8)
        size = os.fstat(raw.fileno()).st_size
    if size == 0:
        raise bad_file(path, "the file is empty (0 bytes); expected an HDF5 file")
    return head, size


def _run_bounded(read, path, *args):
    """`read(reader_args, *args)` in a child bounded in time and memory (see `pytrainc.saving.bounded`)."""
    h5py = _h5py()
    head, size = _check_file(path)
    lock = getattr(getattr(h5py, "_objects", None), "phil", None)  # held by no other thread in the child
    return run_bounded(path, size, read, (path, head, size), *args, lock=lock)


class _Reader:
    """An open HDF5 file whose h5py/HDF5 errors become ValueErrors naming the file.

    `read` gives a dataset's values after checking its declared size: the
    datasets read so far may not hold more bytes than the whole file.
    """

    def __init__(self, path, head, size, source=None):
        self.h5py = _h5py()
        self.path, self.head, self.size = path, head, size
        self.source = path if source is None else source  # a path, or a file object holding the image
        self.file = None
        self._values = {}
        self._bytes = 0

    def __enter__(self):
        path, head, size = self.path, self.head, self.size
        try:
            self.file = self.h5py.File(self.source, "r")
        except OSError as err:
            if head != _HDF5_SIGNATURE:
                hint = ""
                if len(head) == 8 and int.from_bytes(head, "little") < size:
                    hint = " (it looks like a safetensors file: load it from a .safetensors path)"
                elif head[:2] == b"PK":
                    hint = " (it is a zip archive, such as a Keras 3 .keras file or a PyTorch checkpoint)"
                raise bad_file(path, f"this is not an HDF5 file{hint}") from err
            raise bad_file(path, f"the HDF5 file is truncated or damaged ({err})") from err
        return self

    def read(self, dataset, where=None):
        """The values of `dataset` (an h5py Dataset), read once, after checking its declared size."""
        where = where or dataset.name
        if not isinstance(dataset, self.h5py.Dataset):
            raise bad_file(self.path, f"'{where}' is a {type(dataset).__name__}, not a dataset")
        if dataset.name in self._values:
            return self._values[dataset.name]
        shape, dtype = dataset.shape, dataset.dtype
        nbytes = dtype.itemsize * (math.prod(shape) if shape is not None else 0)
        self._bytes += nbytes
        if self._bytes > self.size:
            raise bad_file(
                self.path,
                f"dataset '{where}' declares shape {shape} of {dtype} ({nbytes} bytes), which "
                f"brings the datasets to {self._bytes} bytes, more than the {self.size} bytes "
                "of the whole file; it is damaged or crafted (pytrainc does not read "
                "compressed datasets that expand past the file's size)",
            )
        value = self._values[dataset.name] = dataset[()]
        return value

    def __exit__(self, exc_type, exc, tb):
        try:
            self.file.close()
        except Exception:  # a damaged file can fail to close; never hide the first error
            if exc_type is None:
                raise
        if (
            exc_type is not None
            and issubclass(
                exc_type,
                (
                    OSError,
                    KeyError,
                    RuntimeError,
                    TypeError,
                    AttributeError,
                    IndexError,
                    UnicodeDecodeError,
                    json.JSONDecodeError,
                ),
            )
            and not issubclass(exc_type, (FileNotFoundError, PermissionError, IsADirectoryError))
        ):
            raise bad_file(
                self.path, f"the HDF5 file is damaged or not in the expected layout ({exc_type.__name__}: {exc})"
            ) from exc
        return False

    def check_pytrainc(self):
        """Check the format name, version and digest of a file pytrainc wrote (others pass)."""
        f = self.file
        if _ATTR_FORMAT not in f.attrs:
            return None
        kind = f.attrs[_ATTR_FORMAT]
        version = f.attrs.get(_ATTR_VERSION)
        if isinstance(kind, bytes):
            kind = kind.decode("utf8", "replace")
        if kind not in (FORMAT_WEIGHTS, FORMAT_MODEL):
            raise bad_file(self.path, f"unknown {_ATTR_FORMAT} {kind!r}; the file is damaged or from another program")
        if not isinstance(version, (int, np.integer)) or version < 1:
            raise bad_file(self.path, f"the file's {_ATTR_VERSION} is {version!r}; the file is damaged")
        if version > FORMAT_VERSION:
            raise bad_file(self.path, newer_version_problem(version))
        stored = f.attrs.get(_ATTR_SHA256)
        if isinstance(stored, bytes):
            stored = stored.decode("ascii", "replace")
        actual = _digest(self.h5py, f, self.read)
        if stored != actual:
            raise bad_file(
                self.path,
                f"checksum mismatch: the file is damaged (the SHA-256 of its contents is "
                f"{actual}, the file records {stored!r})",
            )
        return kind


def read_image(label, data):
    """Every dataset of an HDF5 file held in memory, read as `load_weights` reads files.

    The image (for example the `model.weights.h5` entry of a `.keras` zip) is
    parsed in the same bounded child process, within the limits of a file of
    its size; links to other objects or files, external and virtual datasets
    are refused, and the datasets together may not declare more bytes than the
    image holds.

    Args:
        label: What error messages call the image, e.g. `"m.keras' entry 'model.weights.h5"`
            (they read "Cannot load '<label>': ...").
        data: The image's bytes.

    Returns:
        An OrderedDict of dataset path (without the leading '/', e.g.
        'layers/dense/vars/0') to NumPy array, in sorted path order.

    Raises:
        ImportError: if h5py is not installed.
        ValueError: for an image that is not HDF5, is damaged, holds links,
            external, virtual or non-numeric datasets, or whose reading goes
            past the limits.
    """
    h5py = _h5py()
    if not data:
        raise bad_file(label, "it is empty (0 bytes); expected an HDF5 file")
    lock = getattr(getattr(h5py, "_objects", None), "phil", None)
    tensors, _ = run_bounded(label, len(data), _read_image, label, data, lock=lock)
    return tensors


def _read_image(label, data):
    with _Reader(label, bytes(data[:8]), len(data), source=io.BytesIO(data)) as r:
        h5py, out, groups = r.h5py, collections.OrderedDict(), [r.file]
        while groups:
            group = groups.pop()
            for name in sorted(group):
                where = f"{group.name.rstrip('/')}/{name}".lstrip("/")
                if not isinstance(group.get(name, getlink=True), h5py.HardLink):
                    raise bad_file(
                        label, f"'{where}' is a link; pytrainc reads no links (they can point into other files)"
                    )
                item = group[name]
                if isinstance(item, h5py.Group):
                    groups.append(item)
                elif not isinstance(item, h5py.Dataset):
                    raise bad_file(label, f"'{where}' is a {type(item).__name__}, neither a group nor a dataset")
                elif item.external or item.is_virtual:
                    raise bad_file(
                        label,
                        f"dataset '{where}' is external or virtual (its values live in "
                        "other files); pytrainc reads only data stored in the file",
                    )
                else:
                    out[where] = _numeric(label, f"dataset '{where}'", r.read(item, where))
    return collections.OrderedDict(sorted(out.items())), {}


def _find_legacy_group(f):
    if "layer_names" in f.attrs or "layer_names0" in f.attrs:
        return f
    if _KERAS_WEIGHTS_GROUP in f:
        group = f[_KERAS_WEIGHTS_GROUP]
        if "layer_names" in group.attrs or "layer_names0" in group.attrs:
            return group
    return None


def _numeric(path, where, value):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise bad_file(path, f"{where} holds {arr.dtype} values; expected numbers")
    return arr


def _plan_legacy(r, group, model):
    """[(Variable, array)] for the legacy layout, all shapes checked."""
    path = r.path
    layers = [layer for layer in model._own_layers if layer.weights]
    saved = []
    for name in _get_name_list(group, "layer_names"):
        weight_names = _get_name_list(group[name], "weight_names")
        if weight_names:
            saved.append((name, weight_names))
    if len(saved) != len(layers):
        raise ValueError(
            f"Cannot load '{path}' into model '{model.name}': the file has weights for "
            f"{len(saved)} layer(s) {[n for n, _ in saved]}, the model has {len(layers)} layer(s) "
            f"with weights {[layer.name for layer in layers]}. Layers are matched by order."
        )
    plan = []
    for k, (layer, (name, weight_names)) in enumerate(zip(layers, saved)):
        variables = _legacy_weights(layer)
        if len(weight_names) != len(variables):
            raise ValueError(
                f"Cannot load '{path}': layer #{k} with weights, '{layer.name}' "
                f"({type(layer).__name__}) in the model and '{name}' in the file, has "
                f"{len(variables)} weight(s) {[tuple(v.shape) for v in variables]} in the model and "
                f"{len(weight_names)} in the file {weight_names}"
            )
        for v, wname in zip(variables, weight_names):
            where = f"{name}/{wname}"
            plan.append((v, _weight(r, group[name][wname], where, layer, v)))
    return plan


def _weight(r, dataset, where, layer, v):
    """The file's array at `where` for the model's variable `v` of `layer`, its shape checked."""
    value = _numeric(r.path, f"dataset '{where}'", r.read(dataset, where))
    if value.shape != v.shape:
        raise ValueError(
            f"Cannot load '{r.path}': shape mismatch for layer '{layer.name}' "
            f"({type(layer).__name__}), weight '{v.name}': the model expects shape "
            f"{tuple(v.shape)}, the file's '{where}' has shape {value.shape}"
        )
    return value


def _plan_keras3(r, model):
    """[(Variable, array)] for the Keras 3 layout, all shapes checked."""
    h5py, path = r.h5py, r.path
    layers_group = r.file["layers"]

    def has_data(group):  # a dataset anywhere under group (visititems stops at a true result)
        return bool(group.visititems(lambda key, obj: True if isinstance(obj, h5py.Dataset) else None))

    # The layers the file has weights for.
    saved = {
        name for name in layers_group if isinstance(layers_group[name], h5py.Group) and has_data(layers_group[name])
    }
    layers = model._own_layers
    used = set()
    plan = []
    for layer, name in zip(layers, _keras3_names(layers)):
        if not layer.weights:
            continue
        if name not in saved:
            raise ValueError(
                f"Cannot load '{path}': the model's layer '{layer.name}' ({type(layer).__name__}) "
                f"has weights, stored by Keras 3 as 'layers/{name}', which the file does not have. "
                f"The file has weights for {sorted(saved)}"
            )
        used.add(name)
        for sub, variables in _keras3_groups(layer):
            group = layers_group[name].get(sub)
            keys = sorted(group, key=lambda s: int(s) if s.isdigit() else -1) if isinstance(group, h5py.Group) else []
            if keys != [str(i) for i in range(len(variables))]:
                raise ValueError(
                    f"Cannot load '{path}': layer '{layer.name}' ({type(layer).__name__}) has "
                    f"{len(variables)} weight(s) {[tuple(v.shape) for v in variables]}; the file's "
                    f"'layers/{name}/{sub}' holds {len(keys)} {keys}"
                )
            for i, v in enumerate(variables):
                where = f"layers/{name}/{sub}/{i}"
                plan.append((v, _weight(r, group[str(i)], where, layer, v)))
    extra = sorted(set(saved) - used)
    if extra:
        raise ValueError(
            f"Cannot load '{path}' into model '{model.name}': the file has weights for layer(s) "
            f"{extra} that the model does not have (Keras 3 names layers by class and order)"
        )
    return plan


def load_weights(model, filepath):
    """Load weights from an HDF5 file: Keras's legacy layout (also inside a
    whole-model `.h5` file) or its Keras 3 `.weights.h5` layout, whoever wrote it.

    Nothing changes when it raises. On Linux the file is read in a child
    process that may take at most 10 s plus 1 s per 10 MB of file and
    allocate at most 256 MiB plus 4 times the file's size: libhdf5 can loop
    forever or allocate without limit on a damaged file (see
    `pytrainc.saving.bounded`). Before any dataset is read, its declared size
    is checked: the datasets together may not hold more bytes than the file.

    Args:
        model: A built pytrainc Model with the file's architecture.
        filepath: Path (str or PathLike).

    Raises:
        ImportError: if h5py is not installed.
        FileNotFoundError: if the file does not exist.
        ValueError: for a file that is not HDF5, is truncated or damaged, is
            from a newer pytrainc, holds no weights in a known layout, does
            not fit the model (the message names the layer and both shapes),
            or whose reading goes past the limits above.

    Example:

    >>> pytrainc.h5.save_weights(model, "w.weights.h5")   # or keras_model.save_weights(...)
    >>> pytrainc.h5.load_weights(model, "w.weights.h5")
    """
    _check_model(model, "load_weights")
    path = fspath(filepath, "filepath")
    tensors, _ = _run_bounded(_read_weights, path, model)
    variables = model.weights
    plan = []
    for key, value in tensors.items():
        v = variables[int(key)]
        if value.shape != v.shape:  # checked by the reader already; never assign a wrong shape
            raise bad_file(path, f"weight '{v.name}' was read with shape {value.shape}, expected {v.shape}")
        plan.append((v, value))
    for v, value in plan:
        v.assign(value)


def _read_weights(reader_args, model):
    """The arrays `load_weights` assigns, keyed by the index of their variable in `model.weights`."""
    with _Reader(*reader_args) as r:
        r.check_pytrainc()
        f = r.file
        legacy = _find_legacy_group(f)
        if legacy is not None:
            plan = _plan_legacy(r, legacy, model)
        elif "layers" in f and isinstance(f["layers"], r.h5py.Group):
            plan = _plan_keras3(r, model)
        else:
            raise bad_file(
                r.path,
                "the file holds no weights in a layout pytrainc knows (neither Keras's legacy "
                "'layer_names' attribute nor Keras 3's 'layers' group)",
            )
    index = {id(v): i for i, v in enumerate(model.weights)}
    return collections.OrderedDict((str(index[id(v)]), value.astype(np.float32)) for v, value in plan), {}


def read_model(filepath):
    """Read a whole model written by `write_model`: `(tensors, metadata)` as given to it.

    The file is read within the same bounds as `load_weights`.

    Raises:
        ImportError: if h5py is not installed.
        FileNotFoundError: if the file does not exist.
        ValueError: for a file that is not HDF5, is truncated or damaged, is
            from a newer pytrainc, or is not a model file (a weights file).
        A Keras whole-model file (`model_config` and `model_weights`) gives
        `({}, {"keras.model_config": its JSON})` for `load_model` to rebuild.
    """
    return _run_bounded(_read_model, fspath(filepath, "filepath"))


def _read_model(reader_args):
    with _Reader(*reader_args) as r:
        kind = r.check_pytrainc()
        f = r.file
        if kind != FORMAT_MODEL or _MODEL_GROUP not in f:
            if kind == FORMAT_WEIGHTS or _find_legacy_group(f) is f or "layers" in f:
                problem = "it holds weights only, no architecture: build the model and call model.load_weights(path)"
            elif "model_config" in f.attrs and _KERAS_WEIGHTS_GROUP in f:
                # Keras's whole-model file (keras_model.save("m.h5")): its architecture JSON, for
                # pytrainc.models.load_model to rebuild; the weights are read by load_weights
                return {}, {KERAS_MODEL_CONFIG: _get_str(f.attrs["model_config"])}
            elif "model_config" in f.attrs:
                problem = "it has a Keras model_config but no model_weights group"
            else:
                problem = "it is not a pytrainc model file (it holds no model configuration)"
            raise bad_file(r.path, problem)
        group = f[_MODEL_GROUP]
        metadata = {}
        for key in group.attrs:
            if key == "tensor_index":
                continue
            metadata[key] = _get_str(group.attrs[key])
        try:
            index = json.loads(_get_str(group.attrs["tensor_index"]))
        except (ValueError, RecursionError) as err:
            raise bad_file(r.path, f"its tensor index is not valid JSON ({err})") from None
        if not isinstance(index, list) or not all(
            isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item) for item in index
        ):
            raise bad_file(r.path, "its tensor index is not a list of [name, dataset path] pairs")
        tensors = collections.OrderedDict()
        for key, location in index:
            tensors[key] = _numeric(r.path, f"dataset '{location}'", r.read(f[location], location))
    return tensors, metadata
