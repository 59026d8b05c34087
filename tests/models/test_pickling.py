"""Pickle, `copy.copy` and `copy.deepcopy` of models, layers, optimizers and callbacks (what Ray, joblib
and scikit-learn's `clone` need): a copy of a fitted model predicts bitwise as the original and continues
training bitwise as the original would, is independent of it, and making it draws nothing from the
global generator."""

import copy
import pickle

import numpy as np
import pytest

from pytrainc import callbacks, losses, metrics, optimizers, regularizers, utils
from pytrainc import layers as L
from pytrainc.initializers import GlorotUniform, Orthogonal
from pytrainc.models import Model, Sequential
from pytrainc.optimizers import schedules
from pytrainc.testing import class_data, same_arrays, seed


def pickled(obj):
    return pickle.loads(pickle.dumps(obj))


COPIES = {"pickle": pickled, "deepcopy": copy.deepcopy, "copy": copy.copy}


def regression(n=48, s=0):
    r = np.random.default_rng(s)
    x = r.normal(size=(n, 8)).astype(np.float32)
    return x, (x[:, :2].sum(1, keepdims=True) + 0.1 * r.normal(size=(n, 1))).astype(np.float32)


def compiled(kind, s=3):
    seed(s)
    if kind == "sequential_dropout_nadam":
        model = Sequential(
            [
                L.Input((8,)),
                L.Dense(12, activation="relu", kernel_regularizer="l2"),
                L.Dropout(0.3),
                L.BatchNormalization(),
                L.Dense(1),
            ]
        )
        model.compile(optimizer=optimizers.Nadam(0.01), loss="mse", metrics=["mae"])
        return model, regression(s=s)
    if kind == "functional_adam_schedule":
        x = L.Input((8,))
        h = L.Dense(8, activation="tanh")(x)
        y = L.Dense(3, activation="softmax")(L.Concatenate()([L.Add()([x, h]), L.Dropout(0.2)(h)]))
        model = Model(inputs=x, outputs=y)
        model.compile(
            optimizer=optimizers.Adam(schedules.CosineDecay(0.02, 10), amsgrad=True),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model, class_data(n=48, s=s)
    if kind == "built_by_fit_sgd":
        model = Sequential([L.Dense(6, activation="relu"), L.Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9), loss="mae")
        return model, regression(s=s)
    raise AssertionError(kind)


KINDS = ["sequential_dropout_nadam", "functional_adam_schedule", "built_by_fit_sgd"]


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("kind", KINDS)
def test_fitted_model_copies_predict_and_train_bitwise(kind, how):
    model, (x, y) = compiled(kind)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    rng_before = utils.global_rng().copy()
    clone = COPIES[how](model)
    assert np.array_equal(utils.global_rng(), rng_before)  # copying drew nothing
    assert clone is not model and type(clone) is type(model)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    assert same_arrays(clone.get_weights(), model.get_weights())
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    assert same_arrays(list(clone.optimizer.variables().values()), list(model.optimizer.variables().values()))

    # Independent: training the copy leaves the original as it was.
    weights = model.get_weights()
    seed(11)
    h_clone = clone.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert same_arrays(model.get_weights(), weights)
    seed(11)
    h_model = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert h_clone.history == h_model.history
    assert same_arrays(clone.get_weights(), model.get_weights())


def test_unbuilt_and_uncompiled_models_copy():
    seed(1)
    unbuilt = Sequential([L.Dense(3), L.Dense(1)], name="later")
    clone = pickled(unbuilt)
    assert not clone.built and clone.name == "later" and len(clone.layers) == 2
    seed(2)
    plain = Sequential([L.Input((4,)), L.Dense(2)])
    clone = copy.deepcopy(plain)
    assert not clone.compiled
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), plain.predict(x, verbose=0))


def test_model_subclasses_are_refused():
    class Custom(Sequential):
        pass

    with pytest.raises(TypeError, match="Cannot pickle or copy a Custom"):
        pickle.dumps(Custom([L.Input((2,)), L.Dense(1)]))


@pytest.mark.parametrize("how", list(COPIES))
def test_layers_copy_through_config_and_weights(how):
    model, (x, y) = compiled("sequential_dropout_nadam")
    model.fit(x, y, epochs=1, verbose=0)
    rng_before = utils.global_rng().copy()
    for layer in model.layers + [L.Conv2D(4, 3, padding="same", name="unbuilt"), L.InputLayer(shape=(3, 2))]:
        clone = COPIES[how](layer)
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
        assert same_arrays(clone.get_weights(), layer.get_weights())
        assert [v.trainable for v in clone.weights] == [v.trainable for v in layer.weights]
        if clone.weights:
            clone.weights[0].assign(np.zeros(clone.weights[0].shape))
            assert not np.array_equal(layer.weights[0].numpy(), clone.weights[0].numpy())
        if hasattr(layer, "rng_state"):
            np.testing.assert_array_equal(clone.rng_state, layer.rng_state)
    assert np.array_equal(utils.global_rng(), rng_before)


def test_custom_layer_subclass_copies_by_attributes():
    class Scaled(L.Dense):
        pass

    layer = Scaled(3)
    clone = copy.deepcopy(layer)
    assert type(clone) is Scaled and clone.units == 3


@pytest.mark.parametrize("how", list(COPIES))
def test_optimizers_copy_with_their_state(how):
    model, (x, y) = compiled("functional_adam_schedule")
    model.fit(x, y, epochs=1, verbose=0)
    clone = COPIES[how](model.optimizer)
    assert type(clone) is type(model.optimizer) and clone.get_config() == model.optimizer.get_config()
    ours, theirs = model.optimizer.variables(), clone.variables()
    assert list(theirs) == list(ours) and same_arrays(list(theirs.values()), list(ours.values()))
    assert clone._state["m"] is not model.optimizer._state["m"] and clone._plan is None


def _halve(epoch, lr):
    return lr / 2


@pytest.mark.parametrize("how", list(COPIES))
def test_callbacks_copy_without_their_model_and_open_files(tmp_path, how):
    pytest.importorskip("tensorboardX")
    model, (x, y) = compiled("sequential_dropout_nadam")
    cbs = [
        callbacks.EarlyStopping(patience=5, restore_best_weights=True),
        callbacks.History(),
        callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
        callbacks.ReduceLROnPlateau(patience=1),
        callbacks.LearningRateScheduler(_halve),
        callbacks.TerminateOnNaN(),
        callbacks.CSVLogger(str(tmp_path / "log.csv")),
        callbacks.TensorBoard(str(tmp_path / "tb")),
        callbacks.BackupAndRestore(str(tmp_path / "backup")),
        callbacks.ProgbarLogger(),
    ]
    pytest.importorskip("h5py")
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=cbs)
    for cb in cbs:
        clone = COPIES[how](cb)
        assert type(clone) is type(cb) and clone.model is None
    early = COPIES[how](cbs[0])
    assert early.best == cbs[0].best and same_arrays(early.best_weights, cbs[0].best_weights)
    assert COPIES[how](cbs[1]).history == cbs[1].history
    # A copy works in a fit of its own.
    fresh, _ = compiled("sequential_dropout_nadam", s=4)
    fresh.fit(x, y, epochs=1, verbose=0, callbacks=[COPIES[how](cbs[6])])


def test_losses_metrics_schedules_and_initializers_pickle():
    for obj in [
        losses.BinaryCrossentropy(from_logits=True),
        metrics.AUC(curve="PR"),
        metrics.get("accuracy"),
        schedules.PiecewiseConstantDecay([3, 6], [0.1, 0.01, 0.001]),
        regularizers.l1_l2(0.1, 0.2),
        GlorotUniform(seed=3),
        Orthogonal(gain=2.0),
    ]:
        clone = pickled(obj)
        assert type(clone) is type(obj) and clone.get_config() == obj.get_config()
