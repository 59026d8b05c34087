"""HDF5 files through h5py: Keras's weight layouts and whole pytrainc models.

h5py is an optional dependency (`pip install h5py`); it is imported when a
function here runs, never when pytrainc is imported.

Two weight layouts are read and written, the ones Keras uses:

- the legacy layout of tf.keras / Keras 2 (`model.save_weights("w.h5")`):
  the root group (or the group `model_weights` of a whole-model file) has an
  attribute `layer_names`; each of those names is a group whose attribute
  `weight_names` lists its datasets, in the layer's trainable-then-frozen
  order (https://github.com/keras-team/keras/blob/v3.5.0/keras/src/legacy/saving/legacy_h5_format.py).
  Layers are matched by position among the layers that have weights, as
  Keras does: the names differ between frameworks and do not matter.
- the Keras 3 layout (`model.save_weights("w.weights.h5")`): the weights of
  a layer are `layers/<name>/vars/0`, `1`, ... in the layer's weight order,
  where `<name>` is the snake-cased class name made unique in layer order
  (`dense`, `dense_1`, `conv2d`, ...), never the layer's own name
  (https://github.com/keras-team/keras/blob/v3.5.0/keras/src/saving/saving_lib.py).
  So layers are matched by class and by position among the layers of that
  class, as Keras does.

Weights saved here load into the same architecture built in Keras with
`model.load_weights(path)`, and weights saved by Keras load here; shapes are
checked and an error names the layer and both shapes. pytrainc's weights
have Keras's shapes (Dense (in, out), Conv2D (kh, kw, in, out)), so nothing
is transposed.

Files written here also carry root attributes `pytrainc.format` (the kind of
file), `pytrainc.format_version` and `pytrainc.sha256`, a digest of every
attribute and dataset: HDF5 checksums its metadata (the files use the
HDF5 1.8 object format, which has checksums) but not its data, so the digest
is what catches a damaged weight. Files from Keras have none of these and are
read as they are.

Every write is atomic: the HDF5 image is built in memory by h5py and written
with `pytrainc.saving.atomic.atomic_write_bytes` (temporary file in the same
directory, fsync, `os.replace`, fsync of the directory).

Every read is bounded: on Linux it runs in a child process with at most
10 s plus 1 s per 10 MB of file and 256 MiB plus 4 times the file's size of
memory (`pytrainc.saving.bounded`), because libhdf5 can loop forever or
allocate without limit on a damaged file; and no dataset is read whose
declared size, with those read before it, exceeds the file's size.
"""

import hashlib
import io
import json
import os

import numpy as np

from pytrainc.saving._common import FORMAT_VERSION, fspath, snake_case
from pytrainc.saving import state_keys
from pytrainc.saving.atomic import atomic_write_bytes

__all__ = ["save_weights", "load_weights", "write_model", "read_model", "is_h5_path", "h5_image", "read_image"]

FORMAT_WEIGHTS = "pytrainc.weights"
FORMAT_MODEL = "pytrainc.model"

_ATTR_FORMAT = "pytrainc.format"
_ATTR_VERSION = "pytrainc.format_version"
_ATTR_SHA256 = "pytrainc.sha256"
_MODEL_GROUP = "pytrainc_model"  # a whole model's configuration (attributes) and other tensors
_KERAS_WEIGHTS_GROUP = "model_weights"  # where Keras's whole-model files keep the legacy layout
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 object headers hold at most 64 KiB of attributes; Keras splits longer
# name lists into `layer_names0`, `layer_names1`, ... and so do we.
_ATTR_LIMIT = 64512
_LAYOUTS = ("legacy", "keras3")


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Reading and writing HDF5 (.h5) files needs the optional dependency h5py. "
            "Install it with `pip install h5py`."
        ) from None
    return h5py


def is_h5_path(filepath):
    """Whether a path names an HDF5 file by its extension (`.h5`, `.hdf5`, `.weights.h5`)."""
    return os.fsdecode(os.fspath(filepath)).lower().endswith((".h5", ".hdf5"))


# ---------------------------------------------------------------------------
# Writing


def _keras3_names(layers):
    """The group name Keras 3 gives each layer: class name, `_1`, `_2`, ... by order."""
    used, names = {}, []
    for layer in layers:
        base = snake_case(type(layer).__name__)
        if base in used:
            used[base] += 1
            names.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            names.append(base)
    return names


def _legacy_weights(layer):
    # Keras's `_legacy_weights`: the trainable weights, then the others.
    return layer.trainable_weights + layer.non_trainable_weights


def _set_str(obj, key, value):
    """A str attribute as fixed-length UTF-8 bytes. h5py would store a str as a
    variable-length string in HDF5's global heap, which has no checksum: a damaged
    heap can make HDF5 loop forever, while object headers are checksummed."""
    data = value.encode("utf8")
    obj.attrs[key] = np.array(data, dtype=f"S{max(len(data), 1)}")


def _get_str(value):
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string attribute, found {type(value).__name__}")


def _set_name_list(group, name, values):
    """Store a list of names as Keras does: fixed-length bytes, split past 64 KiB."""
    data = np.asarray([v.encode("utf8") for v in values]) if values else np.asarray([])
    chunks = 1
    parts = np.array_split(data, chunks)
    while any(p.nbytes > _ATTR_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part


def _get_name_list(group, name):
    """Keras's `load_attributes_from_hdf5_group`: a list of str, joined from chunks if split."""
    if name in group.attrs:
        raw = list(np.atleast_1d(group.attrs[name]))
    else:
        raw, i = [], 0
        while f"{name}{i}" in group.attrs:
            raw.extend(np.atleast_1d(group.attrs[f"{name}{i}"]))
            i += 1
    out = []
    for item in raw:
        if isinstance(item, (bytes, np.bytes_)):
            item = bytes(item).decode("utf8")
        if not isinstance(item, str):
            raise TypeError(
                f"attribute {name!r} of group {group.name!r} holds {type(item).__name__} values, expected names"
            )
        out.append(item)
    return out


def _check_model(model, what):
    from pytrainc.models import Model  # pytrainc.models imports this module's users, not the reverse

    if not isinstance(model, Model):
        raise TypeError(f"{what} expects a pytrainc Model. Received: {type(model).__name__}")
    model._require_built(what)


def _check_layer_names(layers):
    seen = set()
    for layer in layers:
        if "/" in layer.name or layer.name in (".", ""):
            raise ValueError(
                f"Layer name {layer.name!r} cannot name an HDF5 group (it contains '/' or is "
                "empty). Rename the layer to save it as .h5"
            )
        if layer.name in seen:
            raise ValueError(
                f"Two layers of the model are named {layer.name!r}; the HDF5 layout keys layers "
                "by name, so names must be unique. Rename one of them"
            )
        seen.add(layer.name)


def _write_legacy(group, model, arrays=None):
    """The tf.keras / Keras 2 layout into `group`. `arrays` maps id(Variable) -> array to write
    instead of the variable's value. Returns {id(Variable): dataset path}."""
    from pytrainc import __version__

    layers = model._own_layers
    _check_layer_names(layers)
    _set_name_list(group, "layer_names", [layer.name for layer in layers])
    _set_str(group, "backend", "pytrainc")
    _set_str(group, "keras_version", f"pytrainc-{__version__}")
    paths = {}
    for layer in layers:
        layer_group = group.create_group(layer.name)
        weights = _legacy_weights(layer)
        # tf.keras 2's names, e.g. 'dense/kernel:0'; readers use the list, not the form.
        # A sublayer's weight (a Bidirectional's) also names its sublayer, as tf.keras does.
        names = [
            f"{layer.name}/{'' if v._layer in (None, layer) else v._layer.name + '/'}{v.name.rsplit('/', 1)[-1]}:0"
            for v in weights
        ]
        _set_name_list(layer_group, "weight_names", names)
        for v, name in zip(weights, names):
            value = arrays[id(v)] if arrays is not None else v.numpy()
            layer_group.create_dataset(name, data=np.asarray(value, dtype=np.float32))
            paths[id(v)] = f"{layer_group.name}/{name}"
    return paths


def _keras3_groups(layer):
    """[(group under 'layers/<name>', its variables)]: Keras 3 keeps a recurrent layer's weights
    in its cell's group, 'cell/vars', and a wrapper's in its sublayers' ('layer/vars',
    'forward_layer/cell/vars' and 'backward_layer/cell/vars')."""
    if hasattr(layer, "_keras3_weight_groups"):  # e.g. MultiHeadAttention's query_dense/vars, ...
        return layer._keras3_weight_groups()
    subs = getattr(layer, "_keras3_vars", "vars")
    if isinstance(subs, str):
        from pytrainc.saving import keras_custom  # a custom layer's: trainable ones first, as Keras saves them

        return [(subs, keras_custom.keras_order(layer) or layer.weights)]
    return [(sub, part.weights) for sub, part in zip(subs, layer._sublayers)]


def _write_keras3(f, model):
    layers = model._own_layers
    _set_str(f.create_group("vars"), "name", model.name)
    for layer, name in zip(layers, _keras3_names(layers)):
        for sub, variables in _keras3_groups(layer):
            if sub != "vars" and f"layers/{name}/vars" not in f:
                f.create_group(f"layers/{name}/vars")  # the layer's own, empty, as Keras writes it
            group = f.create_group(f"layers/{name}/{sub}")
            _set_str(group, "name", layer.name)
            for i, v in enumerate(variables):
                group.create_dataset(str(i), data=v.numpy())


def _value_bytes(value):
    """A canonical byte form of an attribute value, as h5py returns it, for the digest."""
    arr = np.asarray(value)
    head = f"{arr.dtype.kind}{arr.shape}".encode("ascii")
    if arr.dtype.kind in "OSU":
        items = [x.encode("utf8") if isinstance(x, str) else bytes(x) for x in arr.reshape(-1).tolist()]
        return head + b"".join(len(x).to_bytes(8, "little") + x for x in items)
    return head + arr.dtype.str.encode("ascii") + np.ascontiguousarray(arr).tobytes()


def _digest(h5py, f, read):
    """SHA-256 of every attribute (but the digest itself) and every dataset of an open file.

    `read(dataset)` returns a dataset's values.
    """
    h = hashlib.sha256()

    def feed(tag, data):
        h.update(tag + len(data).to_bytes(8, "little") + data)

    def feed_attrs(obj, is_root=False):
        for key in sorted(obj.attrs):
            if is_root and key == _ATTR_SHA256:
                continue
            feed(b"k", key.encode("utf8"))
            feed(b"v", _value_bytes(obj.attrs[key]))

    feed_attrs(f, is_root=True)
    names = []
    f.visit(names.append)
    for name in sorted(names):
        obj = f[name]
        feed(b"n", name.encode("utf8"))
        if isinstance(obj, h5py.Dataset):
            data = np.ascontiguousarray(read(obj))
            feed(b"d", f"{data.dtype.str}{data.shape}".encode("ascii"))
            feed(b"b", data.tobytes() if data.dtype.kind not in "OSU" else _value_bytes(data))
        feed_attrs(obj)
    return h.hexdigest()


def _new_image(h5py, buffer):
    # libver 'v108': object headers and the superblock in the HDF5 1.8 format, which
    # carry checksums (any HDF5 since 2008, so every Keras, reads them).
    return h5py.File(buffer, "w", libver=("v108", "latest"))


def h5_image(fill):
    """The bytes of an HDF5 file built in memory by `fill(h5py_file)`, with no pytrainc stamp.

    For HDF5 files that live inside another file (the `model.weights.h5` of a
    `.keras` zip), which that file's writer then writes atomically.

    Args:
        fill: A function of the open, writable h5py.File.

    Returns:
        The file's bytes.

    Raises:
        ImportError: if h5py is not installed.
    """
    h5py = _h5py()
    buffer = io.BytesIO()
    with _new_image(h5py, buffer) as f:
        fill(f)
    return buffer.getvalue()


def _write_file(path, kind, fill):
    """Build an HDF5 file in memory with `fill(h5py_file)`, stamp and digest it, write it atomically."""
    h5py = _h5py()
    buffer = io.BytesIO()
    with _new_image(h5py, buffer) as f:
        _set_str(f, _ATTR_FORMAT, kind)
        f.attrs[_ATTR_VERSION] = FORMAT_VERSION
        fill(f)
    # The digest is computed from the file as a reader will see it.
    with h5py.File(buffer, "r+") as f:
        _set_str(f, _ATTR_SHA256, _digest(h5py, f, lambda dataset: dataset[()]))
    atomic_write_bytes(path, buffer.getbuffer())


def save_weights(model, filepath, layout=None):
    """Save a model's weights to an HDF5 file in one of Keras's layouts, atomically.

    Args:
        model: A built pytrainc Model.
        filepath: Destination path (str or PathLike).
        layout: 'legacy' (tf.keras / Keras 2: `layer_names` / `weight_names`) or
            'keras3' (`layers/<name>/vars/<i>`). Defaults to None: 'keras3' for
            paths ending in `.weights.h5` (as Keras 3 requires), else 'legacy'.

    Raises:
        ImportError: if h5py is not installed.
        ValueError: for an unknown layout, or layer names HDF5 cannot hold.

    Example:

    >>> pytrainc.h5.save_weights(model, "w.h5")   # keras_model.load_weights("w.h5")
    """
    path = fspath(filepath, "filepath")
    _check_model(model, "save_weights")
    if layout is None:
        layout = "keras3" if path.lower().endswith(".weights.h5") else "legacy"
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {_LAYOUTS}. Received: layout={layout!r}")
    if layout == "legacy":
        _write_file(path, FORMAT_WEIGHTS, lambda f: _write_legacy(f, model))
    else:
        _write_file(path, FORMAT_WEIGHTS, lambda f: _write_keras3(f, model))


def write_model(filepath, tensors, metadata, model):
    """Write a whole model (what `pytrainc.models.save_model` gathers) to an HDF5 file, atomically.

    The weights are stored in Keras's legacy layout under `model_weights`, as
    Keras's own `model.save("m.h5")` does, so `keras_model.load_weights` and
    pytrainc's `load_weights` read them from this file, with Keras's root
    `model_config` JSON when every layer is a Keras layer, so that
    `keras.models.load_model("m.h5")` rebuilds the model; `metadata` (the
    architecture JSON and the compile configuration) becomes attributes of the
    group `pytrainc_model`, and every other tensor (the optimizer state) a
    dataset under `pytrainc_model/tensors`. `read_model` returns both as given.

    Args:
        filepath: Destination path (str or PathLike), e.g. 'model.h5'.
        tensors: Ordered mapping of name -> array: 'model/<state dict name>'
            for every weight of `model`, and any other names (e.g. 'optimizer/m').
        metadata: dict of str -> str, e.g. {'pytrainc.kind': ..., 'model_config': json}.
        model: The model the 'model/' tensors belong to.

    Raises:
        ImportError: if h5py is not installed.
        ValueError: if the 'model/' tensors are not exactly the model's weights.
        TypeError: for metadata that is not str -> str.
    """
    path = fspath(filepath, "filepath")
    _check_model(model, "save")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata must map str to str. Received: {key!r}: {type(value).__name__}")
    # The state dict name of each variable, as Model.state_dict names them.
    by_name = {}
    for i, layer in enumerate(model._own_layers):
        for v in layer.weights:
            by_name[state_keys.MODEL + state_keys.state_name(i, v, layer)] = v
    model_keys = [k for k in tensors if k.startswith(state_keys.MODEL)]
    if set(model_keys) != set(by_name):
        raise ValueError(
            f"write_model: the 'model/' tensors {sorted(model_keys)} are not the model's weights {sorted(by_name)}"
        )
    arrays = {id(by_name[k]): np.asarray(tensors[k]) for k in model_keys}
    for k in model_keys:
        if arrays[id(by_name[k])].shape != by_name[k].shape:
            raise ValueError(
                f"write_model: tensor {k!r} has shape {arrays[id(by_name[k])].shape}, the model's "
                f"weight {by_name[k].shape}"
            )

    keras_json = _keras_model_config(model)
    from pytrainc.saving.keras_config import KERAS_VERSION as keras_version

    def fill(f):
        if keras_json is not None:  # what keras.models.load_model("m.h5") rebuilds the model from
            _set_str(f, "model_config", keras_json)
            _set_str(f, "keras_version", keras_version)
            _set_str(f, "backend", "torch")
        weights = f.create_group(_KERAS_WEIGHTS_GROUP)
        _set_str(weights, "keras_version", keras_version)
        _set_str(weights, "backend", "torch")
        paths = _write_legacy(weights, model, arrays)
        group = f.create_group(_MODEL_GROUP)
        for key, value in metadata.items():
            _set_str(group, key, value)
        index = []
        for key, value in tensors.items():
            if key in by_name:
                index.append([key, paths[id(by_name[key])]])
            else:
                dataset = group.create_dataset(f"tensors/{key}", data=np.asarray(value))
                index.append([key, dataset.name])
        _set_str(group, "tensor_index", json.dumps(index))

    _write_file(path, FORMAT_MODEL, fill)


def _keras_model_config(model):
    """Keras 3's `model_config` JSON of a whole-model .h5 (`{"class_name", "config"}`, the model's
    config as in `.keras` files), or None for a model with a layer Keras does not have (the file
    is then pytrainc's only, as before)."""
    from pytrainc.saving import keras_config

    try:
        config, _ = keras_config.model_to_keras(model)
    except (ValueError, TypeError):
        return None
    return json.dumps({"class_name": config["class_name"], "config": config["config"]})


# The reading half (bounded, checked) lives in its own module.
from pytrainc.saving.h5_read import _read_image, load_weights, read_image, read_model  # noqa: E402, F401
