"""pytrainc's model file: architecture, weights and optimizer state in one file.

The file is a safetensors file (see `pytrainc.saving.safetensors`), or HDF5
for paths ending in `.h5` / `.hdf5` (see `pytrainc.saving.h5.write_model`).
Its tensors are named as `pytrainc.saving.state_keys` says: `model/...` for
the weights, `optimizer/...` for the optimizer's variables, `rng/<i>` for the
generator of `model.layers[i]`. Its metadata holds `pytrainc.kind`
(`"pytrainc.model"`), `model_class`, `model_config` (the JSON of
`model.get_config()`) and, for a compiled model, `compile_config`.

`pytrainc.models.save_model` and `pytrainc.models.load_model` are these functions.
"""

import json

from pytrainc.saving import h5, state_keys
from pytrainc.saving.safetensors import read_safetensors, write_safetensors

__all__ = ["save_model", "load_model"]


def _refuse_keras_formats(filepath):
    suffix = str(filepath).lower()
    if suffix.endswith(".keras"):
        raise ValueError(f".keras files are not supported yet. Received: {filepath}. "
                         "Use a .h5, .safetensors or .npz path.")


def _model_class(name):
    from pytrainc.models import Model, Sequential  # pytrainc.models imports this module

    classes = {"Sequential": Sequential, "Functional": Model}
    if name not in classes:
        raise ValueError(f"Unknown model class {name!r} in the file")
    return classes[name]


def save_model(model, filepath):
    """Save a model to one file: architecture, weights and optimizer state.

    The file uses the safetensors layout (weights as tensors, the
    configuration as JSON metadata), or HDF5 for paths ending in `.h5` /
    `.hdf5` (see `pytrainc.h5.write_model`; needs h5py), and is written
    atomically; `load_model` restores a model that predicts identically and
    continues training.

    Args:
        model: A built Model.
        filepath: Destination path (str or PathLike), e.g. 'model.ptc'.

    Example:

    >>> pytrainc.models.save_model(model, "model.ptc")
    >>> restored = pytrainc.models.load_model("model.ptc")
    """
    from pytrainc.models import Model, Sequential

    if not isinstance(model, Model):
        raise TypeError(f"save_model expects a pytrainc Model. Received: {type(model).__name__}")
    model._require_built("save")
    tensors = state_keys.prefixed(state_keys.MODEL, model.state_dict())
    meta = {
        state_keys.KIND: state_keys.MODEL_KIND,
        "model_class": "Sequential" if isinstance(model, Sequential) else "Functional",
        "model_config": json.dumps(model.get_config()),
    }
    # Dropout generators: a loaded model continues training exactly as the original.
    for i, layer in enumerate(model.layers):
        if hasattr(layer, "rng_state"):
            tensors[state_keys.layer_rng_key(i)] = state_keys.rng_array(layer.rng_state)
    compile_config = model._compile_config()
    if compile_config is not None:
        meta["compile_config"] = json.dumps(compile_config)
        tensors.update(state_keys.prefixed(state_keys.OPTIMIZER, model.optimizer.variables()))
    if h5.is_h5_path(filepath):
        h5.write_model(filepath, tensors, meta, model)
    else:
        write_safetensors(filepath, tensors, meta)


def load_model(filepath):
    """Load a model saved by `save_model` / `Model.save`, compiled if it was.

    Raises:
        ValueError: if the file is not a pytrainc model or is damaged.
    """
    from pytrainc import losses, metrics, optimizers

    if h5.is_h5_path(filepath):
        tensors, meta = h5.read_model(filepath)
    else:
        tensors, meta = read_safetensors(filepath)
    if meta.get(state_keys.KIND) != state_keys.MODEL_KIND:
        raise ValueError(f"{filepath} is not a pytrainc model file (it holds no model configuration). "
                         "For a state dict use pytrainc.load(path) and model.load_state_dict().")
    try:
        config = json.loads(meta["model_config"])
        model = _model_class(meta.get("model_class")).from_config(config)
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{filepath}: the model configuration is damaged ({exc})") from None
    model.load_state_dict(state_keys.unprefixed(state_keys.MODEL, tensors), strict=True)
    for i, layer in enumerate(model.layers):
        saved = tensors.get(state_keys.layer_rng_key(i))
        if saved is not None and hasattr(layer, "rng_state"):
            if not state_keys.is_rng_state(saved):
                raise ValueError(f"{filepath}: the generator state of layer {i} is damaged")
            layer.rng_state[...] = saved
    if "compile_config" in meta:
        cc = json.loads(meta["compile_config"])
        model.compile(optimizer=optimizers.get(cc["optimizer"]), loss=losses.get(cc["loss"]),
                      metrics=[metrics.get(m) if isinstance(m, (str, dict)) else m for m in cc["metrics"]])
        state = state_keys.unprefixed(state_keys.OPTIMIZER, tensors)
        model._pack()
        for name in model.optimizer._slots:
            if name in state and state[name].shape != (model._n_trainable,):
                raise ValueError(f"{filepath}: optimizer slot {name!r} has shape {state[name].shape}, "
                                 f"expected ({model._n_trainable},)")
        model.optimizer._build(model._n_trainable)
        model.optimizer._load_variables(state)
    return model
