"""A traced layer that draws from its own `SeedGenerator` (issue #9): the generator's state is
saved with the model (.ptc, .keras) and in BackupAndRestore backups, so a loaded or resumed fit
continues exactly (bitwise) as the uninterrupted one."""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops


class Noisy(keras.layers.Layer):
    def __init__(self, stddev=0.5, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, x, training=None):
        return x + keras.random.normal(ops.shape(x), stddev=self.stddev, seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


def _model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), Noisy(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")


def _weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


@pytest.mark.parametrize("suffix", [".ptc", ".keras"])
def test_the_generator_state_is_saved_with_the_model(tmp_path, suffix):
    x, y = _data()
    model = _model()
    assert model.layers[1].rng_state is model.layers[1].seed_generator.rng_state
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    restored = keras.models.load_model(tmp_path / f"m{suffix}", custom_objects={"Noisy": Noisy})
    fresh = Noisy()  # a new layer's generator starts over: the saved state is not the initial one
    assert not np.array_equal(restored.layers[1].rng_state, fresh.rng_state)
    restored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(_weights(restored), _weights(model))


def test_backup_and_restore_resumes_the_generator(tmp_path):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=8, epochs=3, verbose=0)

    class Crash(keras.callbacks.Callback):  # the resumed fit has it too (disarmed): same callbacks
        def __init__(self, armed):
            super().__init__()
            self.armed = armed

        def on_epoch_end(self, epoch, logs=None):
            if self.armed and epoch == 1:
                raise KeyboardInterrupt

    interrupted = _model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(
            x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(True)]
        )
    resumed = _model()
    resumed.fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(tmp_path), Crash(False)]
    )
    np.testing.assert_array_equal(_weights(resumed), _weights(reference))
