"""Custom objects (issue #9): `register_keras_serializable`, `custom_object_scope`,
`custom_objects=` on every load path (.ptc, .h5, .keras, model_from_json), and
`serialize_keras_object` / `deserialize_keras_object`, for custom layers, loss functions and
classes and metrics. A file may only name classes the program registered or passed: anything
else is refused with a message that names it, and nothing is imported.
"""

import json
import threading
import zipfile

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import saving
from pytrainc.saving import object_registration
from pytrainc.testing import keras_torch


def custom_classes(K):
    """A custom layer, loss function, Loss subclass and metric function written against `K`."""

    class Scale(K.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            # a non-trainable weight first: Keras saves the trainable ones first
            self.c = self.add_weight(shape=(self.units,), initializer="random_uniform", trainable=False, name="c")
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, x):
            return K.ops.tanh(K.ops.matmul(x, self.w) + self.b) * self.c

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    def squares(y_true, y_pred):
        return K.ops.mean(K.ops.square(y_true - y_pred), axis=-1)

    class Quartic(K.losses.Loss):
        def call(self, y_true, y_pred):
            return K.ops.mean(K.ops.square(K.ops.square(y_true - y_pred)), axis=-1)

    def max_error(y_true, y_pred):
        return K.ops.max(K.ops.abs(y_true - y_pred), axis=-1)

    return Scale, squares, Quartic, max_error


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(object_registration.GLOBAL_CUSTOM_OBJECTS), dict(object_registration.GLOBAL_CUSTOM_NAMES)
    yield
    for table, old in zip((object_registration.GLOBAL_CUSTOM_OBJECTS, object_registration.GLOBAL_CUSTOM_NAMES), saved):
        table.clear()
        table.update(old)


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")


def _model(Scale, loss, metric):
    model = keras.Sequential([keras.Input((3,)), Scale(4, name="scale"), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=loss, metrics=[metric])
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model


def test_registry_functions_follow_keras():
    @saving.register_keras_serializable("my_package")
    class MyLayer(keras.layers.Layer):
        pass

    @saving.register_keras_serializable(name="renamed")
    def fn(y_true, y_pred):
        return y_pred

    assert saving.get_registered_name(MyLayer) == "my_package>MyLayer"
    assert saving.get_registered_object("my_package>MyLayer") is MyLayer
    assert saving.get_registered_name(fn) == "Custom>renamed"
    assert saving.get_custom_objects()["Custom>renamed"] is fn
    assert saving.get_registered_name(np.mean) == "mean"  # unregistered: its __name__
    assert saving.get_registered_object("nothing") is None
    assert saving.get_registered_object("x", custom_objects={"x": 1}) == 1
    with pytest.raises(ValueError, match="get_config"):
        saving.register_keras_serializable()(type("NoConfig", (), {}))
    for name in ("register_keras_serializable", "get_custom_objects", "custom_object_scope", "CustomObjectScope"):
        assert getattr(keras.utils, name) is getattr(saving, name)
    assert keras.utils.serialize_keras_object is saving.serialize_keras_object


def test_scope_replaces_the_enclosing_one_and_is_per_thread():
    with saving.custom_object_scope({"a": 1}):
        assert saving.get_registered_object("a") == 1
        with saving.CustomObjectScope({"b": 2}):  # Keras 3.15: an inner scope replaces the outer
            assert saving.get_registered_object("a") is None
            assert saving.get_registered_object("b") == 2
            seen = []
            thread = threading.Thread(target=lambda: seen.append(saving.get_registered_object("b")))
            thread.start()
            thread.join()
            assert seen == [None]
        assert saving.get_registered_object("a") == 1
    assert saving.get_registered_object("a") is None
    with pytest.raises(TypeError, match="dict"):
        saving.CustomObjectScope(["a"])


@pytest.mark.parametrize("suffix", [".ptc", ".h5", ".keras"])
def test_custom_objects_round_trip_every_format(tmp_path, suffix):
    Scale, squares, Quartic, max_error = custom_classes(keras)
    model = _model(Scale, squares, max_error)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    with pytest.raises(ValueError, match="Scale.*register_keras_serializable"):
        keras.models.load_model(path)
    objects = {"Scale": Scale, "squares": squares, "max_error": max_error}
    restored = keras.models.load_model(path, custom_objects=objects)
    x, y = _data()
    saved = model.predict(x, verbose=0)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), saved)
    assert type(restored.layers[0]) is Scale and restored.layers[0].units == 4
    # the optimizer state came back too: one more epoch is the same on both
    a = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    b = restored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert a == b and set(a) == {"loss", "max_error"}
    # pytrainc.saving's load_model is the same function, and a scope works as custom_objects does
    with saving.custom_object_scope(objects):
        again = saving.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), saved)


def test_registered_classes_load_without_custom_objects(tmp_path):
    Scale, squares, Quartic, max_error = custom_classes(keras)
    Scale = saving.register_keras_serializable("pkg")(Scale)
    Quartic = saving.register_keras_serializable("pkg")(Quartic)
    saving.register_keras_serializable("pkg")(max_error)
    model = _model(Scale, Quartic(), max_error)
    assert keras.layers.serialize(model.layers[0])["registered_name"] == "pkg>Scale"
    x, _ = _data()
    for suffix in (".ptc", ".h5", ".keras"):
        saving.save_model(model, tmp_path / f"m{suffix}")
        restored = keras.models.load_model(tmp_path / f"m{suffix}")
        assert isinstance(restored.loss, Quartic)
        np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_from_json_custom_objects():
    Scale, *_ = custom_classes(keras)
    model = keras.Sequential([keras.Input((3,)), Scale(5), keras.layers.Dense(1)])
    text = model.to_json()
    with pytest.raises(ValueError, match="custom class 'Scale'"):
        keras.models.model_from_json(text)
    clone = keras.models.model_from_json(text, custom_objects={"Scale": Scale})
    assert clone.layers[0].units == 5 and clone.count_params() == model.count_params()


def test_a_file_cannot_name_code_to_import():
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 2]}},
                {"module": "os", "class_name": "system", "config": {"command": "echo hi"}, "registered_name": None},
            ],
        },
    }
    with pytest.raises(ValueError, match="custom class 'system' \\(module 'os'.*neither registered"):
        keras.models.model_from_json(json.dumps(config))
    with pytest.raises(TypeError, match="Could not locate class 'system'"):
        saving.deserialize_keras_object(config["config"]["layers"][1])
    with pytest.raises(ValueError, match="lambda"):
        saving.deserialize_keras_object({"class_name": "__lambda__", "config": {"value": "x"}})
    # a custom object of the wrong family is refused, not called
    with saving.custom_object_scope({"Foo": dict}):
        with pytest.raises(TypeError, match="expected a subclass of pytrainc.layers"):
            keras.layers.deserialize({"class_name": "Foo", "config": {}})


def test_serialize_deserialize_keras_object():
    Scale, squares, Quartic, _ = custom_classes(keras)
    layer = Scale(3, name="s")
    config = saving.serialize_keras_object(layer)
    assert config["class_name"] == "Scale" and config["registered_name"] == "Scale"
    assert config["config"]["units"] == 3
    restored = saving.deserialize_keras_object(config, custom_objects={"Scale": Scale})
    assert isinstance(restored, Scale) and restored.units == 3 and restored.name == "s"
    loss = saving.serialize_keras_object(keras.losses.Huber(delta=2.0))
    assert loss["module"] == "keras.losses" and loss["registered_name"] is None
    assert saving.deserialize_keras_object(loss).delta == 2.0
    fn = saving.serialize_keras_object(squares)
    assert fn == {"module": "builtins", "class_name": "function", "config": "squares", "registered_name": "function"}
    assert saving.deserialize_keras_object(fn, custom_objects={"squares": squares}) is squares
    own = saving.serialize_keras_object(keras.losses.mean_squared_error)
    assert saving.deserialize_keras_object(own) is keras.losses.mean_squared_error
    array = saving.serialize_keras_object(np.arange(3, dtype="float32"))
    np.testing.assert_array_equal(saving.deserialize_keras_object(array), np.arange(3))
    nested = {"a": [1, 2.5, "x", None], "b": (True,)}
    assert saving.deserialize_keras_object(saving.serialize_keras_object(nested)) == {
        "a": [1, 2.5, "x", None],
        "b": [True],
    }
    with pytest.raises(ValueError, match="lambda"):
        saving.serialize_keras_object(lambda x: x)
    # losses.get / metrics.get find a registered function by name, wrapped
    with saving.custom_object_scope({"squares": squares, "Quartic": Quartic}):
        assert keras.losses.get("squares").fn is squares
        assert isinstance(keras.losses.get({"class_name": "Quartic", "config": {}}), Quartic)
        assert keras.metrics.get("squares").fn is squares


def test_saving_namespace_weights_functions(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "w.weights.h5"
    saving.save_weights(model, path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_weights(model, path, overwrite=False)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saving.load_weights(other, path)
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])
    with pytest.raises(ValueError, match="skip_mismatch"):
        saving.load_weights(other, path, skip_mismatch=True)


def test_keras_reads_and_writes_custom_layers(tmp_path):
    K = keras_torch()
    KScale, ksquares, _, _ = custom_classes(K)
    PScale, psquares, _, _ = custom_classes(keras)
    K.saving.register_keras_serializable("pkg")(KScale)
    saving.register_keras_serializable("pkg")(PScale)
    x, y = _data()
    kmodel = K.Sequential([K.Input((3,)), KScale(4, name="scale"), K.layers.Dense(2)])
    kmodel.compile(optimizer="adam", loss=ksquares)
    kmodel.fit(x, y, batch_size=8, epochs=1, verbose=0)
    kmodel.save(tmp_path / "k.keras")
    with pytest.raises(ValueError, match="custom function 'squares'"):
        keras.models.load_model(tmp_path / "k.keras")
    pmodel = keras.models.load_model(tmp_path / "k.keras", custom_objects={"squares": psquares})
    assert type(pmodel.layers[0]) is PScale
    np.testing.assert_allclose(pmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # and back: Keras loads pytrainc's file with its own registered class
    pmodel.fit(x, y, batch_size=8, epochs=1, verbose=0)
    pmodel.save(tmp_path / "p.keras")
    with zipfile.ZipFile(tmp_path / "p.keras") as z:
        layer = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert layer["registered_name"] == "pkg>Scale"
    back = K.models.load_model(tmp_path / "p.keras", custom_objects={"squares": ksquares})
    np.testing.assert_allclose(back.predict(x, verbose=0), pmodel.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
