"""pytrainc.data.Dataset against the obvious NumPy references, and fit/evaluate/predict on it."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing
from pytrainc.data import Dataset

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10)


def _ids(ds):
    return [int(e[1]) for e in ds]


def test_tf_alias():
    import pytrainc as tf

    assert tf.data.Dataset is Dataset


def test_from_tensor_slices_arrays_tuples_dicts():
    assert [e.tolist() for e in Dataset.from_tensor_slices(X)] == X.tolist()
    pairs = list(Dataset.from_tensor_slices((X, Y)))
    assert all(np.array_equal(x, X[i]) and y == Y[i] for i, (x, y) in enumerate(pairs))
    rows = list(Dataset.from_tensor_slices({"a": X, "b": (Y, Y * 2)}))
    assert np.array_equal(rows[3]["a"], X[3]) and rows[3]["b"] == (3, 6)
    assert len(Dataset.from_tensor_slices([1.0, 2.0])) == 2
    with pytest.raises(ValueError, match=r"same length. Received lengths \[9, 10\]"):
        Dataset.from_tensor_slices((X[:9], Y))


@pytest.mark.parametrize("drop", [False, True])
@pytest.mark.parametrize("size", [1, 3, 4, 10, 11])
def test_batch_matches_numpy_split(size, drop):
    got = list(Dataset.from_tensor_slices((X, Y)).batch(size, drop_remainder=drop))
    expected = [(X[i : i + size], Y[i : i + size]) for i in range(0, 10, size)]
    if drop:
        expected = [b for b in expected if len(b[1]) == size]
    assert len(got) == len(expected) == len(Dataset.from_tensor_slices(X).batch(size, drop_remainder=drop))
    for (gx, gy), (ex, ey) in zip(got, expected):
        assert np.array_equal(gx, ex) and np.array_equal(gy, ey) and gx.dtype == X.dtype
    # The element-by-element path (after a map) stacks the same batches.
    mapped = list(Dataset.from_tensor_slices((X, Y)).map(lambda x, y: (x, y)).batch(size, drop_remainder=drop))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(mapped, got))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        Dataset.from_tensor_slices(X).batch(0)


def test_shuffle_is_seeded_reproducible_and_a_permutation():
    ds = Dataset.from_tensor_slices((X, Y))
    first = _ids(ds.shuffle(10, seed=3))
    assert first == _ids(ds.shuffle(10, seed=3))
    assert sorted(first) == list(range(10)) and first != list(range(10))
    assert first != _ids(ds.shuffle(10, seed=4))
    again = ds.shuffle(10, seed=3)
    passes = [_ids(again), _ids(again)]
    assert passes[0] == first and passes[1] != first and sorted(passes[1]) == list(range(10))
    fixed = ds.shuffle(10, seed=3, reshuffle_each_iteration=False)
    assert _ids(fixed) == _ids(fixed) == first
    pytrainc.utils.set_random_seed(7)
    a = _ids(ds.shuffle(10))
    pytrainc.utils.set_random_seed(7)
    assert _ids(ds.shuffle(10)) == a
    batched = [b[1].tolist() for b in ds.shuffle(10, seed=3).batch(4)]
    assert sum(batched, []) == first


@pytest.mark.parametrize("buffer", [1, 2, 5])
def test_buffered_shuffle_picks_from_its_buffer(buffer):
    n = 200
    ds = Dataset.from_tensor_slices(np.arange(n))
    order = [int(e) for e in ds.shuffle(buffer, seed=1)]
    assert sorted(order) == list(range(n))
    # With a buffer of b, output i is one of the first i + b inputs.
    assert all(v < i + buffer for i, v in enumerate(order))
    if buffer == 1:
        assert order == list(range(n))
    mapped = [int(e) for e in ds.map(lambda v: v).shuffle(buffer, seed=1)]
    assert mapped == order  # the element path draws the same numbers


def test_map_take_repeat_cache_prefetch():
    ds = Dataset.from_tensor_slices((X, Y))
    doubled = list(ds.map(lambda x, y: (np.square(x), y + 1)))
    assert np.array_equal(np.stack([d[0] for d in doubled]), X**2) and [int(d[1]) for d in doubled] == list(Y + 1)
    assert [b.tolist() for b in ds.batch(4).map(lambda x, y: y)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert _ids(ds.take(3)) == [0, 1, 2] and len(ds.take(3)) == 3 and len(ds.take(-1)) == 10
    assert _ids(ds.take(4).repeat(2)) == [0, 1, 2, 3] * 2 and len(ds.repeat(3)) == 30
    assert ds.repeat().cardinality() == -1 and ds.repeat().take(5).cardinality() == 5
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    assert _ids(ds.repeat().take(13)) == list(range(10)) + [0, 1, 2]
    calls = []

    def counted(x, y):
        calls.append(1)
        return x, y

    cached = ds.map(counted).cache()
    assert _ids(cached) == _ids(cached) == list(range(10)) and len(calls) == 10
    assert _ids(ds.prefetch(2)) == list(range(10))
    reshuffled = ds.shuffle(10, seed=2).repeat(2)
    both = _ids(reshuffled)
    assert sorted(both[:10]) == sorted(both[10:]) == list(range(10)) and both[:10] != both[10:]
    gen = Dataset.from_generator(lambda: iter([(X[0], Y[0]), (X[1], Y[1])]))
    assert _ids(gen) == _ids(gen) == [0, 1] and gen.cardinality() == -2


def _model():
    model = testing.mlp(features=3)
    model.compile(optimizer="adam", loss="mse")
    return model


def test_fit_evaluate_predict_on_a_dataset_match_arrays():
    x = testing.data(50, (3,), s=1)
    y = testing.data(50, (1,), s=2)
    expected = _model()
    history = expected.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    model = _model()
    ds = Dataset.from_tensor_slices((x, y)).batch(8).prefetch(1)
    got = model.fit(ds, epochs=3, verbose=0, validation_data=ds)
    assert testing.same_arrays(model.get_weights(), expected.get_weights())
    assert got.history["loss"] == history.history["loss"]
    assert got.history["val_loss"][-1] == model.evaluate(x, y, batch_size=8, verbose=0)
    assert model.evaluate(ds, verbose=0) == model.evaluate(x, y, batch_size=8, verbose=0)
    assert np.array_equal(model.predict(ds, verbose=0), model.predict(x, batch_size=8, verbose=0))


def test_fit_on_a_shuffled_repeated_dataset_is_reproducible():
    x = testing.data(50, (3,), s=1)
    y = testing.data(50, (1,), s=2)

    def train():
        ds = Dataset.from_tensor_slices((x, y)).shuffle(20, seed=5).batch(8).repeat()
        model = _model()
        model.fit(ds, epochs=2, steps_per_epoch=5, verbose=0)
        return model.get_weights()

    assert testing.same_arrays(train(), train())
