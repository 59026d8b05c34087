"""pytrainc's model file: architecture, weights and optimizer state in one file.

`save_model` writes by the path's suffix: `.keras` Keras 3's zip (see
`pytrainc.saving.keras_file`), `.h5` / `.hdf5` HDF5 (see
`pytrainc.saving.h5.write_model`) and `.ptc` pytrainc's own format, a
safetensors file (see `pytrainc.saving.safetensors`); any other suffix is
refused, so that no file is written in one format under another's name.
`load_model` reads all three, a `.keras` zip also under another name.

pytrainc's own file
Its tensors are named as `pytrainc.saving.state_keys` says: `model/...` for
the weights, `optimizer/...` for the optimizer's variables, `rng/<i>` for the
generator of `model.layers[i]`. Its metadata holds `pytrainc.kind`
(`"pytrainc.model"`), `model_class`, `model_config` (the JSON of
`model.get_config()`) and, for a compiled model, `compile_config`.

Loading checks the file before it builds anything: the configuration's
structure, and the size of every weight its layers would create against the
tensors the file holds (a small file cannot make it allocate gigabytes).
Every problem with the file's contents is a ValueError that names the file.

`pytrainc.models.save_model` and `pytrainc.models.load_model` are these functions.
"""

import json
import math
import os

import numpy as np

from pytrainc.saving import h5, keras_file, object_registration, state_keys
from pytrainc.saving._common import BadFile, bad_file, fspath
from pytrainc.saving.h5_read import KERAS_MODEL_CONFIG
from pytrainc.saving.safetensors import read_safetensors, write_safetensors

__all__ = ["save_model", "load_model"]


OWN_SUFFIX = ".ptc"


def _refuse_keras_formats(filepath):
    """Refuses a `.keras` path for weights: a `.keras` file holds a whole model, as in Keras 3."""
    if keras_file.is_keras_path(filepath):
        raise ValueError(
            "A .keras file holds a whole model: save it with model.save(path) and load it with "
            "pytrainc.models.load_model(path). For weights only, use a '.weights.h5' path (Keras 3's "
            f"weights format), '.h5', '.safetensors' or '.npz'. Received: {os.fspath(filepath)}"
        )


def _save_format(path):
    lower = path.lower()
    if keras_file.is_keras_path(lower):
        return "keras"
    if h5.is_h5_path(lower):
        return "h5"
    if lower.endswith(OWN_SUFFIX):
        return "ptc"
    raise ValueError(
        "Invalid filepath extension for saving. Use '.keras' for Keras 3's format (which "
        f"keras.models.load_model reads), '{OWN_SUFFIX}' for pytrainc's own format or '.h5'. For "
        f"weights only, use model.save_weights. Received: filepath={path!r}"
    )


_MODEL_CLASSES = ("Sequential", "Functional")
# What building layers, losses, metrics and optimizers from a damaged configuration raises.
_CONFIG_ERRORS = (KeyError, TypeError, IndexError, AttributeError, ValueError, RecursionError, OverflowError)


def save_model(model, filepath, overwrite=True):
    """Save a model to one file: architecture, weights and optimizer state.

    The path's suffix chooses the format: `.keras` writes Keras 3's zip
    (`keras.models.load_model` reads it; see `pytrainc.saving.keras_file`),
    `.ptc` pytrainc's own format (the safetensors layout: weights as tensors,
    the configuration as JSON metadata) and `.h5` / `.hdf5` HDF5 (see
    `pytrainc.h5.write_model`). `.keras` and `.h5` need h5py. The file is
    written atomically; `load_model` restores a model that predicts
    identically and continues training as the saved one would.

    Args:
        model: A built Model.
        filepath: Destination path (str or PathLike), e.g. 'model.keras' or 'model.ptc'.
        overwrite: Whether to replace an existing file. Defaults to True.

    Raises:
        TypeError: if `model` is not a pytrainc Model.
        ValueError: for an unbuilt model or a suffix other than `.keras`,
            `.ptc`, `.h5` and `.hdf5`.
        FileExistsError: if the file exists and `overwrite` is False.

    Example:

    >>> pytrainc.models.save_model(model, "model.keras")
    >>> restored = pytrainc.models.load_model("model.keras")
    """
    from pytrainc.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"save_model expects a pytrainc Model. Received: {type(model).__name__}")
    path = fspath(filepath, "filepath")
    kind = _save_format(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")
    model._require_built("save")
    if kind == "keras":
        keras_file.save_keras(model, path)
        return
    tensors, meta = model_state(model)
    if kind == "h5":
        h5.write_model(filepath, tensors, meta, model)
    else:
        write_safetensors(filepath, tensors, meta)


def model_state(model):
    """`(tensors, metadata)`: a model as pytrainc's model file holds it (also unbuilt, for pickling).

    The tensors are the weights (`model/<state dict name>`), the Dropout
    generators and, for a compiled model, the optimizer's variables; the
    metadata the model's class, configuration and compile configuration, as JSON.
    """
    from pytrainc.models import Sequential

    tensors = state_keys.prefixed(state_keys.MODEL, model.state_dict())
    meta = {
        state_keys.KIND: state_keys.MODEL_KIND,
        "model_class": "Sequential" if isinstance(model, Sequential) else "Functional",
        "model_config": json.dumps(model.get_config()),
    }
    # Dropout generators: a loaded model continues training exactly as the original.
    for i, layer in enumerate(model._own_layers):
        if hasattr(layer, "rng_state"):
            tensors[state_keys.layer_rng_key(i)] = state_keys.rng_array(layer.rng_state)
    compile_config = model._compile_config()
    if compile_config is not None:
        meta["compile_config"] = json.dumps(compile_config)
        tensors.update(state_keys.prefixed(state_keys.OPTIMIZER, model.optimizer.variables()))
    return tensors, meta


def _json_entry(path, meta, key):
    try:
        return json.loads(meta[key])
    except KeyError:
        raise bad_file(path, f"the metadata has no {key!r} entry; the file is damaged") from None
    except (ValueError, RecursionError) as err:  # RecursionError: JSON nested too deeply
        raise bad_file(path, f"the {key!r} entry is not valid JSON ({type(err).__name__}: {err})") from None


def _config_error(path, what, err):
    if isinstance(err, BadFile):
        return err
    return bad_file(path, f"the {what} is damaged ({type(err).__name__}: {str(err)[:300]})")


def _flat_stages(path, configs, depth=0):
    """A Sequential's layer configs with nested Sequentials' layers in their place (their own
    InputLayer dropped past the first stage), as `Sequential.layers` lists them."""
    out = []
    for c in configs:
        kind = c.get("class_name") if isinstance(c, dict) else None
        if kind in ("Model", "Functional"):
            raise bad_file(path, "a functional model inside a Sequential cannot be read from a .ptc file yet")
        if kind != "Sequential":
            out.append(c)
            continue
        inner = c.get("config", {}).get("layers") if isinstance(c.get("config"), dict) else None
        if not isinstance(inner, list) or depth > 32:
            raise bad_file(path, "a nested Sequential of the configuration has no 'layers' list")
        inner = _flat_stages(path, inner, depth + 1)
        if out and inner and isinstance(inner[0], dict) and inner[0].get("class_name") == "InputLayer":
            inner = inner[1:]
        out += inner
    return out


def _walk(path, sequential, config):
    """[(layer, [parent node indices], whether its last parent is the call's mask=)] of a model
    configuration, after checking its structure.

    The layers are new instances, unbuilt; parent indices refer to the list itself.
    """
    from pytrainc.layers import InputLayer, deserialize
    from pytrainc.layers._outputs import node_layer, node_masked

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise bad_file(path, "the model configuration is not an object with a 'layers' list")
    layers = [deserialize(c) for c in _flat_stages(path, config["layers"])] if sequential else None
    if not sequential:
        layers = [deserialize(c) for c in config["layers"]]
    if sequential:
        if layers and not isinstance(layers[0], InputLayer) and layers[0]._input_shape_arg is not None:
            # What Sequential.add makes of a first layer's `input_shape`.
            layers.insert(0, InputLayer(shape=layers[0]._input_shape_arg, name="input_layer"))
        if not layers or not isinstance(layers[0], InputLayer):
            return []  # no input shape: Sequential builds no weights
        return [(layer, [i - 1] if i else [], False) for i, layer in enumerate(layers)]
    nodes = config.get("nodes")
    if not isinstance(nodes, list):
        raise bad_file(path, "the model configuration has no 'nodes' list")
    walk = []
    for n, node in enumerate(nodes):
        if not (
            isinstance(node, list)
            and len(node) in (2, 3)
            and _is_index(node[0], len(layers))
            and isinstance(node[1], list)
            and all(_is_index(p, n) for p in node[1])
            and (len(node) == 2 or (len(node[1]) == 1 and _is_index(node[2], 8)) or node_masked(node))
        ):
            raise bad_file(
                path,
                f"node {n} of the model configuration is {node!r:.200}; expected "
                f"[layer index < {len(layers)}, [indices of earlier nodes]] (and an output index < 8, or "
                "'mask' for a call given mask=)",
            )
        walk.append((node_layer(layers, node), node[1], node_masked(node)))
    for key in ("input", "output"):
        ref = config.get(key)
        refs = list(ref.values()) if isinstance(ref, dict) else ref if isinstance(ref, list) else [ref]
        if not refs or not all(_is_index(r, len(nodes)) for r in refs):
            raise bad_file(
                path,
                f"the model configuration's {key!r} is {ref!r:.50}; expected a node index < {len(nodes)} "
                "(or a list or dict of them)",
            )
    return walk


def _is_index(value, n):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n


def _check_declared_weights(path, sequential, config, present):
    """Refuses a configuration whose weights the file's tensors cannot fill, before any weight exists.

    Building the model from a 2 KB file whose configuration says
    `Dense(units=2**28)` would allocate gigabytes before its tensors are compared
    with the layers. So the layers are first built on their own, their
    `add_weight` recording shapes instead of creating arrays, and their total
    may not exceed `present`, the number of weight values the file holds (a
    strict comparison of each weight follows). Constructing the layers draws
    Dropout seeds from the global generator, which is put back.
    """
    from pytrainc import utils
    from pytrainc.layers._outputs import recall

    declared = 0

    def recorder(layer):
        def add_weight(name, shape, *args, **kwargs):
            nonlocal declared
            shape = tuple(shape)
            declared += math.prod(shape)
            if declared > present:
                raise bad_file(
                    path,
                    f"layer '{layer.name}' ({type(layer).__name__}) of the configuration creates a "
                    f"weight '{name}' of shape {shape}, which brings the model to {declared} "
                    f"weight values, but the file's tensors hold {present}",
                )
            return np.broadcast_to(np.float32(0), shape)

        return add_weight

    rng = utils.global_rng()
    saved_rng = rng.copy()
    try:
        outputs = []
        for layer, parents, masked in _walk(path, sequential, config):
            if not parents:
                if not hasattr(layer, "output"):  # not an InputLayer
                    raise bad_file(
                        path, f"layer '{layer.name}' has no inputs in the configuration but is not an InputLayer"
                    )
                outputs.append(layer.output)
                continue
            layer.add_weight = recorder(layer)
            outputs.append(recall(layer, [outputs[p] for p in parents], masked))
    finally:
        rng[...] = saved_rng


def _check_compile_config(path, cc):
    if (
        not isinstance(cc, dict)
        or not {"optimizer", "loss", "metrics"} <= cc.keys()
        or not isinstance(cc["metrics"], (list, dict))
    ):
        raise bad_file(
            path,
            f"the compile configuration is {cc!r:.200}; expected an object with 'optimizer', "
            "'loss' and 'metrics' (a list, or a dict per output)",
        )


def _check_optimizer_state(path, optimizer, state, n_trainable):
    for name, value in state.items():
        if name in optimizer._state_slots():
            expected = (n_trainable,)
        elif name == "iterations" or name in optimizer._scalars:
            expected = (1,)
        else:
            raise bad_file(path, f"the tensor 'optimizer/{name}' is no state of {type(optimizer).__name__}")
        if value.shape != expected or (name == "iterations" and (value.dtype.kind not in "iu" or value[0] < 0)):
            raise bad_file(
                path,
                f"the tensor 'optimizer/{name}' has shape {value.shape} and dtype {value.dtype}; "
                f"expected shape {expected}" + (", a count >= 0" if name == "iterations" else ""),
            )


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by `save_model` / `Model.save`, or by Keras 3 as `.keras`, compiled if it was.

    The file is checked before anything is built: its structure, and that the
    weights its configuration describes fit in the tensors it holds, so that
    a small crafted file cannot make it allocate more than about the file's
    own size. Nothing in the file is executed: no pickle, no `eval`, no import.

    Args:
        filepath: Path (str or PathLike): a `.keras` zip (Keras's or pytrainc's,
            under any name), an `.h5` / `.hdf5` file or a pytrainc model file.
        custom_objects: Optional dict of name to class or function: the custom
            layers, losses, metrics and activations the file names, besides those
            registered with `pytrainc.saving.register_keras_serializable` (see
            `CustomObjectScope`). Defaults to None.
        compile: Whether to compile the model with its saved optimizer state.
            Defaults to True.
        safe_mode: Keras's argument for `.keras` files: lambdas are refused
            (whatever its value, since pytrainc runs no code from files).
            Defaults to True.

    Returns:
        The model, compiled with its optimizer state if it was saved compiled.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a model file or is damaged or
            crafted, or holds what pytrainc does not build (the message names
            the file and the problem, and for a `.keras` zip its member).

    Example:

    >>> model.save("model.keras")
    >>> restored = pytrainc.models.load_model("model.keras")
    """
    path = fspath(filepath, "filepath")
    with object_registration.loading_scope(custom_objects):
        if keras_file.is_keras_path(path) or (not h5.is_h5_path(path) and keras_file.looks_like_keras(path)):
            return keras_file.load_keras(path, compile=compile, safe_mode=safe_mode)
        if h5.is_h5_path(path):
            tensors, meta = h5.read_model(path)
            if KERAS_MODEL_CONFIG in meta:
                return _load_keras_h5(path, meta[KERAS_MODEL_CONFIG], safe_mode)
        else:
            tensors, meta = read_safetensors(path)
        return model_from_state(path, tensors, meta, compile=compile)


def _load_keras_h5(path, raw, safe_mode):
    """A model from Keras's whole-model .h5: its `model_config` JSON rebuilt as `.keras` configs are,
    then the weights of its `model_weights` group (Keras's legacy layout, matched by position).
    Keras's `training_config` is not read: the model comes back uncompiled."""
    from pytrainc.models import Model, Sequential
    from pytrainc.saving import keras_config

    label = f"{path}' attribute 'model_config"
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise bad_file(label, f"it is not valid JSON ({err})") from None
    info = keras_config.model_from_keras(label, config, safe_mode=safe_mode)
    try:
        model = (Sequential if info["sequential"] else Model).from_config(info["config"])
    except _CONFIG_ERRORS as err:
        raise _config_error(label, "model configuration", err) from err
    model.load_weights(path)
    return model


def model_from_state(path, tensors, meta, compile=True):
    """The model that `model_state` describes, checked as a file's contents are; errors name `path`."""
    from pytrainc import losses, metrics, optimizers

    if meta.get(state_keys.KIND) != state_keys.MODEL_KIND:
        raise ValueError(
            f"{path} is not a pytrainc model file (it holds no model configuration). "
            "For a state dict use pytrainc.load(path) and model.load_state_dict()."
        )
    model_class = meta.get("model_class")
    if model_class not in _MODEL_CLASSES:
        raise bad_file(path, f"unknown model class {model_class!r:.50}; expected one of {_MODEL_CLASSES}")
    config = _json_entry(path, meta, "model_config")
    cc = _json_entry(path, meta, "compile_config") if compile and "compile_config" in meta else None
    if cc is not None:
        _check_compile_config(path, cc)
    from pytrainc.models import Model, Sequential  # pytrainc.models imports this module

    sequential = model_class == "Sequential"
    try:
        present = sum(int(a.size) for a in state_keys.unprefixed(state_keys.MODEL, tensors).values())
        _check_declared_weights(path, sequential, config, present)
        model = (Sequential if sequential else Model).from_config(config)
        model.load_state_dict(state_keys.unprefixed(state_keys.MODEL, tensors), strict=True)
    except _CONFIG_ERRORS as err:
        raise _config_error(path, "model configuration or its weights", err) from err
    for i, layer in enumerate(model._own_layers):
        saved = tensors.get(state_keys.layer_rng_key(i))
        if saved is not None and hasattr(layer, "rng_state"):
            if not state_keys.is_rng_state(saved):
                raise bad_file(path, f"the generator state of layer {i} is damaged")
            layer.rng_state[...] = saved
    if cc is not None:
        try:
            model.compile(
                optimizer=optimizers.get(cc["optimizer"]),
                loss=cc["loss"] if isinstance(cc["metrics"], dict) else losses.get(cc["loss"]),
                metrics=cc["metrics"]
                if isinstance(cc["metrics"], dict)
                else [metrics.get(m) if isinstance(m, (str, dict)) else m for m in cc["metrics"]],
                loss_weights=cc.get("loss_weights"),
                weighted_metrics=cc.get("weighted_metrics"),
            )
        except _CONFIG_ERRORS as err:
            raise _config_error(path, "compile configuration", err) from err
        state = state_keys.unprefixed(state_keys.OPTIMIZER, tensors)
        model._pack()
        _check_optimizer_state(path, model.optimizer, state, model._n_trainable)
        model.optimizer._build(model._n_trainable)
        model.optimizer._load_variables(state)
    return model
