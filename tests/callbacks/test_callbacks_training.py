"""Callbacks in real `Model.fit()` runs on tiny models.

Several tests rely on fit's side of the callback contracts (see the
`# Contract:` comments): `model._train_batch_size` read after
`on_epoch_begin`, `on_engine_batch_end("nonfinite_loss", ...)`,
`on_train_progress` between chunks, and `params["steps"]` kept up to date
when the batch size changes.
"""

import math
import os
import re
import sys

import numpy as np
import pytest

from pytrainc import utils
from pytrainc.callbacks import _util
from pytrainc.callbacks import (
    BatchSizeScheduler,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TensorBoard,
    TerminateOnNaN,
)
from pytrainc.layers import Dense
from pytrainc.models import Sequential, load_model
from pytrainc.optimizers import SGD
from pytrainc.testing import KERAS_LINE_1, KERAS_LINE_2, TTY


def regression_data(n=64, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]][:features], dtype=np.float32) + 0.3).astype(np.float32)
    return x, y


def tiny_model(learning_rate=0.05, features=3, hidden=4):
    utils.set_random_seed(1)
    model = Sequential([Dense(hidden, input_dim=features, activation="tanh"), Dense(1)])
    model.compile(optimizer=SGD(learning_rate), loss="mse")
    return model


# -------------------------------------------------------------- ModelCheckpoint


def test_checkpoint_writes_models_that_load_back(tmp_path):
    x, y = regression_data()
    model = tiny_model()
    pattern = str(tmp_path / "ckpt" / "m-{epoch:02d}-{val_loss:.3f}.ptc")
    history = model.fit(
        x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[ModelCheckpoint(pattern)]
    )
    expected = [f"m-{e + 1:02d}-{v:.3f}.ptc" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path / "ckpt")) == expected
    last = load_model(str(tmp_path / "ckpt" / expected[-1]))
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))
    # The optimizer state came along: training continues where it stopped.
    assert last.optimizer.iterations == model.optimizer.iterations


@pytest.mark.parametrize("name", ["best.safetensors", "best.npz"])
def test_best_weights_checkpoint_matches_early_stopping_restore(tmp_path, name):
    x, y = regression_data()
    model = tiny_model(learning_rate=0.3)
    path = str(tmp_path / name)
    checkpoint = ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    stopper = EarlyStopping(patience=100, restore_best_weights=True)
    model.fit(x, y, epochs=8, batch_size=8, validation_split=0.25, verbose=0, callbacks=[checkpoint, stopper])
    # Both keep the epoch with the lowest val_loss; EarlyStopping restored it.
    assert checkpoint.best == stopper.best
    fresh = tiny_model()
    fresh.load_weights(path)
    for restored, saved in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(restored, saved)


# --------------------------------------------------------------- learning rate


def test_lr_scheduler_rate_reaches_the_engine():
    # One full-batch SGD step with the rate set by the callback, by hand.
    x = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.25], [2.0, 1.0]], dtype=np.float32)
    y = np.array([[1.0], [0.0], [-1.0], [2.0]], dtype=np.float32)
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(optimizer=SGD(0.01), loss="mse")
    w0 = np.array([[0.5], [-0.25]], dtype=np.float32)
    b0 = np.array([0.1], dtype=np.float32)
    model.set_weights([w0, b0])
    history = model.fit(
        x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[LearningRateScheduler(lambda epoch, lr: 0.5)]
    )
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    dpred = 2.0 * (x64 @ w0 + b0 - y64) / len(x)  # d mean((p - y)^2) / dp
    w1 = w0 - 0.5 * (x64.T @ dpred)
    b1 = b0 - 0.5 * dpred.sum(axis=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, b1, rtol=1e-5, atol=1e-6)
    assert model.optimizer.learning_rate == 0.5
    assert history.history["learning_rate"] == [0.5]


def test_reduce_lr_on_plateau_in_fit():
    x, y = regression_data()
    model = tiny_model(learning_rate=0.1)
    # min_delta=10: no epoch after the first counts as an improvement.
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[cb])
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05, 0.025]
    assert model.optimizer.learning_rate == pytest.approx(0.0125)


# ------------------------------------------------------------------ batch size


def test_batch_size_scheduler_changes_the_steps_of_fit():
    # Contract: fit reads model._train_batch_size after on_epoch_begin.
    x, y = regression_data(n=64)
    model = tiny_model()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[BatchSizeScheduler(every=1)])
    assert history.history["batch_size"] == [16, 32, 64]
    assert model.optimizer.iterations == 4 + 2 + 1


def test_batch_size_scheduler_progress_lines_show_the_new_steps(capsys):
    # Contract: fit updates params["steps"] (the dict shared by the callbacks)
    # after re-reading the batch size, so ProgbarLogger shows the real count.
    x, y = regression_data(n=64)
    model = tiny_model()
    model.fit(x, y, batch_size=16, epochs=3, verbose=2, callbacks=[BatchSizeScheduler(every=1)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines[1::2]] == ["4/4", "2/2", "1/1"]


# ----------------------------------------------------------------- NaN losses


def test_terminate_on_nan_stops_a_diverging_fit(capsys):
    # Contract: the engine stops after the first non-finite batch loss and fit
    # calls on_engine_batch_end("nonfinite_loss", batch, logs).
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 3)) * 100).astype(np.float32)
    y = rng.normal(size=(256, 1)).astype(np.float32)
    utils.set_random_seed(0)
    model = Sequential([Dense(1, input_dim=3)])
    model.compile(optimizer=SGD(1e3), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0, callbacks=[TerminateOnNaN()])
    out = capsys.readouterr().out
    match = re.fullmatch(r"Batch (\d+): Invalid loss, terminating training\n", out)
    assert match, out
    batch = int(match.group(1))
    assert batch < 31  # Stopped inside the first epoch of 32 batches.
    assert history.epoch == [0]
    assert not math.isfinite(history.history["loss"][0])
    assert model.optimizer.iterations <= batch + 1
    assert model.stop_training is True


# ------------------------------------------------------------- backup points


class BackupPoints(Callback):
    """Records the backup points fit() announces (the protocol BackupAndRestore uses)."""

    def __init__(self, interval=None):
        super().__init__()
        self.backup_interval = interval
        self.points = []
        self.peers = None

    def set_callbacks(self, callbacks):
        self.peers = [type(cb).__name__ for cb in callbacks]

    def on_backup_point(self, epoch, batch, sums=None, epoch_rng=None):
        self.points.append((epoch, batch, sums is not None, epoch_rng is not None))


@pytest.mark.parametrize("verbose", [0, 1])
def test_fit_announces_backup_points_after_epochs_and_every_backup_interval(verbose):
    x, y = regression_data(n=64)
    model = tiny_model()
    every_3, epoch_only = BackupPoints(3), BackupPoints()
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[every_3, epoch_only], verbose=verbose)
    # 8 batches an epoch: within it after batches 3 and 6 (not after the last), then (next epoch, 0).
    within = [(e, b, True, True) for e in (0, 1) for b in (3, 6)]
    assert every_3.points == within[:2] + [(1, 0, False, False)] + within[2:] + [(2, 0, False, False)]
    assert every_3.points == epoch_only.points  # Every callback sees every point.
    expected = ["BackupPoints", "BackupPoints", "History"] + (["ProgbarLogger"] if verbose else [])
    assert every_3.peers == expected


def test_callback_list_backup_interval_is_the_smallest_one_asked():
    assert CallbackList([Callback(), BackupPoints()]).backup_interval is None
    assert CallbackList([BackupPoints(5), BackupPoints(3), BackupPoints()]).backup_interval == 3
    assert CallbackList([BackupPoints(5)]).resume_point() is None


# -------------------------------------------------------------------- progress


class ProgressJournal(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_progress(self, steps_done, logs=None):
        self.calls.append((steps_done, dict(logs)))


def test_progress_calls_come_between_chunks():
    # Contract: fit runs the epoch in chunks and calls on_train_progress.
    x, y = regression_data(n=512)
    model = tiny_model()
    journal = ProgressJournal()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[journal])
    steps = [s for s, _ in journal.calls]
    assert steps and steps == sorted(set(steps)) and steps[-1] == 64
    assert journal.calls[-1][1]["loss"] == pytest.approx(history.history["loss"][0])


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = regression_data()
    tiny_model().fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=2)
    # Keras 3's form: the epoch on a line of its own, then the epoch's line.
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    for i in range(3):
        assert lines[2 * i] == f"Epoch {i + 1}/3"
        assert re.fullmatch(KERAS_LINE_2 % "3/3" + r" - loss: \S+ - val_loss: \S+", lines[2 * i + 1])


def test_verbose_1_captured_output_is_plain_lines(capsys):
    x, y = regression_data()
    tiny_model().fit(x, y, batch_size=16, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(KERAS_LINE_1 % "4/4" + r" - loss: \S+", lines[1])


def test_verbose_1_on_a_terminal_draws_a_tqdm_bar(monkeypatch):
    pytest.importorskip("tqdm")
    tty = TTY()
    monkeypatch.setattr(sys, "stdout", tty)
    x, y = regression_data()
    model = tiny_model()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=1)
    out = tty.getvalue()
    finals = [line.rsplit("\r", 1)[-1].rstrip() for line in out.split("\n") if "4/4 ━" in line]
    assert len(finals) == 2
    for final, loss in zip(finals, history.history["loss"]):
        assert final.endswith(f" - loss: {loss:.4f}")
    assert _util._active_bar is None


# ------------------------------------------------- logs, TensorBoard and plots


def test_csv_tensorboard_and_plot_of_a_real_fit(tmp_path):
    x, y = regression_data()
    model = tiny_model(learning_rate=0.1)
    csv_path = tmp_path / "log.csv"
    cbs = [
        ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10),
        EarlyStopping(patience=100, restore_best_weights=True),
        CSVLogger(csv_path),
    ]
    tensorboard = None
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        pass
    else:
        tensorboard = TensorBoard(log_dir=tmp_path / "tb", histogram_freq=1)
        cbs.append(tensorboard)
    history = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.25, verbose=0, callbacks=cbs)

    rows = csv_path.read_text().splitlines()
    assert rows[0] == "epoch,learning_rate,loss,val_loss"
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    assert [float(r.split(",")[1]) for r in rows[1:]] == [0.1, 0.1, 0.05, 0.025]
    assert history.restored_epoch == cbs[1].best_epoch

    if tensorboard is not None:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        train = EventAccumulator(str(tmp_path / "tb" / "train"))
        train.Reload()
        losses = [e.value for e in train.Scalars("epoch_loss")]
        np.testing.assert_allclose(losses, history.history["loss"], rtol=1e-6)
        rates = [e.value for e in train.Scalars("epoch_learning_rate")]
        np.testing.assert_allclose(rates, [0.1, 0.1, 0.05, 0.025], rtol=1e-6)
        tags = train.Tags()["histograms"]
        assert len(tags) == len(model.weights)
        val = EventAccumulator(str(tmp_path / "tb" / "validation"))
        val.Reload()
        np.testing.assert_allclose([e.value for e in val.Scalars("epoch_loss")], history.history["val_loss"], rtol=1e-6)

    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    png = tmp_path / "history.png"
    history.plot(path=png)
    assert png.read_bytes().startswith(b"\x89PNG")
