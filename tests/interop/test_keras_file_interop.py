"""The `.keras` format between pytrainc and a real Keras 3.15.1 (KERAS_BACKEND=torch), both ways, for every
layer both libraries have: `keras.models.load_model` reads pytrainc's files and predicts the same within
1e-5, pytrainc reads the files Keras writes the same way, and a compiled model's optimizer state crosses
over so that training continues alike on the other side."""

import functools
import warnings

import numpy as np
import pytest

from pytrainc import testing  # noqa: E402

keras = testing.keras_torch()

from pytrainc import layers as L  # noqa: E402
from pytrainc import optimizers, testing  # noqa: E402
from pytrainc.models import Sequential, load_model  # noqa: E402
from pytrainc.optimizers import schedules  # noqa: E402

K = keras.layers
TOL = 1e-5
close = functools.partial(testing.assert_close_abs, atol=TOL)
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.usefixtures("torch_single_thread"),
]


ARCHITECTURES = testing.ARCHITECTURES
build = testing.architecture


def sample(model, n=7, s=2):
    return testing.data(n, model.input_shape[1:], s=s)


def keras_predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def keras_load(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.load_model(path)
    skipped = [str(w.message) for w in caught if "Skipping" in str(w.message) or "not loaded" in str(w.message)]
    assert not skipped, skipped
    return model


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_keras_loads_pytrainc_files(tmp_path, name):
    model = build(name)
    model.save(tmp_path / "m.keras")
    k_model = keras_load(tmp_path / "m.keras")
    assert type(k_model).__name__ == ("Sequential" if isinstance(model, Sequential) else "Functional")
    x = sample(model)
    close(keras_predict(k_model, x), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_pytrainc_loads_keras_files(tmp_path, name):
    # Keras writes the file: the architecture is rebuilt by Keras, given new weights there, and saved.
    build(name).save(tmp_path / "ours.keras")
    k_model = keras_load(tmp_path / "ours.keras")
    r = np.random.default_rng(5)
    k_model.set_weights(
        [
            (r.uniform(0.5, 2, w.shape) if "variance" in v.path else r.normal(size=w.shape) * 0.5).astype(np.float32)
            for w, v in zip(k_model.get_weights(), k_model.weights)
        ]
    )
    k_model.save(tmp_path / "theirs.keras")
    model = load_model(tmp_path / "theirs.keras")
    x = sample(model)
    close(model.predict(x, verbose=0), keras_predict(k_model, x))


def keras_native(kind):
    """Models written in Keras's own code, with its default names (dense_3, ...) and arguments."""
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((8,)),
                K.Dense(16, activation="relu"),
                K.Dropout(0.3),
                K.BatchNormalization(),
                K.Dense(3, activation="softmax"),
            ]
        )
    x = keras.Input((6, 6, 2))
    h = K.Conv2D(3, 3, padding="same", activation="relu")(x)
    h = K.Add()([h, K.Conv2D(3, 1)(x)])
    y = K.Dense(2)(K.Flatten()(K.MaxPooling2D()(h)))
    return keras.Model(x, y)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_pytrainc_loads_models_built_in_keras(tmp_path, kind):
    keras.utils.set_random_seed(0)
    k_model = keras_native(kind)
    k_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = testing.data(32, k_model.input_shape[1:], s=1)
    y = np.arange(32) % 2
    k_model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    k_model.save(tmp_path / "k.keras")
    model = load_model(tmp_path / "k.keras")
    close(model.predict(x, verbose=0), keras_predict(k_model, x))
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.iterations == 4
    assert model.metrics_names == k_model.metrics_names == ["loss", "compile_metrics"]
    assert [m.name for m in model.metrics] == ["accuracy"]


def trainable_model(s=0):
    testing.seed(s)
    return testing.randomize(Sequential([L.Input((6,)), L.Dense(8, activation="tanh"), L.Dense(1)]), s=s + 1)


OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.05),
    "rmsprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "nadam": lambda: optimizers.Nadam(0.01),
    "schedule": lambda: optimizers.SGD(schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)),
}


def full_batch_fit(model, x, y, epochs):
    model.fit(x, y, epochs=epochs, batch_size=len(x), shuffle=False, verbose=0)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("direction", ["pytrainc_to_keras", "keras_to_pytrainc"])
def test_optimizer_state_crosses_over(tmp_path, name, direction):
    x, y = testing.data(24, (6,), s=3), testing.data(24, (1,), s=4)
    model = trainable_model()
    model.compile(optimizer=OPTIMIZERS[name](), loss="mse", metrics=["mae"])
    if direction == "pytrainc_to_keras":
        full_batch_fit(model, x, y, 3)
        model.save(tmp_path / "m.keras")
        k_model = keras_load(tmp_path / "m.keras")
    else:
        model.save(tmp_path / "fresh.keras")
        k_model = keras_load(tmp_path / "fresh.keras")
        full_batch_fit(k_model, x, y, 3)
        k_model.save(tmp_path / "m.keras")
        k_model = keras_load(tmp_path / "m.keras")  # Keras's own reload, as pytrainc's
        model = load_model(tmp_path / "m.keras")
    assert int(k_model.optimizer.iterations) == model.optimizer.iterations == 3
    close(keras_predict(k_model, x), model.predict(x, verbose=0))
    # With the same state, two more steps on each side agree.
    full_batch_fit(model, x, y, 2)
    full_batch_fit(k_model, x, y, 2)
    close(keras_predict(k_model, x), model.predict(x, verbose=0))
