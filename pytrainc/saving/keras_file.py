"""The Keras 3 `.keras` format: a zip of `config.json`, `metadata.json` and `model.weights.h5`.

The layout is Keras 3's (keras/src/saving/saving_lib.py): `config.json`
holds the model as `serialize_keras_object` writes it (see
`pytrainc.saving.keras_config`); `model.weights.h5` holds each layer's
weights as `layers/<group>/vars/<i>`, where `<group>` is the snake-cased class
name made unique in the order of Keras's `model.layers` (`dense`, `dense_1`),
and the optimizer's variables as `optimizer/vars/<i>` in Keras's order:
`iterations`, `learning_rate` (unless it is a schedule), then the slots of
each trainable weight (and Nadam's `u_product` last). The members are
stored uncompressed, as Keras stores them. `keras.models.load_model` reads
the files written here, and `load_keras` reads Keras's.

State that Keras does not save, and that pytrainc needs to continue training
bitwise as the saved model would, goes into a group `pytrainc` of
`model.weights.h5` that Keras ignores: the generators of Dropout layers,
`pytrainc/rng/<group>`.

Reading a file executes nothing (no pickle, no `eval`, no import; lambdas are
refused) and is bounded: the zip's names may not leave the archive (`..`,
absolute paths), a member may not expand past 100 times its stored size
(beyond 1 MiB), `config.json` may not exceed 16 MiB, the HDF5 member is read
in the bounded child of `pytrainc.saving.h5.read_image`, and the layers of the
configuration may not declare more weights than the file holds. Every
problem is a ValueError naming the file and the member.
"""

import datetime
import io
import json
import os
import zipfile

import numpy as np

from pytrainc.optimizers.schedules import LearningRateSchedule
from pytrainc.saving import h5, keras_config, state_keys
from pytrainc.saving._common import bad_file, fspath
from pytrainc.saving.atomic import atomic_write_bytes

__all__ = ["save_keras", "load_keras", "is_keras_path", "looks_like_keras"]

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_MAX_CONFIG_BYTES = 16 << 20
_MAX_METADATA_BYTES = 1 << 20
_BOMB_FLOOR = 1 << 20
_MAX_EXPANSION = 100
_EXTRA = "pytrainc"  # the group of model.weights.h5 that holds what Keras does not save


def is_keras_path(filepath):
    """Whether a path names a Keras 3 zip by its extension (`.keras`)."""
    return os.fsdecode(os.fspath(filepath)).lower().endswith(".keras")


def looks_like_keras(path):
    """Whether a file is a zip holding a `config.json` (a `.keras` file under another name)."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return CONFIG in z.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def _slot_groups(optimizer):
    """The optimizer's slots in Keras's variable order: groups whose slots are interleaved weight by weight
    (Keras's `add_optimizer_variables(vars, ["momentum", "velocity"])`), one group after another."""
    name = type(optimizer).__name__
    if name == "SGD":
        return [("m",)] if optimizer.momentum else []
    if name in ("Adam", "AdamW"):
        return [("m", "v")] + ([("u",)] if optimizer.amsgrad else [])
    if name == "RMSprop":
        return [("v",)] + ([("m",)] if optimizer.momentum else []) + ([("u",)] if optimizer.centered else [])
    if name == "Adagrad":
        return [("v",)]
    if name == "Nadam":
        return [("m", "v")]
    raise ValueError(f"The optimizer {name} has no Keras variable layout")


def _optimizer_layout(model, keras_layers):
    """[(slot name or 'iterations' / 'learning_rate', Variable or None)] in the order of Keras's variables."""
    optimizer = model.optimizer
    layout = [("iterations", None)]
    if not isinstance(optimizer._learning_rate, LearningRateSchedule) and not callable(optimizer._learning_rate):
        layout.append(("learning_rate", None))
    trainable = [v for layer in keras_layers for v in layer.weights if v.trainable]
    for group in _slot_groups(optimizer):
        layout.extend((slot, v) for v in trainable for slot in group)
    layout.extend((name, None) for name in optimizer._scalars)  # Nadam's u_product, a Keras variable too
    return layout


# ---------------------------------------------------------------------------
# Writing


def save_keras(model, filepath):
    """Save a model in Keras 3's `.keras` format, which `keras.models.load_model` reads.

    The zip holds `config.json` (Keras's class names, modules and config
    keys), `metadata.json` and `model.weights.h5` (the weights and, for a
    compiled model, the optimizer's variables), and is written atomically.

    Args:
        model: A built pytrainc Model (Sequential or functional) of pytrainc's own layers.
        filepath: Destination path (str or PathLike), e.g. 'model.keras'.

    Raises:
        TypeError: if `model` is not a pytrainc Model.
        ValueError: if the model is not built or holds a layer of another class.
        ImportError: if h5py is not installed.

    Example:

    >>> pytrainc.saving.keras_file.save_keras(model, "model.keras")   # or model.save("model.keras")
    >>> restored = pytrainc.models.load_model("model.keras")          # or keras.models.load_model
    """
    from pytrainc import __version__
    from pytrainc.models import Model

    path = fspath(filepath, "filepath")
    if not isinstance(model, Model):
        raise TypeError(f"save_keras expects a pytrainc Model. Received: {type(model).__name__}")
    model._require_built("save")
    model._pack()
    config, keras_layers = keras_config.model_to_keras(model)
    if model.compiled:
        config["compile_config"] = keras_config.compile_to_keras(model)
    metadata = {
        "keras_version": keras_config.KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "pytrainc_version": __version__,
    }
    image = h5.h5_image(lambda f: _fill_weights(f, model, keras_layers))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(METADATA, json.dumps(metadata))
        z.writestr(CONFIG, json.dumps(config))
        z.writestr(WEIGHTS, image)
    atomic_write_bytes(path, buffer.getbuffer())


def _vars_group(f, where, name):
    group = f.create_group(f"{where}/vars" if where else "vars")
    group.attrs["name"] = name
    return group


def _fill_weights(f, model, keras_layers):
    # Keras's model.layers: a Sequential's without its InputLayer, a functional model's with it.
    for layer, group_name in zip(keras_layers, _group_names(keras_layers)):
        _vars_group(f, f"layers/{group_name}", layer.name)  # the layer's own (empty for a wrapper or RNN)
        for sub, variables in h5._keras3_groups(layer):  # an RNN's cell's 'cell/vars', a wrapper's sublayers'
            group = f[f"layers/{group_name}/vars"] if sub == "vars" else f.create_group(f"layers/{group_name}/{sub}")
            group.attrs["name"] = layer.name
            for i, v in enumerate(variables):
                group.create_dataset(str(i), data=v.numpy())
        if hasattr(layer, "rng_state"):
            f.create_dataset(f"{_EXTRA}/rng/{group_name}", data=state_keys.rng_array(layer.rng_state))
    _vars_group(f, "", model.name)
    if not model.compiled:
        return
    optimizer = model.optimizer
    optimizer._build(model._n_trainable)  # an optimizer that never stepped saves its initial state
    group = _vars_group(f, "optimizer", optimizer.name)
    for i, (slot, v) in enumerate(_optimizer_layout(model, keras_layers)):
        if slot == "iterations":
            value = np.int64(optimizer.iterations)
        elif slot == "learning_rate":
            value = np.float32(optimizer.learning_rate)
        elif v is None:
            value = np.float32(optimizer._state[slot][0])
        else:
            off = model._offsets[id(v)]
            value = optimizer._state[slot][off : off + v._value.size].reshape(v.shape)
        group.create_dataset(str(i), data=value)


def _group_names(layers):
    used = {}
    return [keras_config._group_name(type(layer).__name__, used) for layer in layers]


# ---------------------------------------------------------------------------
# Reading


def _entry(label_path, z, name, limit=None):
    """The bytes of member `name`, after the checks against decompression bombs."""
    label = f"{label_path}' entry '{name}"
    info = z.getinfo(name)
    if limit is not None and info.file_size > limit:
        raise bad_file(
            label,
            f"it declares {info.file_size} bytes, more than the {limit} bytes pytrainc reads "
            "for it; the file is damaged or crafted",
        )
    if info.file_size > _BOMB_FLOOR and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
        raise bad_file(
            label,
            f"it declares {info.file_size} bytes but stores only {info.compress_size}; "
            "refusing a potential decompression bomb",
        )
    try:
        with z.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as err:
        raise bad_file(
            label, f"the zip member cannot be read ({type(err).__name__}: {err}); the file is damaged"
        ) from None
    if len(data) != info.file_size:
        raise bad_file(label, f"it holds {len(data)} bytes, not the {info.file_size} it declares")
    return data


def _open_zip(path):
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with open(path, "rb") as f:
            head = f.read(8)
        hint = ""
        if head[:4] == b"\x89HDF":
            hint = " (it is an HDF5 file: load it from a .h5 path)"
        elif len(head) == 8 and 0 < int.from_bytes(head, "little") < os.path.getsize(path):
            hint = " (it looks like a safetensors file, such as a pytrainc model file: load it from a .ptc path)"
        raise bad_file(path, f"this is not a zip archive, as Keras 3's .keras files are{hint}") from None
    except (OSError, ValueError, EOFError) as err:
        if isinstance(err, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise bad_file(path, f"the zip archive is damaged ({type(err).__name__}: {err})") from None
    seen = set()
    for info in z.infolist():
        name = info.filename
        label = f"{path}' entry '{name[:200]}"
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or "\x00" in name or (len(name) > 1 and name[1] == ":"):
            z.close()
            raise bad_file(
                label, "the member's name leaves the archive (an absolute path or '..'); the file is crafted"
            )
        if name in seen:
            z.close()
            raise bad_file(label, "the archive holds two members of this name")
        seen.add(name)
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            z.close()
            raise bad_file(label, "the member is encrypted or compressed with a method other than deflate")
    return z


def _read_archive(path):
    """(config, weights by dataset path) of a `.keras` file."""
    with _open_zip(path) as z:
        names = set(z.namelist())
        for name in (CONFIG, WEIGHTS):
            if name not in names:
                hint = " (Keras's weights_format='npz' is not read by pytrainc)" if "model.weights.npz" in names else ""
                raise bad_file(path, f"the zip archive has no member '{name}', which Keras 3's .keras files have{hint}")
        raw_config = _entry(path, z, CONFIG, _MAX_CONFIG_BYTES)
        if METADATA in names:
            _json(f"{path}' entry '{METADATA}", _entry(path, z, METADATA, _MAX_METADATA_BYTES))
        image = _entry(path, z, WEIGHTS)
    config = _json(f"{path}' entry '{CONFIG}", raw_config)
    return config, h5.read_image(f"{path}' entry '{WEIGHTS}", image)


def _json(label, raw):
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise bad_file(label, f"it is not valid JSON ({type(err).__name__}: {str(err)[:200]})") from None


def load_keras(filepath, compile=True, safe_mode=True):
    """Load a Keras 3 `.keras` file, written by Keras or by pytrainc, as a pytrainc model.

    Every layer and setting of the file must be one pytrainc has (see
    `pytrainc.saving.keras_config`); anything else is refused with a message
    naming the layer and key. Nothing in the file is executed.

    Args:
        filepath: Path (str or PathLike) of the `.keras` file.
        compile: Whether to compile the model as it was saved, with its
            optimizer's state. Defaults to True.
        safe_mode: Keras's argument. Lambdas are refused either way, since
            pytrainc never executes code from a file. Defaults to True.

    Returns:
        A `Sequential` or functional `Model`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ImportError: if h5py is not installed.
        ValueError: for a damaged or crafted file, or one that holds what
            pytrainc does not build; the message names the file and the member.

    Example:

    >>> model.save("model.keras")          # or, in Keras 3, keras_model.save("model.keras")
    >>> restored = pytrainc.saving.keras_file.load_keras("model.keras")   # or pytrainc.models.load_model
    """
    from pytrainc import optimizers
    from pytrainc.models import Model, Sequential
    from pytrainc.saving import model_file

    path = fspath(filepath, "filepath")
    config, tensors = _read_archive(path)
    label = f"{path}' entry '{CONFIG}"
    info = keras_config.model_from_keras(label, config, safe_mode=safe_mode)
    wlabel = f"{path}' entry '{WEIGHTS}"
    layer_tensors = {k: v for k, v in tensors.items() if k.startswith("layers/")}
    try:
        model_file._check_declared_weights(
            label, info["sequential"], info["config"], sum(int(a.size) for a in layer_tensors.values())
        )
        model = (Sequential if info["sequential"] else Model).from_config(info["config"])
    except model_file._CONFIG_ERRORS as err:
        raise model_file._config_error(label, "model configuration", err) from err
    if not info["trainable"]:
        for layer in model._own_layers:
            layer.trainable = False
    by_name = {layer.name: layer for layer in model._own_layers}
    if not info["sequential"]:
        by_name.update({t._layer.name: t._layer for t in model._graph["inputs"]})
    _assign_layers(wlabel, by_name, info["groups"], tensors)
    cc = info["compile_config"] if compile else None
    if cc is not None:
        optimizer, loss, metric_ids, extras = keras_config.compile_from_keras(label, cc, safe_mode)
        try:
            model.compile(optimizer=optimizers.get(optimizer), loss=loss, metrics=metric_ids, **extras)
        except model_file._CONFIG_ERRORS as err:
            raise model_file._config_error(label, "compile configuration", err) from err
        model._pack()
        keras_layers = keras_order_of(model, info)
        _assign_optimizer(wlabel, model, keras_layers, tensors, optimizer)
    return model


def keras_order_of(model, info):
    """The model's layers in the order of Keras's `model.layers` for the file's configuration."""
    by_name = {layer.name: layer for layer in model._own_layers}
    if not info["sequential"]:
        by_name.update({t._layer.name: t._layer for t in model._graph["inputs"]})
    return [by_name[name] for name in info["groups"]]


def _assign_layers(label, by_name, groups, tensors):
    plan, used = [], set()
    for layer_name, group in groups.items():
        layer = by_name[layer_name]
        parts = h5._keras3_groups(layer)
        if (
            len(parts) == 1
            and parts[0][0] != "vars"
            and not any(k.startswith(f"layers/{group}/{parts[0][0]}/") for k in tensors)
        ):
            # earlier pytrainc files kept a recurrent layer's weights in its own 'vars'
            parts = [("vars", parts[0][1])]
        for sub, variables in parts:
            prefix = f"layers/{group}/{sub}/"
            saved = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            used.update(prefix + k for k in saved)
            if sorted(saved) != sorted(str(i) for i in range(len(variables))):
                raise bad_file(
                    label,
                    f"layer '{layer.name}' ({type(layer).__name__}) has {len(variables)} "
                    f"weight(s) {[tuple(v.shape) for v in variables]} in '{sub}'; the file's "
                    f"'{prefix.rstrip('/')}' holds {sorted(saved)}",
                )
            for i, v in enumerate(variables):
                value = saved[str(i)]
                if value.shape != v.shape:
                    raise bad_file(
                        label,
                        f"shape mismatch for layer '{layer.name}' ({type(layer).__name__}), weight "
                        f"'{v.name}': the model expects shape {tuple(v.shape)}, the file's "
                        f"'{prefix}{i}' has shape {value.shape}",
                    )
                plan.append((v, value))
        rng = tensors.get(f"{_EXTRA}/rng/{group}")
        if rng is not None and hasattr(layer, "rng_state"):
            if not state_keys.is_rng_state(rng):
                raise bad_file(label, f"the generator state of layer '{layer.name}' is damaged")
            plan.append((None, (layer, rng)))
    extra = sorted(k for k in tensors if k.startswith("layers/") and k not in used)
    if extra:
        raise bad_file(label, f"it holds weights {extra[:5]} that no layer of the model has")
    for v, value in plan:
        if v is None:
            value[0].rng_state[...] = value[1]
        else:
            v.assign(value.astype(np.float32))


def _assign_optimizer(label, model, keras_layers, tensors, identifier):
    optimizer = model.optimizer
    layout = _optimizer_layout(model, keras_layers)
    prefix = "optimizer/vars/"
    saved = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not saved:
        return  # compiled in Keras but saved before its optimizer was built: a fresh optimizer
    if sorted(saved) != sorted(str(i) for i in range(len(layout))):
        raise bad_file(
            label,
            f"the optimizer {type(optimizer).__name__} has {len(layout)} variables in Keras's "
            f"layout; the file's 'optimizer/vars' holds {len(saved)}",
        )
    optimizer._build(model._n_trainable)
    values = {}
    for i, (slot, v) in enumerate(layout):
        value = saved[str(i)]
        expected = () if v is None else v.shape
        if value.shape != expected or (slot == "iterations" and (value.dtype.kind not in "iu" or value < 0)):
            raise bad_file(
                label,
                f"optimizer variable {i} ({slot}) has shape {value.shape} and dtype "
                f"{value.dtype}; expected shape {expected}",
            )
        if slot == "iterations":
            values["iterations"] = np.asarray(value, dtype=np.int64).reshape(1)
        elif slot == "learning_rate":
            if np.float32(optimizer.learning_rate) != np.float32(value):  # changed after compile (a callback)
                optimizer.learning_rate = float(value)
        elif v is None:
            values[slot] = np.asarray(value, dtype=np.float32).reshape(1)
        else:
            values.setdefault(slot, optimizer._state[slot].copy())
            off = model._offsets[id(v)]
            values[slot][off : off + v._value.size] = value.reshape(-1)
    optimizer._load_variables(values)
