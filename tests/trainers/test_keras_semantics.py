"""Places where pytrainc follows Keras 3's training semantics, each checked against
keras==3.15.1 on its torch backend with the same weights and data."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()


def _pair(seed=0):
    """The same 4-3-(2 softmax) model in pytrainc and in Keras, with equal weights."""
    ours = pytrainc.Sequential(
        [pytrainc.Input((4,)), pytrainc.layers.Dense(3, "relu"), pytrainc.layers.Dense(2, "softmax")]
    )
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "relu"), keras.layers.Dense(2, "softmax")])
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def test_class_weight_never_weighs_the_validation_split():
    # Keras splits validation_split's samples off first; class_weight applies to the training part only.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = (rng.random(40) < 0.3).astype(np.int64)
    class_weight = {0: 1.0, 1: 7.0}
    ours, theirs = _pair()
    logs = {}
    for model, log in ((ours, logs.setdefault("ours", {})), (theirs, logs.setdefault("theirs", {}))):
        opt = (pytrainc if model is ours else keras).optimizers.SGD(learning_rate=0.0)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        h = model.fit(
            x, y, batch_size=8, epochs=1, shuffle=False, validation_split=0.25, class_weight=class_weight, verbose=0
        )
        log.update({k: v[0] for k, v in h.history.items()})
    np.testing.assert_allclose(logs["ours"]["val_loss"], logs["theirs"]["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(logs["ours"]["loss"], logs["theirs"]["loss"], rtol=1e-5)
    # The rule itself: validation equals an unweighted evaluate of the last quarter.
    np.testing.assert_allclose(logs["ours"]["val_loss"], ours.evaluate(x[30:], y[30:], verbose=0), rtol=1e-6)


def test_sample_weight_still_splits_with_validation_split():
    # Keras splits sample_weight with x and y: the validation part keeps its own sample weights.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = (rng.random(40) < 0.5).astype(np.int64)
    sw = rng.uniform(0.1, 3.0, 40).astype(np.float32)
    ours, theirs = _pair(3)
    got = []
    for model, lib in ((ours, pytrainc), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
        h = model.fit(x, y, sample_weight=sw, batch_size=8, epochs=1, shuffle=False, validation_split=0.25, verbose=0)
        got.append((h.history["loss"][0], h.history["val_loss"][0]))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-5)


@pytest.mark.parametrize("cls", ["ReLU", "Softmax"])
def test_layer_options_are_keras_constructor_arguments(cls):
    import inspect

    ours = inspect.signature(getattr(pytrainc.layers, cls).__init__)
    theirs = inspect.signature(getattr(keras.layers, cls).__init__)
    assert list(ours.parameters)[:-1] == list(theirs.parameters)[:-1]
