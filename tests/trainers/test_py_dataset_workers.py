"""PyDataset workers as Keras 3 runs them: `workers` threads or processes
(`use_multiprocessing=True`) read batches ahead, at most `max_queue_size`, and the
batches still arrive in index order; however an epoch ends, no worker is left."""

import os
import pathlib
import signal
import threading
import time

import numpy as np
import pytest

from pytrainc import testing
from pytrainc.callbacks import Callback
from pytrainc.trainers import workers
from pytrainc.utils import PyDataset

N, B = 96, 16


def _data():
    return testing.data(N, (8,), s=3), testing.data(N, (1,), s=4)


def _model():
    model = testing.mlp(s=0)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _fit_arrays(epochs=1):
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=B, epochs=epochs, shuffle=False, verbose=0)
    return model, history


def _alive(pid):
    """Whether a process runs (a zombie waiting to be reaped does not)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def _assert_workers_gone(pid_dir):
    pids = [int(p.name) for p in pathlib.Path(pid_dir).iterdir()]
    assert pids and os.getpid() not in pids  # the reads ran in worker processes
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _alive(p)], "worker processes left running"


@pytest.mark.parametrize("workers_, processes", [(3, False), (2, True), (1, True)])
def test_workers_keep_the_index_order_and_train_as_arrays(workers_, processes, tmp_path):
    # Reads that finish out of order (slow=...) still train on batches 0, 1, 2, ... each epoch.
    epochs = 1 if processes else 2  # a pass starts its worker processes: seconds on a busy machine
    expected, history = _fit_arrays(epochs=epochs)
    x, y = _data()
    data = testing.ArraySlices(
        x, y, B, slow=0.005, pid_dir=tmp_path, workers=workers_, use_multiprocessing=processes, max_queue_size=4
    )
    model = _model()
    got = model.fit(data, epochs=epochs, verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history
    assert np.array_equal(model.predict(data, verbose=0), model.predict(x, batch_size=B, verbose=0))
    if processes:
        _assert_workers_gone(tmp_path)


def test_read_ahead_is_bounded_by_max_queue_size():
    x, y = _data()
    started, lock = [], threading.Lock()

    class Counted(testing.ArraySlices):
        def __getitem__(self, i):
            with lock:
                started.append(i)
            return super().__getitem__(i)

    class Slow(Callback):
        ahead = 0

        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.01)  # a slow engine: the workers would run far ahead if unbounded
            with lock:
                Slow.ahead = max(Slow.ahead, len(started) - (batch + 1))

    data = Counted(x, y, B, workers=3, max_queue_size=2)
    _model().fit(data, verbose=0, callbacks=[Slow()])
    # Reads submitted ahead, plus the batches the reader holds (queued, checked, in the engine).
    assert Slow.ahead <= 2 + 8 + 2
    assert sorted(started) == list(range(len(data)))


def test_a_worker_process_error_surfaces_and_stops_the_workers(tmp_path):
    x, y = _data()
    data = testing.ArraySlices(x, y, B, fail_at=3, pid_dir=tmp_path, workers=2, use_multiprocessing=True)
    model = _model()
    with pytest.raises(OSError, match="batch 3 is unreadable"):
        model.fit(data, verbose=0)
    _assert_workers_gone(tmp_path)
    model.fit(x, y, verbose=0)  # the model stays usable


def test_ctrl_c_stops_the_worker_processes(tmp_path):
    x, y = _data()
    data = testing.ArraySlices(x, y, B, slow=0.2, pid_dir=tmp_path, workers=2, use_multiprocessing=True)
    done = threading.Event()

    def interrupt_once_reading():  # worker processes take a while to start on a busy machine
        while not done.is_set() and not any(tmp_path.iterdir()):
            time.sleep(0.05)
        if not done.wait(0.3):
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupt_once_reading)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _model().fit(data, epochs=100, verbose=0)
    finally:
        done.set()
        thread.join()
    _assert_workers_gone(tmp_path)


def test_stop_training_mid_epoch_stops_the_worker_processes(tmp_path):
    x, y = _data()
    data = testing.ArraySlices(x, y, B, pid_dir=tmp_path, workers=2, use_multiprocessing=True)

    class Stop(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    _model().fit(data, epochs=3, verbose=0, callbacks=[Stop()])
    _assert_workers_gone(tmp_path)


class _Unpicklable(PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lock = threading.Lock()

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return np.zeros((2, 8), np.float32), np.zeros((2, 1), np.float32)


def test_an_unpicklable_dataset_with_processes_is_refused_clearly():
    with pytest.raises(TypeError, match="use_multiprocessing=True is sent to its worker processes with pickle"):
        _model().fit(_Unpicklable(workers=2, use_multiprocessing=True), verbose=0)
    _model().fit(_Unpicklable(workers=2), verbose=0)  # threads need no pickle


def test_the_workers_module_names_its_start_method():
    assert "forkserver" in workers.__doc__
