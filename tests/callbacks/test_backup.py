"""BackupAndRestore: a fit interrupted at any point (an exception, os._exit,
kill -9) and started again with the same call ends with weights bitwise equal
to an uninterrupted run with the same seed; checkpoints stay loadable."""

import json
import random
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import pytrainc
from pytrainc import saving
from pytrainc.backup import BackupAndRestore
from pytrainc.callbacks import Callback, ModelCheckpoint

SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np, pytrainc
    from pytrainc.layers import Dense, Dropout, Input
    from pytrainc.models import Sequential
    from pytrainc.backup import BackupAndRestore
    from pytrainc.callbacks import Callback, EarlyStopping, ModelCheckpoint

    crash_epoch, backup_dir, out, dropout, save_freq, epochs = (
        int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    pytrainc.utils.set_random_seed(11)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 8)); y = rng.integers(0, 3, 240)
    layers = [Input((8,)), Dense(32, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax"))
    model = Sequential(layers)
    lr = pytrainc.optimizers.schedules.ExponentialDecay(0.02, decay_steps=7, decay_rate=0.9)
    model.compile(optimizer=pytrainc.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if sys.argv[7:] == ["multi"]:  # two inputs, two outputs: each head's sums are resumed too
        from pytrainc.layers import Concatenate
        from pytrainc.models import Model
        a, b = Input((5,), name="a"), Input((3,), name="b")
        h = Dense(32, activation="relu")(Concatenate()([a, b]))
        if dropout:
            h = Dropout(dropout)(h)
        model = Model([a, b], [Dense(3, activation="softmax", name="cls")(h), Dense(1, name="reg")(h)])
        model.compile(optimizer=pytrainc.optimizers.Adam(lr), loss=["sparse_categorical_crossentropy", "mse"],
                      loss_weights=[1.0, 0.5], metrics=[["accuracy"], []], weighted_metrics=[[], ["mae"]])
        x, y = [x[:, :5], x[:, 5:]], [y, x[:, :1] * 2]

    class Crash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == crash_epoch:
                os._exit(3)

    print("STARTED", flush=True)
    callbacks = [BackupAndRestore(backup_dir, save_freq=save_freq),
                 ModelCheckpoint(os.path.join(backup_dir, "ckpt.ptc")),
                 EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
                 Crash()]
    history = model.fit(x, y, batch_size=8, epochs=epochs, validation_split=0.25, callbacks=callbacks, verbose=0)
    np.save(out, np.concatenate([w.ravel() for w in model.get_weights()]))
    print("DONE", len(history.history["loss"]), flush=True)
""")


def _run(tmp_path, *args, timeout=120):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )


def _reference(tmp_path, dropout, save_freq, epochs, *extra):
    out = tmp_path / "ref.npy"
    r = _run(tmp_path, -1, tmp_path / "ref_backup", out, dropout, save_freq, epochs, *extra)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "ref_backup" / "backup.ptc").exists()  # deleted after a finished fit
    return np.load(out), r.stdout


@pytest.mark.parametrize(
    "dropout,save_freq,crash_epoch,model",
    [(0.0, "epoch", 2, "single"), (0.3, 5, 1, "single"), (0.3, 4, 3, "single"), (0.3, 5, 1, "multi")],
)
def test_exit_mid_training_then_resume_is_bitwise_equal(tmp_path, dropout, save_freq, crash_epoch, model):
    ref, ref_out = _reference(tmp_path, dropout, save_freq, 12, model)
    backup = tmp_path / "backup"
    out = tmp_path / "resumed.npy"
    first = _run(tmp_path, crash_epoch, backup, out, dropout, save_freq, 12, model)
    assert first.returncode == 3  # the simulated crash
    assert (backup / "backup.ptc").exists()
    second = _run(tmp_path, -1, backup, out, dropout, save_freq, 12, model)
    assert second.returncode == 0, second.stderr
    np.testing.assert_array_equal(np.load(out), ref)
    assert second.stdout.split("DONE")[1] == ref_out.split("DONE")[1]  # same number of epochs in History


@pytest.mark.parametrize("model", ["single", "multi"])
def test_kill_9_at_random_moments(tmp_path, model):
    """kill -9 anywhere (also while a backup or checkpoint is being written):
    the latest checkpoint always loads, and the run finishes with the reference weights;
    also for a model with two inputs and two outputs."""
    dropout, save_freq, epochs = 0.3, 3, 10
    ref, _ = _reference(tmp_path, dropout, save_freq, epochs, model)
    script = tmp_path / "train.py"
    timing = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "-1",
            str(tmp_path / "timing"),
            str(tmp_path / "t.npy"),
            str(dropout),
            str(save_freq),
            str(epochs),
            model,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    timing.stdout.readline()
    t0 = time.perf_counter()
    timing.communicate(timeout=120)
    duration = time.perf_counter() - t0  # the training part of an uninterrupted run
    backup = tmp_path / "backup"
    out = tmp_path / "killed.npy"
    script = tmp_path / "train.py"
    rnd = random.Random(1234)
    kills = 0
    for attempt in range(40):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "-1",
                str(backup),
                str(out),
                str(dropout),
                str(save_freq),
                str(epochs),
                model,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        assert proc.stdout.readline().startswith("STARTED")
        time.sleep(rnd.uniform(0.0, duration / 3))
        if proc.poll() is None and kills < 8:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        stdout, stderr = proc.communicate(timeout=120)
        ckpt = backup / "ckpt.ptc"
        if ckpt.exists():  # never half-written
            pytrainc.models.load_model(ckpt)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, stderr
    else:
        pytest.fail("training never finished")
    assert kills >= 3, f"only {kills} kills landed before training finished"
    np.testing.assert_array_equal(np.load(out), ref)


def test_wrong_callbacks_on_resume_are_refused(tmp_path):
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential

    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.zeros((20, 1))
    m = Sequential([Input((3,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")

    class Boom(pytrainc.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        m.fit(x, y, epochs=3, verbose=0, callbacks=[BackupAndRestore(tmp_path), Boom()])
    assert (tmp_path / "backup.ptc").exists()  # kept after a failed fit
    with pytest.raises(ValueError, match="same callbacks"):
        m.fit(x, y, epochs=3, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


@pytest.mark.parametrize(
    "kwargs", [{"backup_dir": ""}, {"backup_dir": "x", "save_freq": 0}, {"backup_dir": "x", "save_freq": "batch"}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        BackupAndRestore(**kwargs)


def test_damaged_backup_is_an_error_not_a_silent_restart(tmp_path):
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential

    (tmp_path / "backup.ptc").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    m = Sequential([Input((3,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError):
        m.fit(np.zeros((4, 3)), np.zeros((4, 1)), verbose=0, callbacks=[BackupAndRestore(tmp_path)])


# ------------------------------------------------ crafted backups (issue 13, items 6 and 7)


class _StopInEpoch1(Callback):
    """Raises at batch 3 of epoch 1; with a backup every 2 batches, the last one is at (1, 2)."""

    def __init__(self, active):
        super().__init__()
        self.active, self.epoch = active, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.active and self.epoch == 1 and batch == 3:
            raise RuntimeError("stop")


def _callbacks(tmp_path, stop=False):
    return [
        BackupAndRestore(tmp_path / "backup", save_freq=2),
        ModelCheckpoint(str(tmp_path / "ckpt.ptc")),
        _StopInEpoch1(stop),
    ]


def _fit(callbacks):
    """A fit of 3 epochs of 5 batches."""
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential

    pytrainc.utils.set_random_seed(5)
    x = np.random.default_rng(0).normal(size=(40, 3))
    m = Sequential([Input((3,)), Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    m.fit(x, x.sum(axis=1, keepdims=True), batch_size=8, epochs=3, verbose=0, callbacks=callbacks)


def _tamper(tmp_path, edit):
    """Interrupts a fit mid-epoch, edits its backup with edit(tensors, meta), returns the backup's path."""
    with pytest.raises(RuntimeError, match="stop"):
        _fit(_callbacks(tmp_path, stop=True))
    path = tmp_path / "backup" / "backup.ptc"
    tensors, meta = saving.read_safetensors(path)
    assert json.loads(meta["position"]) == {"epoch": 1, "batch": 2}
    for key in ("format", "format_version"):  # Written again by write_safetensors.
        meta.pop(key)
    edit(tensors, meta)
    saving.write_safetensors(path, tensors, meta)  # With a valid checksum, as anyone can.
    return path


def _edit_state(name, value):
    def edit(tensors, meta):
        callbacks = json.loads(meta["callbacks"])
        assert callbacks[0]["class"] == "ModelCheckpoint"
        callbacks[0]["state"][name] = value
        meta["callbacks"] = json.dumps(callbacks)

    return edit


def test_crafted_backup_cannot_set_an_undeclared_attribute(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "model.ptc"
    path = _tamper(tmp_path, _edit_state("filepath", str(elsewhere)))
    message = (
        f"{re.escape(str(path))}: the backup sets ModelCheckpoint.filepath, which "
        r"ModelCheckpoint does not declare as backup state. Expected only: \['best', "
    )
    callbacks = _callbacks(tmp_path)
    with pytest.raises(ValueError, match=message):
        _fit(callbacks)
    assert callbacks[1].filepath == str(tmp_path / "ckpt.ptc")
    assert not elsewhere.parent.exists()


@pytest.mark.parametrize(
    "name,value,declared",
    [("_last_batch_seen", "2", "int"), ("_last_batch_seen", True, "int"), ("best", [1.0], r"Optional\[float\]")],
)
def test_crafted_backup_cannot_set_a_value_of_another_type(tmp_path, name, value, declared):
    path = _tamper(tmp_path, _edit_state(name, value))
    with pytest.raises(
        ValueError,
        match=f"{re.escape(str(path))}: the backup gives ModelCheckpoint.{name} "
        f"a value of type {type(value).__name__}; ModelCheckpoint declares {declared}$",
    ):
        _fit(_callbacks(tmp_path))


def test_crafted_backup_cannot_refer_to_a_missing_tensor(tmp_path):
    path = _tamper(tmp_path, _edit_state("best", {"__tensor__": "no/such/tensor"}))
    with pytest.raises(
        ValueError,
        match=f"{re.escape(str(path))}: a callback state refers to the tensor "
        "'no/such/tensor', which the backup does not hold",
    ):
        _fit(_callbacks(tmp_path))


@pytest.mark.parametrize("batch", [5, 6, 10**6])  # An epoch of 5 batches: 0..4 only.
def test_backup_position_past_the_end_of_the_epoch_is_refused(tmp_path, batch):
    def edit(tensors, meta):
        meta["position"] = json.dumps({"epoch": 1, "batch": batch})

    path = _tamper(tmp_path, edit)
    with pytest.raises(
        ValueError,
        match=f"{re.escape(str(path))}: the backup resumes epoch 1 at batch "
        f"{batch}, past the end of the epoch, which has 5 batches",
    ):
        _fit(_callbacks(tmp_path))


@pytest.mark.parametrize("position", [{"epoch": 1, "batch": -1}, {"epoch": "1", "batch": 2}, {"epoch": 1}, [1, 2]])
def test_damaged_backup_position_is_refused(tmp_path, position):
    def edit(tensors, meta):
        meta["position"] = json.dumps(position)

    path = _tamper(tmp_path, edit)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: the backup's position is damaged"):
        _fit(_callbacks(tmp_path))


def test_backup_without_sums_is_refused(tmp_path):
    path = _tamper(tmp_path, lambda tensors, meta: tensors.pop("sums"))
    with pytest.raises(
        ValueError, match=f"{re.escape(str(path))}: the backup resumes epoch 1 at batch 2 but holds no running sums"
    ):
        _fit(_callbacks(tmp_path))


def test_backup_with_sums_of_another_model_is_refused(tmp_path):
    def edit(tensors, meta):
        tensors["sums"] = np.concatenate([tensors["sums"], [0.0]])

    path = _tamper(tmp_path, edit)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: the backup's running sums .* have shape"):
        _fit(_callbacks(tmp_path))


def test_untampered_backup_resumes(tmp_path):
    _tamper(tmp_path, lambda tensors, meta: None)
    callbacks = _callbacks(tmp_path)
    _fit(callbacks)
    assert not (tmp_path / "backup" / "backup.ptc").exists()  # Finished: deleted.
    assert callbacks[1].filepath == str(tmp_path / "ckpt.ptc")


class _Counter(Callback):
    """Counts epochs; only `count` is declared backup state."""

    _backup_state = {"count": int}

    def __init__(self, stop):
        super().__init__()
        self.stop, self.count, self.undeclared = stop, 0, 0

    def on_train_begin(self, logs=None):
        self.count = 0

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1
        self.undeclared += 1
        if self.stop and epoch == 1:
            raise RuntimeError("stop")  # Before the backup of epoch 1: the last one is after epoch 0.


def test_a_callback_declares_the_state_its_backup_saves(tmp_path):
    with pytest.raises(RuntimeError, match="stop"):
        _fit([BackupAndRestore(tmp_path), _Counter(stop=True)])
    resumed = _Counter(stop=False)
    _fit([BackupAndRestore(tmp_path), resumed])
    assert resumed.count == 3  # 1 restored, then epochs 1 and 2.
    assert resumed.undeclared == 2


# ------------------------------------------------ double_checkpoint (Keras 3's option)


def _fit_epochs(epochs, callbacks):
    from pytrainc.layers import Dense, Input
    from pytrainc.models import Sequential

    pytrainc.utils.set_random_seed(5)
    x = np.random.default_rng(0).normal(size=(40, 3))
    m = Sequential([Input((3,)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(x, x.sum(axis=1, keepdims=True), batch_size=8, epochs=epochs, verbose=0, callbacks=callbacks)
    return m.get_weights()


def test_double_checkpoint_resumes_from_the_previous_backup_when_the_last_is_damaged(tmp_path):
    want = _fit_epochs(3, [])
    cb = BackupAndRestore(tmp_path, double_checkpoint=True, delete_checkpoint=False)
    _fit_epochs(2, [cb])  # backups after epochs 1 and 2: backup.prev.ptc and backup.ptc
    tensors, meta = saving.read_safetensors(tmp_path / "backup.prev.ptc")
    assert json.loads(meta["position"]) == {"epoch": 1, "batch": 0}
    last = tmp_path / "backup.ptc"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # damaged
    cb = BackupAndRestore(tmp_path, double_checkpoint=True)
    with pytest.warns(UserWarning, match="resuming from the previous backup"):
        got = _fit_epochs(3, [cb])  # epochs 2 and 3 again, from the backup after epoch 1
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert not last.exists() and not (tmp_path / "backup.prev.ptc").exists()  # finished: both deleted


def test_without_double_checkpoint_a_damaged_backup_is_still_an_error(tmp_path):
    cb = BackupAndRestore(tmp_path, delete_checkpoint=False)
    _fit_epochs(2, [cb])
    assert not (tmp_path / "backup.prev.ptc").exists()
    last = tmp_path / "backup.ptc"
    last.write_bytes(last.read_bytes()[:100])
    with pytest.raises(ValueError):
        _fit_epochs(3, [BackupAndRestore(tmp_path)])
