"""Variable-length axes (`Input(shape=(None, ...))`): Keras's symbolic shapes and errors, one plan per
concrete input shape (sharing weights, optimizer state and metrics), and training on batches of
two lengths equal to Keras 3 (KERAS_BACKEND=torch) on the same initial weights and data."""

import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402

K = keras.layers
close = functools.partial(testing.assert_close_abs, atol=1e-4)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def seq_model(lib, return_sequences=False):
    M = L if lib is pytrainc else K
    x = M.Input((None,), dtype="int32")
    h = M.Embedding(30, 6, name="emb")(x)
    h = M.LSTM(5, name="lstm", return_sequences=return_sequences)(h)
    return (Model if lib is pytrainc else keras.Model)(x, M.Dense(3, name="head")(h))


def batches(lengths, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 30, (n, t)), rng.integers(0, 3, n)) for t in lengths]


def test_shapes_print_none_as_keras():
    pt, km = seq_model(pytrainc, True), seq_model(keras, True)
    assert pt.input_shape == km.input_shape == (None, None)
    assert pt.output_shape == km.output_shape == (None, None, 3)
    x = L.Input((None, None, 3))
    y = L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(x))
    assert L.Conv2D(4, 3)(x).shape == (None, None, None, 4) and y.shape == (None, 4)
    lines = []
    pt.summary(print_fn=lines.append)
    assert "(None, None, 6)" in "\n".join(lines)


def test_weights_on_a_none_axis_give_keras_error():
    with pytest.raises(ValueError, match="fully-defined"):
        L.Dense(2)(L.Input((16, None)))
    with pytest.raises(ValueError, match="fully-defined") as err:
        L.Dense(2)(L.Flatten()(L.Input((None, 4))))
    with pytest.raises(ValueError, match="fully-defined") as kerr:
        K.Dense(2)(K.Flatten()(K.Input((None, 4))))
    assert str(err.value).split("for variable")[0] == str(kerr.value).split("for variable")[0]


def test_fit_on_one_length_predict_on_another():
    model = seq_model(pytrainc)
    model.compile("adam", pytrainc.losses.SparseCategoricalCrossentropy(from_logits=True))
    (x, y), (x2, _) = batches([20, 35], n=8)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.predict(x2, verbose=0).shape == (8, 3)
    np.testing.assert_allclose(model.predict(x2[:3], verbose=0), model.predict(x2, verbose=0)[:3], atol=1e-6)
    with pytest.raises(ValueError, match=r"expects input of shape \(None, None\)"):
        model.predict(np.zeros((2, 3, 4)), verbose=0)


def test_plans_are_cached_per_shape_and_bounded():
    model = seq_model(pytrainc)
    model.compile("sgd", pytrainc.losses.SparseCategoricalCrossentropy(from_logits=True))
    for x, y in batches([4, 6, 4]):
        model.train_on_batch(x, y)
    plan4 = model._plan
    model.train_on_batch(*batches([6])[0])
    model.train_on_batch(*batches([4])[0])
    assert model._plan is plan4  # the length-4 plan came back from the cache
    for x, y in batches(range(2, 2 + 2 * model._PLAN_CACHE)):
        model.train_on_batch(x, y)
    assert len(model._plan_cache) < model._PLAN_CACHE and len(model._concrete_graphs) <= model._PLAN_CACHE


def test_sequence_output_targets_take_the_data_length():
    model = seq_model(pytrainc, return_sequences=True)
    model.compile("adam", "mse")
    rng = np.random.default_rng(1)
    model.fit(rng.integers(0, 30, (4, 7)), rng.random((4, 7, 3)), verbose=0)
    with pytest.raises(ValueError, match="must have shape"):
        model.fit(rng.integers(0, 30, (4, 7)), rng.random((4, 8, 3)), verbose=0)


def _pair():
    pytrainc.utils.set_random_seed(3)
    pt, km = seq_model(pytrainc), seq_model(keras)
    km.set_weights(pt.get_weights())
    pt.compile(pytrainc.optimizers.Adam(0.02), pytrainc.losses.SparseCategoricalCrossentropy(from_logits=True))
    km.compile(keras.optimizers.Adam(0.02), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return pt, km


def test_train_on_batches_of_two_lengths_equals_keras():
    pt, km = _pair()
    data = batches([7, 12] * 4)
    pt_losses = [float(pt.train_on_batch(x, y)) for x, y in data]
    km_losses = [float(km.train_on_batch(x, y)) for x, y in data]
    close(pt_losses, km_losses)
    close(pt.predict(data[0][0], verbose=0), km.predict(data[0][0], verbose=0))


class _Batches(pytrainc.utils.PyDataset):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


class _KBatches(keras.utils.PyDataset):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


def test_fit_on_a_dataset_whose_batches_change_length_equals_keras():
    pt, km = _pair()
    data = batches([5, 5, 9, 5, 9, 9])
    h_pt = pt.fit(_Batches(data), epochs=3, verbose=0, shuffle=False).history["loss"]
    h_km = km.fit(_KBatches(data), epochs=3, verbose=0, shuffle=False).history["loss"]
    close(h_pt, h_km)
    close(pt.evaluate(_Batches(data), verbose=0), km.evaluate(_KBatches(data), verbose=0))


def test_sequential_and_masked_variable_length():
    model = Sequential([L.Input((None,)), L.Embedding(30, 4, mask_zero=True), L.GRU(3), L.Dense(1)])
    model.compile("adam", "mse")
    x = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    model.fit(x, np.zeros((2, 1)), verbose=0)
    # padded steps are masked: the same rows padded further give the same outputs
    np.testing.assert_allclose(
        model.predict(x, verbose=0), model.predict(np.pad(x, ((0, 0), (0, 3))), verbose=0), atol=1e-6
    )
