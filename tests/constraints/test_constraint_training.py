"""Constraints while training: applied by the engine after each optimizer step (fit and
train_on_batch), as Keras 3 applies them, checked against Keras 3 (torch backend) over 20 steps
from the same initial weights; their configs as Keras writes them; a user-defined constraint
refused by the plan with a message naming the weight."""

import numpy as np
import pytest

import pytrainc as ptc
from pytrainc import constraints, testing

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _dense_body(lib, x):
    C = lib.constraints
    h = lib.layers.Dense(8, activation="tanh", kernel_constraint=C.MaxNorm(0.5), bias_constraint=C.NonNeg())(x)
    h = lib.layers.Dense(6, activation="relu", kernel_constraint=C.UnitNorm(axis=1))(h)
    h = lib.layers.Dense(4, kernel_constraint=C.MinMaxNorm(0.2, 0.6, rate=0.5))(h)
    return lib.layers.Dense(1, kernel_constraint=C.NonNeg())(h)


def _conv_body(lib, x):
    C = lib.constraints
    h = lib.layers.Conv2D(4, 3, kernel_constraint=C.MaxNorm(0.7, axis=[0, 1, 2]), bias_constraint="non_neg")(x)
    h = lib.layers.BatchNormalization(gamma_constraint=C.MinMaxNorm(0.5, 1.5, axis=0))(h)
    h = lib.layers.Flatten()(h)
    return lib.layers.Dense(2, kernel_constraint=C.UnitNorm())(h)


def _pair(body, shape, optimizer):
    keras = testing.keras_torch()
    model = ptc.Model(inp := ptc.Input(shape), body(ptc, inp))
    k_model = keras.Model(k_inp := keras.Input(shape), body(keras, k_inp))
    r = testing.rng(11)
    weights = [(r.normal(size=w.shape) * 0.5).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    k_model.set_weights(weights)
    model.compile(optimizer=getattr(ptc.optimizers, optimizer[0])(**optimizer[1]), loss="mse")
    k_model.compile(optimizer=getattr(keras.optimizers, optimizer[0])(**optimizer[1]), loss="mse")
    return model, k_model


@pytest.mark.parametrize(
    "body,shape,optimizer",
    [
        (_dense_body, (5,), ("SGD", {"learning_rate": 0.1})),
        (_dense_body, (5,), ("Adam", {"learning_rate": 0.01})),
        (_conv_body, (6, 6, 2), ("SGD", {"learning_rate": 0.05, "momentum": 0.9})),
    ],
    ids=["dense-sgd", "dense-adam", "conv-bn-momentum"],
)
def test_twenty_steps_match_keras(body, shape, optimizer):
    model, k_model = _pair(body, shape, optimizer)
    r = testing.rng(12)
    x = r.normal(size=(16, *shape)).astype(np.float32)
    y = r.normal(size=(16, k_model.output_shape[-1])).astype(np.float32)
    model.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0)  # 20 steps in the epoch's C call
    for _ in range(10):
        for b in range(2):
            k_model.train_on_batch(x[8 * b : 8 * b + 8], y[8 * b : 8 * b + 8])
    for got, k_var in zip(model.get_weights(), k_model.weights):
        np.testing.assert_allclose(got, k_var.numpy(), atol=1e-5, rtol=0, err_msg=k_var.path)


def test_train_on_batch_applies_the_constraints():
    model = ptc.Sequential([ptc.Input((4,)), ptc.layers.Dense(3, kernel_constraint=constraints.MaxNorm(0.1))])
    model.compile("sgd", "mse")
    r = testing.rng(1)
    model.layers[0].kernel.assign(r.normal(size=(4, 3)).astype(np.float32))
    model.train_on_batch(r.normal(size=(8, 4)).astype(np.float32), r.normal(size=(8, 3)).astype(np.float32))
    assert np.linalg.norm(model.layers[0].kernel.numpy(), axis=0).max() <= 0.1 + 1e-6


def test_add_weight_constraint_and_frozen_weights():
    class Scale(ptc.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", constraint="non_neg", name="w")

        def call(self, x):
            return ptc.ops.multiply(x, self.w)

    model = ptc.Sequential([ptc.Input((3,)), Scale(), ptc.layers.Dense(1, kernel_constraint="non_neg")])
    model.compile(ptc.optimizers.SGD(10.0), "mse")
    x = np.ones((4, 3), np.float32)
    model.fit(x, -np.ones((4, 1), np.float32) * 100, epochs=3, verbose=0)  # pushes the weights negative
    assert model.layers[0].w.numpy().min() >= 0.0 and model.layers[1].kernel.numpy().min() >= 0.0
    frozen = ptc.Sequential([ptc.Input((3,)), ptc.layers.Dense(2, kernel_constraint=constraints.MaxNorm(1e-3))])
    frozen.layers[0].trainable = False  # Keras constrains trainable weights only
    frozen.compile("sgd", "mse")
    before = frozen.layers[0].kernel.numpy()
    frozen.fit(x, np.zeros((4, 2), np.float32), verbose=0)
    np.testing.assert_array_equal(frozen.layers[0].kernel.numpy(), before)


def test_user_defined_constraint_runs_eagerly_and_is_refused_by_the_plan():
    class Halve(constraints.Constraint):
        def __call__(self, w):
            return ptc.ops.multiply(w, 0.5)

    np.testing.assert_allclose(Halve()(np.ones(2, np.float32)), [0.5, 0.5])
    model = ptc.Sequential([ptc.Input((3,)), ptc.layers.Dense(2, kernel_constraint=Halve(), name="d")])
    model.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match=r"Weight 'd/kernel' has a user-defined constraint.*MaxNorm"):
        model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    model = ptc.Sequential([ptc.Input((3,)), ptc.layers.Dense(2, kernel_constraint=lambda w: w)])
    model.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match="user-defined constraint"):
        model.train_on_batch(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32))


def test_identifiers_configs_and_keras_serialization():
    keras = testing.keras_torch()
    assert constraints.max_norm is constraints.MaxNorm and constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm and constraints.min_max_norm is constraints.MinMaxNorm
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("NonNeg"), constraints.NonNeg)
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm) and constraints.get(None) is None
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 'maxnorm'"):
        constraints.get("maxnorm")
    for c in (constraints.MaxNorm(3, axis=[0, 1]), constraints.MinMaxNorm(0.1, 2.0, 0.5, 1), constraints.UnitNorm()):
        ours = constraints.serialize(c)
        theirs = keras.constraints.serialize(
            keras.constraints.get({"class_name": type(c).__name__, "config": c.get_config()})
        )
        assert ours == theirs
        back = constraints.deserialize(theirs)
        assert type(back) is type(c) and back.get_config() == c.get_config()
    assert constraints.get({"class_name": "NonNeg", "config": {}}).get_config() == {}
    with pytest.raises(ValueError, match="Could not interpret constraint identifier.*Could not locate class 'Foo'"):
        constraints.get({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError, match="unexpected keyword argument 'bogus'"):
        constraints.get({"class_name": "MaxNorm", "config": {"bogus": 1}})


def test_layer_configs_round_trip_and_move_to_keras(tmp_path):
    keras = testing.keras_torch()
    model = ptc.Sequential(
        [
            ptc.Input((6, 6, 2)),
            ptc.layers.Conv2D(3, 3, kernel_constraint=constraints.MaxNorm(2.0, axis=[0, 1, 2])),
            ptc.layers.BatchNormalization(beta_constraint="non_neg"),
            ptc.layers.Flatten(),
            ptc.layers.Dense(2, kernel_constraint=constraints.UnitNorm(), bias_constraint="non_neg"),
        ]
    )
    dense = model.layers[-1].get_config()
    assert dense["kernel_constraint"]["module"] == "keras.constraints"
    assert dense["kernel_constraint"]["class_name"] == "UnitNorm"
    again = ptc.layers.Dense.from_config(dense)
    assert isinstance(again.kernel_constraint, constraints.UnitNorm)
    path = str(tmp_path / "m.keras")
    model.save(path)
    k_model = keras.models.load_model(path)
    assert k_model.layers[0].kernel_constraint.get_config() == {"max_value": 2.0, "axis": [0, 1, 2]}
    assert isinstance(k_model.layers[1].beta_constraint, keras.constraints.NonNeg)
    back = ptc.models.load_model(path)
    assert back.layers[0].kernel_constraint.get_config() == {"max_value": 2.0, "axis": [0, 1, 2]}
    k_path = str(tmp_path / "k.keras")
    k_model.save(k_path)
    from_keras = ptc.models.load_model(k_path)
    assert isinstance(from_keras.layers[-1].bias_constraint, constraints.NonNeg)


@pytest.mark.parametrize(
    "constraint", [constraints.MaxNorm(0.5), constraints.UnitNorm(axis=1), constraints.MinMaxNorm(axis=[0, 2])]
)
def test_the_kernel_split_over_the_pool_is_bitwise_the_one_thread_result(constraint):
    from pytrainc import _C

    w = testing.normal(testing.rng(8), (40, 300, 7))  # more than a region's minimum work
    before = _C.blas_info()[1]
    try:
        ptc.set_num_threads(1)
        one = constraint(w)
        ptc.set_num_threads(2)
        two = constraint(w)
    finally:
        ptc.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
