"""fit/evaluate/predict on data in batches: generators, iterators, PyDataset, Sequence,
torch DataLoaders and pandas objects give the weights the same batches give as arrays."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import pytrainc
from pytrainc import testing
from pytrainc.callbacks import Callback
from pytrainc.trainers import data_adapters
from pytrainc.utils import PyDataset, Sequence

N, B = 100, 16


def _data(n=N):
    x = testing.data(n, (8,), s=3)
    y = testing.data(n, (1,), s=4)
    return x, y


def _model(s=0):
    model = testing.mlp(s=s)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _slices(x, y, sizes=None, w=None):
    sizes = sizes or [B] * (len(x) // B) + ([len(x) % B] if len(x) % B else [])
    start = 0
    for size in sizes:
        part = slice(start, start + size)
        yield (x[part], y[part]) if w is None else (x[part], y[part], w[part])
        start += size


class _Slices(PyDataset):
    def __init__(self, x, y, batch=B, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch = x, y, batch
        self.reads = []
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        self.reads.append(i)
        part = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


class _OldSequence(Sequence):  # never calls super().__init__(), as old Keras code did
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // B)

    def __getitem__(self, i):
        return self.x[i * B : (i + 1) * B], self.y[i * B : (i + 1) * B]


class _Reiterable:
    """An iterable whose iter() starts a new pass, with a length (as a DataLoader)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // B)

    def __iter__(self):
        return _slices(self.x, self.y)


class _Steps(Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        assert batch == self.batches[-1]
        self.batches[-1] += 1


def _fit_arrays(epochs=1, **kwargs):
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=B, epochs=epochs, shuffle=False, verbose=0, **kwargs)
    return model, history


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda x, y: _slices(x, y), id="generator"),
        pytest.param(lambda x, y: iter(list(_slices(x, y))), id="iterator"),
        pytest.param(lambda x, y: _Slices(x, y), id="pydataset"),
        pytest.param(lambda x, y: _Slices(x, y, workers=3, max_queue_size=2), id="pydataset-threads"),
        pytest.param(lambda x, y: _OldSequence(x, y), id="sequence"),
        pytest.param(lambda x, y: _Reiterable(x, y), id="iterable"),
        pytest.param(lambda x, y: ((list(b)) for b in _slices(x, y)), id="lists"),
    ],
)
def test_each_kind_trains_bitwise_as_arrays(make):
    expected, history = _fit_arrays()
    x, y = _data()
    model = _model()
    got = model.fit(make(x, y), epochs=1, verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history


@pytest.mark.parametrize("make", [_Slices, _OldSequence, _Reiterable])
def test_reiterable_kinds_run_a_pass_per_epoch(make):
    expected, history = _fit_arrays(epochs=3)
    x, y = _data()
    model = _model()
    got = model.fit(make(x, y), epochs=3, verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history


def test_torch_dataloader_trains_bitwise_as_arrays():
    torch = pytest.importorskip("torch")
    expected, history = _fit_arrays(epochs=2)
    x, y = _data()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=B
    )
    model = _model()
    got = model.fit(loader, epochs=2, verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history
    assert np.array_equal(model.predict(loader, verbose=0), expected.predict(x, batch_size=B, verbose=0))


def test_pandas_frames_train_as_arrays():
    pd = pytest.importorskip("pandas")
    expected, _ = _fit_arrays()
    x, y = _data()
    model = _model()
    model.fit(pd.DataFrame(x), pd.Series(y[:, 0]), batch_size=B, shuffle=False, verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())


def test_varying_batch_sizes_match_batch_by_batch_training():
    x, y = _data()
    sizes = [16, 16, 7, 30, 30, 1]
    model = _model()
    history = model.fit(_slices(x, y, sizes), verbose=0)
    reference = _model()
    for bx, by in _slices(x, y, sizes):
        reference.train_on_batch(bx, by)
    assert testing.same_arrays(model.get_weights(), reference.get_weights())
    assert model._plan.max_batch == 30  # reserved for the largest batch seen
    assert np.isfinite(history.history["loss"][0])


def test_a_generator_refilling_one_buffer_trains_as_arrays():
    # The reader copies each batch into its slots before it asks for the next one,
    # so a generator may overwrite the buffer it yielded (as many hand-written ones do).
    expected, history = _fit_arrays()
    x, y = _data()
    bx, by = np.empty((B, 8), np.float32), np.empty((B, 1), np.float32)

    def refilled():
        for xs, ys in _slices(x, y):
            n = len(xs)
            bx[:n], by[:n] = xs, ys
            yield bx[:n], by[:n]

    model = _model()
    got = model.fit(refilled(), verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history


def test_engine_calls_read_views_of_the_reader_slots(monkeypatch):
    # No copy on the training thread and no allocation per batch: every chunk is a
    # view of the slots preallocated once per epoch (a larger batch gets new slots).
    x, y = _data()
    seen = []
    real = data_adapters.Chunk.__init__

    def record(self, run):
        real(self, run)
        seen.append((self.x.base, self.count))

    monkeypatch.setattr(data_adapters.Chunk, "__init__", record)
    _model().fit(_slices(x, y, [16, 16, 16, 16, 30, 6]), verbose=0)
    assert sum(count for _, count in seen) == 6
    bases = [base for base, _ in seen]
    assert all(base is not None for base in bases)
    assert len({id(base) for base in bases}) == 2  # the first slots, then larger ones for the batch of 30


def test_sample_weights_in_batches_match_arrays():
    x, y = _data()
    w = np.random.default_rng(5).random(N).astype(np.float32)
    expected, history = _fit_arrays(sample_weight=w)
    model = _model()
    got = model.fit(_slices(x, y, w=w), verbose=0)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history == history.history


def test_evaluate_and_predict_on_batches_match_arrays():
    x, y = _data()
    model = _model()
    model.fit(x, y, verbose=0)
    assert model.evaluate(_Slices(x, y), verbose=0) == model.evaluate(x, y, batch_size=B, verbose=0)
    assert np.array_equal(model.predict(_slices(x, y), verbose=0), model.predict(x, batch_size=B, verbose=0))
    assert np.array_equal(
        model.predict((b[0] for b in _slices(x, y)), verbose=0), model.predict(x, batch_size=B, verbose=0)
    )
    two = model.evaluate(_slices(x, y), steps=2, verbose=0)
    assert two == model.evaluate(x[: 2 * B], y[: 2 * B], batch_size=B, verbose=0)
    assert model.predict(x, batch_size=B, steps=2, verbose=0).shape == (2 * B, 1)


def test_batch_hooks_see_each_batch_index():
    x, y = _data()
    steps = _Steps()
    model = _model()
    model.fit(_Slices(x, y), epochs=2, verbose=0, callbacks=[steps])
    assert steps.batches == [7, 7]
    expected, _ = _fit_arrays(epochs=2)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())


# -- malformed data ----------------------------------------------------------


def _fit_error(batches, **kwargs):
    model = _model()
    return model, model.fit(batches, verbose=0, **kwargs)


def test_malformed_batches_are_refused_with_their_index():
    x, y = _data()
    with pytest.raises(ValueError, match=r"\(x, y\) or \(x, y, sample_weight\).*batch 0 is a tuple of length 4"):
        _fit_error(iter([(x, y, y[:, 0], y)]))
    with pytest.raises(ValueError, match="batch 0 is a tuple of length 1"):
        _fit_error(iter([(x,)]))
    bad_shape = list(_slices(x, y))
    bad_shape[3] = (bad_shape[3][0][:, :5], bad_shape[3][1])
    with pytest.raises(
        ValueError, match=r"expects input of shape \(None, 8\). Received: x \(batch 3\).shape=\(16, 5\)"
    ):
        _fit_error(iter(bad_shape))
    nan = [(b[0].copy(), b[1]) for b in _slices(x, y)]
    nan[2][0][1, 1] = np.nan
    with pytest.raises(ValueError, match=r"x \(batch 2\) contains 1 NaN"):
        _fit_error(iter(nan))
    empty = list(_slices(x, y))
    empty[1] = (x[:0], y[:0])
    with pytest.raises(ValueError, match=r"x \(batch 1\) is empty"):
        _fit_error(iter(empty))
    with pytest.raises(ValueError, match="needs at least one batch"):
        _fit_error(iter([]))
    with pytest.raises(ValueError, match="`y` should not be passed"):
        _fit_error(_slices(x, y), y=y)
    with pytest.raises(ValueError, match="validation_split"):
        _fit_error(_slices(x, y), validation_split=0.2)
    with pytest.raises(ValueError, match="steps_per_epoch must be None or a positive int"):
        _fit_error(_slices(x, y), steps_per_epoch=0)


def _reader_threads():
    return [t for t in threading.enumerate() if t.name == "pytrainc-data"]


def test_generator_raising_mid_epoch_surfaces_and_the_model_stays_usable():
    x, y = _data()

    def failing():
        yield from list(_slices(x, y))[:3]
        raise OSError("disk gone")

    model = _model()
    with pytest.raises(OSError, match="disk gone"):
        model.fit(failing(), verbose=0)
    assert not _reader_threads()
    model.fit(x, y, verbose=0)
    model.fit(_slices(x, y), verbose=0)
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_interrupt_while_the_reader_runs_ends_its_thread():
    x, y = _data()

    def forever():
        while True:
            yield from _slices(x, y)

    class Interrupt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 5:
                raise KeyboardInterrupt

    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(forever(), verbose=0, callbacks=[Interrupt()])
    assert not _reader_threads()
    model.fit(x, y, verbose=0)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to this process")
def test_ctrl_c_during_an_endless_generator_epoch_ends_the_reader():
    x, y = _data()

    def forever():
        while True:
            yield from _slices(x, y)

    model = _model()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(forever(), verbose=0)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 30
    assert not _reader_threads()
    model.fit(x, y, verbose=0)


def test_stop_training_ends_an_endless_generator_epoch():
    x, y = _data()

    def forever():
        while True:
            yield from _slices(x, y)

    class Stop(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 9:
                self.model.stop_training = True

    steps = _Steps()
    _model().fit(forever(), epochs=3, verbose=0, callbacks=[steps, Stop()])
    assert steps.batches == [10]
    assert not _reader_threads()


def test_queue_is_bounded_in_batches_and_bytes(monkeypatch):
    x, y = _data(2000)
    produced = []

    def counted():
        for batch in _slices(x, y):
            produced.append(1)
            yield batch

    class Ahead(Callback):
        def __init__(self):
            super().__init__()
            self.ahead = []

        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.002)  # a slow consumer: the reader fills the queue
            self.ahead.append(len(produced) - (batch + 1))

    ahead = Ahead()
    _model().fit(counted(), verbose=0, callbacks=[ahead])
    # Queued batches, plus the one being checked and the one in the engine.
    assert max(ahead.ahead) <= data_adapters._QUEUE_BATCHES + 2
    assert max(ahead.ahead) >= 2  # the reader did read ahead
    monkeypatch.setattr(data_adapters, "_QUEUE_BYTES", 3 * B * 9 * 4)  # three batches' x and y
    produced.clear()
    ahead = Ahead()
    _model().fit(counted(), verbose=0, callbacks=[ahead])
    assert max(ahead.ahead) <= 3 + 2


# -- Keras 3's steps_per_epoch and validation_* semantics -----------------------


def test_steps_per_epoch_continues_a_pydataset_and_ends_at_its_end():
    # Keras 3 (keras/src/trainers/epoch_iterator.py): the next epoch continues the same
    # pass; an epoch stops where the pass ends, with a "ran out of data" warning.
    x, y = _data(64)
    data = _Slices(x, y)
    steps = _Steps()
    with pytest.warns(UserWarning, match="ran out of data"):
        _model().fit(data, epochs=3, steps_per_epoch=3, verbose=0, callbacks=[steps])
    assert steps.batches == [3, 1, 3]
    assert data.reads == [0, 1, 2, 3, 0, 1, 2]
    assert data.epochs_ended == 3
    steps = _Steps()
    with pytest.warns(UserWarning, match="ran out of data"):
        _model().fit(_Slices(x, y), epochs=2, steps_per_epoch=6, verbose=0, callbacks=[steps])
    assert steps.batches == [4, 4]


def test_steps_per_epoch_on_arrays_continues_the_pass():
    x, y = _data(64)
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(x, y, batch_size=B, epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    reference = _model()
    for i in [0, 1, 2, 3, 0, 1, 2]:
        reference.train_on_batch(x[i * B : (i + 1) * B], y[i * B : (i + 1) * B])
    assert testing.same_arrays(model.get_weights(), reference.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = _model().fit(x, y, batch_size=B, epochs=2, steps_per_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_a_one_shot_generator_without_steps_is_one_epoch():
    # Keras 3 runs the first epoch until the generator is exhausted; pytrainc then
    # stops with Keras's warning (Keras replays the two batches it peeked at).
    x, y = _data()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = _model().fit(_slices(x, y), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_steps_per_epoch_on_an_endless_generator():
    x, y = _data(64)

    def forever():
        while True:
            yield from _slices(x, y)

    model = _model()
    model.fit(forever(), epochs=2, steps_per_epoch=6, verbose=0)
    reference = _model()
    for i in [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3][:12]:
        reference.train_on_batch(x[i * B : (i + 1) * B], y[i * B : (i + 1) * B])
    assert testing.same_arrays(model.get_weights(), reference.get_weights())


def test_validation_steps_continue_a_validation_generator():
    x, y = _data(64)
    xv, yv = _data(128)
    model = _model()
    history = model.fit(x, y, epochs=2, verbose=0, validation_data=_slices(xv, yv), validation_steps=2)
    # Epoch 1 saw validation batches 0-1 and epoch 2 batches 2-3, with the weights of its epoch.
    final = model.evaluate(xv[2 * B : 4 * B], yv[2 * B : 4 * B], batch_size=B, verbose=0, return_dict=True)
    assert history.history["val_loss"][1] == final["loss"]


def test_validation_freq_and_batch_size():
    x, y = _data(64)
    model = _model()
    history = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=2, validation_batch_size=8)
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][1] == model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    history = _model().fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=[1, 4])
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        _model().fit(x, y, verbose=0, validation_data=(x, y), validation_freq=0)


def test_steps_semantics_match_keras():
    keras = testing.keras_torch()
    x, y = _data(64)

    def counts(module, fit_kwargs):
        class Steps(module.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.batches = []

            def on_epoch_begin(self, epoch, logs=None):
                self.batches.append(0)

            def on_train_batch_end(self, batch, logs=None):
                self.batches[-1] += 1

        base = module.utils.PyDataset

        class Data(base):
            def __init__(self):
                super().__init__()

            def __len__(self):
                return 4

            def __getitem__(self, i):
                return x[i * B : (i + 1) * B], y[i * B : (i + 1) * B]

        model = module.Sequential([module.Input((8,)), module.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        steps = Steps()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = model.fit(Data(), verbose=0, callbacks=[steps], **fit_kwargs)
        return steps.batches, sorted(history.history)

    for kwargs in (
        {"epochs": 3, "steps_per_epoch": 3},
        {"epochs": 2, "steps_per_epoch": 6},
        {"epochs": 2},
        {"epochs": 4, "validation_data": (x, y), "validation_freq": 2},
    ):
        assert counts(pytrainc, kwargs) == counts(keras, kwargs), kwargs
