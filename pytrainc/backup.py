"""BackupAndRestore: resume an interrupted `fit` exactly where it stopped.

A backup holds everything the rest of training depends on: the weights
(with BatchNormalization statistics), the optimizer's state and iterations,
the learning rate, the generator states for shuffling and dropout, the epoch
and batch position with the partial sums of the epoch's loss and metrics,
the batch size, and the state of the other callbacks (EarlyStopping's best
and wait, ReduceLROnPlateau's counters, History). A resumed run therefore
ends with weights bitwise equal to an uninterrupted run with the same seed.
"""

import json
import os

import numpy as np

from pytrainc import saving
from pytrainc.saving import state_keys
from pytrainc.callbacks import Callback

_FILENAME = "backup.ptc"

# Attributes that make up a callback's state, for callbacks that do not
# declare `_state_attrs` themselves.
_DEFAULT_STATE_ATTRS = {
    "History": ("history", "epoch"),
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_weights", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "cooldown_counter", "best"),
    "ModelCheckpoint": ("best", "_batches_seen_since_last_saving", "_last_batch_seen"),
    "BatchSizeScheduler": ("batch_size",),
}


def _encode(value, prefix, tensors):
    """JSON-able description of value; arrays go to tensors under prefix."""
    if isinstance(value, np.ndarray):
        tensors[prefix] = np.ascontiguousarray(value)
        return {"__tensor__": prefix}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_encode(v, f"{prefix}/{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v, f"{prefix}/{k}", tensors) for k, v in value.items()}}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"BackupAndRestore cannot save a callback attribute of type {type(value).__name__}")


def _decode(value, tensors):
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__list__" in value:
            return [_decode(v, tensors) for v in value["__list__"]]
        if "__dict__" in value:
            return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    return value


def _state_attrs(callback):
    attrs = getattr(callback, "_state_attrs", None)
    if attrs is None:
        attrs = _DEFAULT_STATE_ATTRS.get(type(callback).__name__, ())
    return [a for a in attrs if hasattr(callback, a)]


class BackupAndRestore(Callback):
    """Back up training state so that an interrupted `fit` resumes exactly.

    Run the same `fit` call again after a crash, an exception, Ctrl-C or
    `kill -9`: it restores the last backup and continues from there. Keras
    replays the whole interrupted epoch; with `save_freq` in batches pytrainc
    resumes mid-epoch. Backups are written atomically (temporary file, fsync,
    rename) with a checksum, so a crash while writing leaves the previous one.

    Args:
        backup_dir: Directory for the backup file (created if needed).
        save_freq: 'epoch' (after every epoch) or an int number of batches.
            Defaults to 'epoch'.
        delete_checkpoint: Remove the backup when training finishes.
            Defaults to True.

    Example:

    >>> cb = BackupAndRestore(backup_dir="/tmp/backup", save_freq=50)
    >>> model.fit(x, y, epochs=10, callbacks=[cb])   # run again after a crash
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Expected 'epoch' or a positive integer. "
                             f"Received: save_freq={save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)
        self._fit_interval = None if save_freq == "epoch" else save_freq
        self._path = os.path.join(self.backup_dir, _FILENAME)

    # -- hooks called by fit
    def on_train_begin(self, logs=None):
        if os.path.exists(self._path):
            self._restore()

    def _after_epoch(self, epoch):
        self._save(epoch + 1, 0, None, None)

    def _after_batches(self, epoch, batch, sums, epoch_rng):
        self._save(epoch, batch, sums, epoch_rng)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)

    # -- the state
    def _others(self):
        cbs = getattr(self.model, "_callbacks", None)
        return [c for c in getattr(cbs, "callbacks", []) if c is not self]

    def _save(self, epoch, batch, sums, epoch_rng):
        model = self.model
        tensors = state_keys.prefixed(state_keys.MODEL, model.state_dict())
        tensors.update(state_keys.prefixed(state_keys.OPTIMIZER, model.optimizer.variables()))
        from pytrainc import utils

        tensors[state_keys.GLOBAL_RNG] = (epoch_rng if batch > 0 else utils.global_rng()).copy()
        for i, layer in enumerate(state_keys.rng_layers(model)):
            tensors[state_keys.backup_rng_key(i)] = state_keys.rng_array(layer.rng_state)
        if batch > 0:
            tensors["sums"] = np.array(sums, dtype=np.float64)
        callbacks = []
        for i, cb in enumerate(self._others()):
            state = {a: _encode(getattr(cb, a), f"callback/{i}/{a}", tensors) for a in _state_attrs(cb)}
            callbacks.append({"class": type(cb).__name__, "state": state})
        lr = model.optimizer._learning_rate
        meta = {
            state_keys.KIND: state_keys.BACKUP_KIND,
            "position": json.dumps({"epoch": epoch, "batch": batch}),
            "batch_size": str(int(model._train_batch_size)),
            "learning_rate": json.dumps(lr if isinstance(lr, float) else None),
            "callbacks": json.dumps(callbacks),
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        saving.write_safetensors(self._path, tensors, meta)

    def _restore(self):
        tensors, meta = saving.read_safetensors(self._path)
        if meta.get(state_keys.KIND) != state_keys.BACKUP_KIND:
            raise ValueError(f"{self._path} is not a pytrainc backup file")
        model = self.model
        try:
            position = json.loads(meta["position"])
            callbacks = json.loads(meta["callbacks"])
            lr = json.loads(meta["learning_rate"])
            batch_size = int(meta["batch_size"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{self._path}: the backup's metadata is damaged ({exc})") from None
        model.load_state_dict(state_keys.unprefixed(state_keys.MODEL, tensors), strict=True)
        model.optimizer._load_variables(state_keys.unprefixed(state_keys.OPTIMIZER, tensors))
        if lr is not None:
            model.optimizer.learning_rate = lr
        from pytrainc import utils

        layers = state_keys.rng_layers(model)
        states = [tensors.get(state_keys.backup_rng_key(i)) for i in range(len(layers))]
        states.append(tensors.get(state_keys.GLOBAL_RNG))
        for state in states:
            if not state_keys.is_rng_state(state):
                raise ValueError(f"{self._path}: a generator state is missing or damaged")
        for layer, state in zip(layers, states):
            layer.rng_state[...] = state
        utils.global_rng()[...] = states[-1]
        model._train_batch_size = batch_size
        others = self._others()
        if [type(c).__name__ for c in others] != [c["class"] for c in callbacks]:
            raise ValueError(f"{self._path} was written by a fit with callbacks {[c['class'] for c in callbacks]}; "
                             f"this fit has {[type(c).__name__ for c in others]}. Resume with the same callbacks.")
        # fit applies these after every callback's on_train_begin, which resets them.
        states = [(cb, {a: _decode(v, tensors) for a, v in saved["state"].items()})
                  for cb, saved in zip(others, callbacks)]
        model._resume = {"epoch": int(position["epoch"]), "batch": int(position["batch"]),
                         "epoch_rng": tensors[state_keys.GLOBAL_RNG], "sums": tensors.get("sums"), "callbacks": states}
