"""`BackupAndRestore`: resume an interrupted `fit()` exactly where it stopped.

A backup holds everything the rest of training depends on: the weights
(with BatchNormalization statistics), the optimizer's state and iterations,
the learning rate, the generator states for shuffling and dropout, the epoch
and batch position with the partial sums of the epoch's loss and metrics,
the batch size, and the state of the other callbacks (EarlyStopping's best
and wait, ReduceLROnPlateau's counters, History). A resumed run therefore
ends with weights bitwise equal to an uninterrupted run with the same seed.

Each callback class declares its own state in `_backup_state`, a dict of
attribute name to type (`{"wait": int, "best": float}`); a restore sets only
those attributes, and only to values of those types.
"""

import json
import os
import typing
import warnings

import numpy as np

from pytrainc import saving
from pytrainc.callbacks.callback import Callback, ResumePoint

_KIND = "pytrainc.backup"
_FILENAME = "backup.ptc"
_PREV_FILENAME = "backup.prev.ptc"  # with double_checkpoint=True


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


def _decode(value, tensors, path):
    """The value `_encode` described; a tensor it names must be in the file."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            name = value["__tensor__"]
            if not isinstance(name, str) or name not in tensors:
                raise ValueError(
                    f"{path}: a callback state refers to the tensor {name!r}, which the backup does not hold"
                )
            return tensors[name]
        if isinstance(value.get("__list__"), list):
            return [_decode(v, tensors, path) for v in value["__list__"]]
        if isinstance(value.get("__dict__"), dict):
            return {k: _decode(v, tensors, path) for k, v in value["__dict__"].items()}
    return value


def _conforms(value, declared):
    """Whether a decoded `value` has the type `declared` in a `_backup_state`.

    `declared` is a class (`int` and `float` match exactly those, not `bool`),
    or `typing.Optional`, `typing.List` or `typing.Dict` of such types.
    """
    origin, args = typing.get_origin(declared), typing.get_args(declared)
    if origin is typing.Union:
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    if declared is type(None):
        return value is None
    if declared in (int, float):
        return type(value) is declared
    return isinstance(value, declared)


def _type_name(declared):
    if typing.get_origin(declared) is None:
        return declared.__name__
    return str(declared).replace("typing.", "")


def _position(path, position):
    """The `(epoch, batch)` of a backup's position."""
    if isinstance(position, dict):
        epoch, batch = position.get("epoch"), position.get("batch")
        if all(type(v) is int and v >= 0 for v in (epoch, batch)):
            return epoch, batch
    raise ValueError(
        f"{path}: the backup's position is damaged. Expected "
        f"{{'epoch': int >= 0, 'batch': int >= 0}}. Received: {repr(position)[:200]}"
    )


class BackupAndRestore(Callback):
    """Backs up training state so that an interrupted `fit()` resumes exactly.

    Run the same `fit()` call again after a crash, an exception, Ctrl-C or
    `kill -9`: it restores the last backup and continues from there. Keras
    replays the whole interrupted epoch; with `save_freq` in batches pytrainc
    resumes mid-epoch. Backups are written atomically (temporary file, fsync,
    rename) with a checksum, so a crash while writing leaves the previous one.

    The other callbacks' state is saved as their classes declare it in
    `_backup_state` (for example `EarlyStopping`'s `wait` and `best`), and
    the resumed `fit()` must have the same callbacks. A backup that sets
    anything else, or a value of another type, is refused.

    Args:
        backup_dir: str or `os.PathLike`, the directory for the backup file
            (created if needed).
        save_freq: `"epoch"` (after every epoch) or a positive integer, a
            number of batches. Defaults to `"epoch"`.
        double_checkpoint: Whether to keep the previous backup too
            (`backup.prev.ptc`): if the last one cannot be read (a damaged
            disk, a file edited by hand), `fit()` warns and resumes from the
            previous one. Twice the disk space. Defaults to `False`.
        delete_checkpoint: Whether to remove the backup when training
            finishes. Defaults to `True`.

    Raises:
        ValueError: If `backup_dir` is empty or `save_freq` is neither
            `"epoch"` nor a positive integer; when `fit()` starts, if the
            backup is damaged, was written by a `fit()` with other callbacks,
            or sets state that a callback does not declare.

    Example:

    >>> cb = BackupAndRestore(backup_dir="/tmp/backup", save_freq=50)
    >>> # model.fit(x, y, epochs=10, callbacks=[cb])  # Run again after a crash.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(
                "Invalid value for argument `save_freq`. Expected 'epoch' or a positive integer. "
                f"Received: save_freq={save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.backup_interval = None if save_freq == "epoch" else save_freq
        self._path = os.path.join(self.backup_dir, _FILENAME)
        self._prev_path = os.path.join(self.backup_dir, _PREV_FILENAME)
        self._callbacks = ()
        self._resume = None

    # -- hooks called by fit
    def set_callbacks(self, callbacks):
        self._callbacks = callbacks

    def on_train_begin(self, logs=None):
        self._resume = None
        if os.path.exists(self._path):
            try:
                self._restore(self._path)
            except ValueError as exc:
                if not (self.double_checkpoint and os.path.exists(self._prev_path)):
                    raise
                warnings.warn(f"{exc}; resuming from the previous backup, {self._prev_path}", stacklevel=2)
                self._restore(self._prev_path)
        elif self.double_checkpoint and os.path.exists(self._prev_path):
            self._restore(self._prev_path)  # a crash between keeping the last backup and writing the next

    def resume_point(self):
        if self._resume is None:
            return None
        point, states = self._resume
        self._resume = None
        # The other callbacks' on_train_begin has just reset what the backup restores;
        # `_callback_states` checked every name and type against the callback's declaration.
        for cb, state in states:
            for name, value in state.items():
                setattr(cb, name, value)
        return point

    def on_backup_point(self, epoch, batch, sums=None, epoch_rng=None):
        self._save(epoch, batch, sums, epoch_rng)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for path in (self._path, self._prev_path):
                if os.path.exists(path):
                    os.remove(path)

    # -- the state
    def _others(self):
        return [c for c in self._callbacks if c is not self]

    def _save(self, epoch, batch, sums, epoch_rng):
        model = self.model
        tensors = {}
        for k, v in model.state_dict().items():
            tensors["model/" + k] = v
        for k, v in model.optimizer.variables().items():
            tensors["optimizer/" + k] = v
        # The generator fit shuffles from: the model's own (its key keeps the name of the
        # global generator it started as, so backups read as before).
        tensors["rng/global"] = (epoch_rng if batch > 0 else model._fit_shuffle_rng()).copy()
        for i, layer in enumerate(_rng_layers(model)):
            tensors[f"rng/layer/{i}"] = np.array(layer.rng_state, dtype=np.uint64)
        if batch > 0:
            tensors["sums"] = np.array(sums, dtype=np.float64)
        callbacks = []
        for i, cb in enumerate(self._others()):
            names = [name for name in cb._backup_state if hasattr(cb, name)]
            state = {a: _encode(getattr(cb, a), f"callback/{i}/{a}", tensors) for a in names}
            callbacks.append({"class": type(cb).__name__, "state": state})
        lr = model.optimizer._learning_rate
        meta = {
            "pytrainc.kind": _KIND,
            "position": json.dumps({"epoch": epoch, "batch": batch}),
            "batch_size": str(int(model._train_batch_size)),
            "learning_rate": json.dumps(lr if isinstance(lr, float) else None),
            "callbacks": json.dumps(callbacks),
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._path):
            os.replace(self._path, self._prev_path)  # atomic: one of the two always holds a backup
        saving.write_safetensors(self._path, tensors, meta)
        for cb in self._others():
            hook = getattr(cb, "on_backup_saved", None)  # Keras callbacks have none
            if hook is not None:
                hook(self._path, epoch, batch)

    def _restore(self, path):
        tensors, meta = saving.read_safetensors(path)
        if meta.get("pytrainc.kind") != _KIND:
            raise ValueError(f"{path} is not a pytrainc backup file")
        try:
            position = json.loads(meta["position"])
            callbacks = json.loads(meta["callbacks"])
            lr = json.loads(meta["learning_rate"])
            batch_size = int(meta["batch_size"])
        except (KeyError, ValueError, RecursionError) as exc:
            raise ValueError(f"{path}: the backup's metadata is damaged ({exc})") from None
        # Everything is checked before the model or a callback changes.
        epoch, batch = _position(path, position)
        if batch_size < 1:
            raise ValueError(
                f"{path}: the backup's batch size is damaged. Expected a positive integer. Received: {batch_size}"
            )
        if lr is not None and type(lr) not in (int, float):
            raise ValueError(
                f"{path}: the backup's learning rate is damaged. Expected a number or null. Received: {repr(lr)[:200]}"
            )
        sums = tensors.get("sums")
        if batch > 0 and (sums is None or sums.dtype != np.float64 or sums.ndim != 1):
            raise ValueError(
                f"{path}: the backup resumes epoch {epoch} at batch {batch} but holds no running "
                "sums of that epoch's loss and metrics (a 1-D float64 tensor 'sums')"
            )
        states = self._callback_states(callbacks, tensors, path)
        model = self.model
        layers = _rng_layers(model)
        rngs = [tensors.get(f"rng/layer/{i}") for i in range(len(layers))] + [tensors.get("rng/global")]
        for state in rngs:
            if not saving.state_keys.is_rng_state(state):
                raise ValueError(f"{path}: a generator state is missing or damaged")
        weights = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
        model.load_state_dict(weights, strict=True)
        opt_state = {k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")}
        model.optimizer._load_variables(opt_state)
        if lr is not None:
            model.optimizer.learning_rate = lr
        for layer, state in zip(layers, rngs):
            layer.rng_state[...] = state
        model._fit_shuffle_rng()[...] = rngs[-1]
        model._train_batch_size = batch_size
        self._resume = (ResumePoint(epoch, batch, sums, tensors["rng/global"], path), states)

    def _callback_states(self, saved, tensors, path):
        """Pairs each other callback with the state the backup gives it, as its class declares it."""
        if not isinstance(saved, list) or not all(
            isinstance(c, dict) and isinstance(c.get("class"), str) and isinstance(c.get("state"), dict) for c in saved
        ):
            raise ValueError(
                f"{path}: the backup's callback states are damaged. Expected a list of {{'class': str, 'state': dict}}."
            )
        others = self._others()
        if [type(c).__name__ for c in others] != [c["class"] for c in saved]:
            raise ValueError(
                f"{path} was written by a fit with callbacks {[c['class'] for c in saved]}; "
                f"this fit has {[type(c).__name__ for c in others]}. Resume with the same callbacks."
            )
        states = []
        for cb, entry in zip(others, saved):
            owner, declared = type(cb).__name__, cb._backup_state
            state = {}
            for name, raw in entry["state"].items():
                if name not in declared:
                    raise ValueError(
                        f"{path}: the backup sets {owner}.{name}, which {owner} does not declare "
                        f"as backup state. Expected only: {list(declared)}"
                    )
                try:
                    value = _decode(raw, tensors, path)
                except RecursionError:
                    raise ValueError(f"{path}: the backup's {owner}.{name} is nested too deeply") from None
                if not _conforms(value, declared[name]):
                    raise ValueError(
                        f"{path}: the backup gives {owner}.{name} a value of type "
                        f"{type(value).__name__}; {owner} declares {_type_name(declared[name])}"
                    )
                state[name] = value
            states.append((cb, state))
        return states


def _rng_layers(model):
    return [layer for layer in model._own_layers if hasattr(layer, "rng_state")]
