"""A model as one stage of a Sequential, and `model.trainable = False` freezing all its layers
(Keras's transfer-learning pattern)."""

import numpy as np
import pytest

import pytrainc
from pytrainc import layers


def _base():
    return pytrainc.Sequential(
        [pytrainc.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(16, activation="relu")]
    )


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(32, 8)).astype(np.float32), rng.normal(size=(32, 1)).astype(np.float32)


def test_a_frozen_base_inside_a_sequential_keeps_its_weights_and_the_head_trains():
    base = _base()
    model = pytrainc.Sequential([base, layers.Dense(1)])
    base.trainable = False
    assert not base.trainable and all(not layer.trainable for layer in base.layers)
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    model.fit(*_data(), epochs=2, verbose=0)
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before[:4], after[:4]))  # the base's 4 weights
    assert not np.array_equal(before[4], after[4])  # the head's kernel trained
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    base.trainable = True  # unfrozen: the base trains again (the plan is rebuilt)
    model.fit(*_data(), epochs=1, verbose=0)
    assert not np.array_equal(after[0], model.get_weights()[0])


def test_nested_sequential_predicts_as_its_stages_and_round_trips_through_config(tmp_path):
    base = _base()
    head = layers.Dense(1)
    model = pytrainc.Sequential([base, head])
    x, _ = _data()
    np.testing.assert_allclose(model.predict(x, verbose=0), head(base.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in model.layers] == [layer.name for layer in base.layers] + [head.name]
    again = pytrainc.Sequential.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "nested.ptc")
    loaded = pytrainc.models.load_model(tmp_path / "nested.ptc")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_model_cannot_be_added_twice_or_into_itself():
    base = _base()
    model = pytrainc.Sequential([base])
    with pytest.raises(ValueError, match="already in this model"):
        model.add(base)
    with pytest.raises(ValueError, match="already in this model"):
        model.add(model)
