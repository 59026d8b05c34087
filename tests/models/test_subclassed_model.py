"""Subclassed models (issue #9): `__init__` creates layers, `call` composes them (with
pytrainc.ops too); built on first fit/predict/build/call from the data's shape and compiled
into a plan like a functional model. Trajectories against Keras 3 (torch backend) with the same
initial weights; summary, weights and state dicts as a functional model's.
"""

import numpy as np
import pytest

import pytrainc as keras
from pytrainc import ops
from pytrainc.testing import data, keras_torch


def make_model_class(K):
    class ResidualMLP(K.Model):
        def __init__(self, units=8, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = K.layers.Dense(units, activation="relu")
            self.dense2 = K.layers.Dense(units)
            self.out = K.layers.Dense(1)

        def call(self, inputs, training=None):
            h = self.dense1(inputs)
            h = K.ops.tanh(self.dense2(h)) + h * 0.5
            return self.out(h)

    return ResidualMLP


def _xy():
    x = data(64, (5,), 0)
    return x, np.sin(x.sum(1, keepdims=True)).astype(np.float32)


def test_subclassed_model_trains_as_keras():
    """50 SGD steps (batches of 16) against Keras 3 on the torch backend from the same weights: 1e-4."""
    Kt = keras_torch()
    x, y = _xy()
    ours = make_model_class(keras)()
    assert not ours.built
    ours.build((None, 5))
    theirs = make_model_class(Kt)()
    theirs(x[:1])  # Keras creates a subclassed model's weights on its first call
    theirs.set_weights(ours.get_weights())
    for m, K in ((ours, keras), (theirs, Kt)):
        m.compile(optimizer=K.optimizers.SGD(0.05), loss="mse")
    h1 = ours.fit(x, y, batch_size=16, epochs=12, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, batch_size=16, epochs=12, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-4)  # 12 epochs x 4 batches = 48 steps
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-4, atol=1e-5
    )


def test_built_on_first_fit_or_call_and_weights_work(tmp_path):
    x, y = _xy()
    model = make_model_class(keras)(units=4, name="res")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model.count_params() == 5 * 4 + 4 + 4 * 4 + 4 + 4 + 1
    assert [layer.name for layer in model.layers] == [model.dense1.name, model.dense2.name, model.out.name]
    lines = []
    model.summary(print_fn=lines.append)
    assert "res" in lines[0] and "Trainable params: 49" in "\n".join(lines)
    np.testing.assert_allclose(model(x[:3]), model.predict(x[:3], verbose=0))
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    other = make_model_class(keras)(units=4)
    other(x[:1])  # built by a call on an array
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    state = model.state_dict()
    assert sorted(state) == sorted(other.state_dict()) and len(state) == 6
    fresh = make_model_class(keras)(units=4)
    fresh.build((5,))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_subclassed_model_errors_name_the_model():
    class NoOutput(keras.Model):
        def call(self, inputs):
            return None

    with pytest.raises(TypeError, match="The call of model '.*' must return a tensor"):
        NoOutput().build((None, 3))

    class Branches(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(2)

        def call(self, inputs):
            if ops.sum(inputs, axis=-1) > 0:
                return self.d(inputs)
            return inputs

    with pytest.raises(TypeError, match="in the call of model '.*': it cannot be used as a Python bool"):
        Branches().build((None, 3))
    model = make_model_class(keras)()
    x = np.ones((2, 5), np.float32)
    np.testing.assert_array_equal(model(x, training=True), model(x))  # no layer differs in training
    inp = keras.Input((2,))
    functional = keras.Model(inp, keras.layers.Dense(1)(inp))
    functional.build((None, 2))  # a functional model is built already: nothing to do
    assert functional.built


def _branching(K):
    class Branches(K.Model):
        """Keras's pattern: a Python branch on `training` in the call."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(6, activation="tanh")
            self.extra = K.layers.Dense(6)
            self.out = K.layers.Dense(1)

        def call(self, inputs, training=False):
            x = self.dense(inputs)
            if training:
                x = x + 0.5 * self.extra(x)  # only in training
            else:
                x = x * 0.9
            return self.out(x)

    return Branches


def test_a_python_branch_on_training_trains_and_predicts_as_keras():
    keras3 = keras_torch()
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    ours, ref = _branching(keras)(), _branching(keras3)()
    ours(x), ref(x, training=True)  # builds every layer of both branches
    assert len(ours.get_weights()) == len(ref.get_weights()) == 6
    ref.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), ref(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours(x, training=True), ref(x, training=True).detach().numpy(), rtol=1e-5, atol=1e-6)
    for m in (ours, ref):
        m.compile(optimizer="sgd", loss="mse")
    got = ours.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0).history["loss"]
    want = ref.fit(x, y, batch_size=8, epochs=5, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), ref.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_branch_on_training_with_dropout_drops_only_in_training():
    class Drops(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(16)
            self.dropout = keras.layers.Dropout(0.5, seed=3)

        def call(self, inputs, training=False):
            x = self.dense(inputs)
            if training:
                x = self.dropout(x, training=training)
            return x

    x = np.ones((8, 4), np.float32)
    model = Drops()
    assert model.name.startswith("drops")  # Keras's snake-case default name
    dropped = model(x, training=True)
    assert (dropped == 0).any()
    np.testing.assert_allclose(dropped[dropped != 0], 2 * model(x)[dropped != 0], rtol=1e-6)
    np.testing.assert_array_equal(model(x), model.predict(x, verbose=0))
