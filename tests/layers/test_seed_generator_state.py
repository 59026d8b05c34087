"""Traced layers that draw from their own `SeedGenerator`s (issue #9), one or several: each draws
from its own state in the plan, the layer's rng_state is their states ((4,) for one, (k, 4) for
k), and they are saved with the model (.ptc, .keras) and in BackupAndRestore backups, so a loaded
or resumed fit continues exactly (bitwise) as the uninterrupted one."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops, random


class Noisy(keras.layers.Layer):
    def __init__(self, stddev=0.5, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, x, training=None):
        return x + keras.random.normal(ops.shape(x), stddev=self.stddev, seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class TwoNoises(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.additive = random.SeedGenerator(11)
        self.multiplicative = random.SeedGenerator(12)

    def call(self, x, training=None):
        noise = random.normal(ops.shape(x), stddev=0.3, seed=self.additive)
        scale = random.uniform(ops.shape(x), 0.5, 1.5, seed=self.multiplicative)
        return (x + noise) * scale


LAYERS = [Noisy, TwoNoises]


def _model(layer_class):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), layer_class(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_one_generator_is_the_layers_state():
    model = _model(Noisy)
    assert model.layers[1].rng_state is model.layers[1].seed_generator.rng_state


def test_each_generator_keeps_its_own_state():
    x, y = _data()
    model = _model(TwoNoises)
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


@pytest.mark.parametrize("layer_class", LAYERS)
@pytest.mark.parametrize("suffix", [".ptc", ".keras"])
def test_the_generator_state_is_saved_with_the_model(tmp_path, suffix, layer_class):
    x, y = _data()
    model = _model(layer_class)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    restored = keras.models.load_model(tmp_path / f"m{suffix}", custom_objects={layer_class.__name__: layer_class})
    fresh = layer_class()  # a new layer's generator starts over: the saved state is not the initial one
    assert not np.array_equal(restored.layers[1].rng_state, fresh.rng_state)
    restored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(_weights(restored), _weights(model))


@pytest.mark.parametrize("layer_class", LAYERS)
def test_backup_and_restore_resumes_the_generators(tmp_path, layer_class):
    x, y = _data()
    reference = _model(layer_class)
    reference.fit(x, y, batch_size=8, epochs=3, verbose=0)

    class Crash(keras.callbacks.Callback):  # the resumed fit has it too (disarmed): same callbacks
        def __init__(self, armed):
            super().__init__()
            self.armed = armed

        def on_epoch_end(self, epoch, logs=None):
            if self.armed and epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _model(layer_class).fit(
            x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(True)]
        )
    resumed = _model(layer_class)
    resumed.fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(False)]
    )
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))
