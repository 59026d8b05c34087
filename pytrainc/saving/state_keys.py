"""The names under which training state is stored, shared by every file that holds it.

A model file (`pytrainc.saving.model_file`) and a `BackupAndRestore` backup
both store the weights as `model/<state dict name>` (for example
`model/0.kernel`), the optimizer's variables as `optimizer/<name>` and
generator states as uint64 arrays of 4 words; their metadata says which kind
of file it is under `pytrainc.kind`. This module is the one place those names
are written.

Generator states are keyed differently by the two files, and each keeps its
key (the formats do not change): a model file stores the generator of
`model.layers[i]` as `rng/<i>`; a backup stores that of the `k`-th layer
with a generator as `rng/layer/<k>`, and the global generator as `rng/global`.
"""

import collections

import numpy as np

KIND = "pytrainc.kind"
MODEL_KIND = "pytrainc.model"
BACKUP_KIND = "pytrainc.backup"

MODEL = "model/"
OPTIMIZER = "optimizer/"
GLOBAL_RNG = "rng/global"


def state_name(layer_index, variable, layer=None):
    """The state dict name of a layer's weight, as `Model.state_dict` names it: '0.kernel' (a
    sublayer's weight, a Bidirectional's, with its sublayer's name: '0.forward_lstm.kernel')."""
    owner = variable._layer
    prefix = "" if layer is None or owner is None or owner is layer else f"{owner.name}."
    return f"{layer_index}.{prefix}{variable.name.rsplit('/', 1)[-1]}"


def prefixed(prefix, mapping):
    """An OrderedDict of `prefix + name` -> value, in the order of `mapping`."""
    return collections.OrderedDict((prefix + k, v) for k, v in mapping.items())


def unprefixed(prefix, tensors):
    """The entries of `tensors` whose name starts with `prefix`, with the prefix removed."""
    return collections.OrderedDict((k[len(prefix) :], v) for k, v in tensors.items() if k.startswith(prefix))


def layer_rng_key(layer_index):
    """A model file's key for the generator of `model.layers[layer_index]`."""
    return f"rng/{layer_index}"


def backup_rng_key(rng_index):
    """A backup's key for the generator of the `rng_index`-th layer that has one."""
    return f"rng/layer/{rng_index}"


def rng_layers(model):
    """The layers of `model` that own a generator (Dropout), in layer order."""
    return [layer for layer in model._own_layers if hasattr(layer, "rng_state")]


def rng_array(rng_state):
    """A generator state as the array a file stores: uint64, shape (4,)."""
    return np.array(rng_state, dtype=np.uint64)


def is_rng_state(array):
    """Whether a stored array can be a generator state (xoshiro256: 4 words, not all zero), or the
    (k, 4) states of a layer's k SeedGenerators."""
    if array is None or array.dtype != np.uint64 or array.ndim not in (1, 2) or array.shape[-1:] != (4,):
        return False
    return bool(array.reshape(-1, 4).any(axis=1).all()) and array.size > 0
