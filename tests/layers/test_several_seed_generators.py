"""A traced layer with several `SeedGenerator`s (issue #9): each draws from its own state in the
plan, and the layer's rng_state is their (k, 4) states, saved with the model (.ptc, .keras) and in
BackupAndRestore backups, so a loaded or resumed fit continues exactly (bitwise)."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops, random


class TwoNoises(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.additive = random.SeedGenerator(11)
        self.multiplicative = random.SeedGenerator(12)

    def call(self, x, training=None):
        noise = random.normal(ops.shape(x), stddev=0.3, seed=self.additive)
        scale = random.uniform(ops.shape(x), 0.5, 1.5, seed=self.multiplicative)
        return (x + noise) * scale


def _model():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), TwoNoises(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    r = np.random.default_rng(1)
    return r.normal(size=(24, 4)).astype("float32"), r.normal(size=(24, 1)).astype("float32")


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_each_generator_keeps_its_own_state():
    x, y = _data()
    model = _model()
    layer = model.layers[1]
    before = np.array(layer.rng_state)
    assert before.shape == (2, 4) and not np.array_equal(before[0], before[1])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    after = np.array(layer.rng_state)
    assert not np.array_equal(after[0], before[0]) and not np.array_equal(after[1], before[1])
    np.testing.assert_array_equal(after[0], layer.additive.rng_state)
    np.testing.assert_array_equal(after[1], layer.multiplicative.rng_state)
    states = layer.rng_state
    states[...] = before  # writes through to both generators (and the plan's rows they share)
    np.testing.assert_array_equal(layer.multiplicative.rng_state, before[1])
    with pytest.raises(ValueError, match=r"2 SeedGenerators.*\(2, 4\). Received: shape=\(4,\)"):
        layer.rng_state[...] = before[0]


@pytest.mark.parametrize("suffix", [".ptc", ".keras"])
def test_the_generators_are_saved_with_the_model(tmp_path, suffix):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    restored = keras.models.load_model(tmp_path / f"m{suffix}", custom_objects={"TwoNoises": TwoNoises})
    assert not np.array_equal(restored.layers[1].rng_state, TwoNoises().rng_state)
    restored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(_weights(restored), _weights(model))


def test_backup_and_restore_resumes_both_generators(tmp_path):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=8, epochs=3, verbose=0)

    class Crash(keras.callbacks.Callback):
        def __init__(self, armed):
            super().__init__()
            self.armed = armed

        def on_epoch_end(self, epoch, logs=None):
            if self.armed and epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _model().fit(
            x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(True)]
        )
    resumed = _model()
    resumed.fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(False)]
    )
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))
