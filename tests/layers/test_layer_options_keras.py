"""ReLU(max_value, negative_slope, threshold), Softmax(axis) and BatchNormalization(axis) as
Keras 3 computes them: trajectories against keras==3.15.1 (torch backend) with equal weights."""

import numpy as np
import pytest

import pytrainc
from pytrainc import testing

keras = testing.keras_torch()


def _twin(build, shape, seed=0):
    ours, theirs = build(pytrainc), build(keras)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.6, w.shape).astype(np.float32) for w in ours.get_weights()]
    # Keep BatchNormalization's moving variance positive.
    for i, w in enumerate(ours.weights):
        if "variance" in w.name:
            weights[i] = np.abs(weights[i]) + 0.5
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def _trajectories(ours, theirs, x, y, steps=12):
    got = []
    for model, lib in ((ours, pytrainc), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.05), loss="mse")
        got.append([float(model.train_on_batch(x, y)) for _ in range(steps)])
        got.append(model.predict(x, verbose=0))
    return got


RELU_CASES = [
    dict(max_value=6.0),
    dict(max_value=1.5),
    dict(threshold=0.4),
    dict(negative_slope=0.2, threshold=0.3),
    dict(negative_slope=0.1, max_value=2.0),
    dict(negative_slope=0.3, max_value=1.0, threshold=0.5),
]


@pytest.mark.parametrize("kwargs", RELU_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_relu_options_train_as_keras(kwargs):
    def build(lib):
        L = lib.layers
        return lib.Sequential([lib.Input((5,)), L.Dense(8), L.ReLU(**kwargs), L.Dense(2)])

    rng = np.random.default_rng(4)
    x = rng.normal(0, 2, (16, 5)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    ours, theirs = _twin(build, (5,))
    loss, pred, loss_k, pred_k = _trajectories(ours, theirs, x, y)
    np.testing.assert_allclose(loss, loss_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred, pred_k, rtol=1e-5, atol=1e-5)


def test_relu_config_round_trips_and_keras_loads_it(tmp_path):
    layer = pytrainc.layers.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.2)
    config = layer.get_config()
    assert {k: config[k] for k in ("max_value", "negative_slope", "threshold")} == {
        "max_value": 2.5,
        "negative_slope": 0.1,
        "threshold": 0.2,
    }
    model = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.Dense(4), layer])
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(4, 3)
    path = str(tmp_path / "relu.keras")
    model.save(path)
    np.testing.assert_allclose(
        keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    np.testing.assert_array_equal(pytrainc.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_relu_without_a_torch_module_is_refused_by_name():
    torch = pytest.importorskip("torch")  # noqa: F841
    model = pytrainc.Sequential([pytrainc.Input((3,)), pytrainc.layers.ReLU(threshold=0.5, name="thr")])
    with pytest.raises(ValueError, match="'thr'.*threshold"):
        pytrainc.interop.to_torch(model)


@pytest.mark.parametrize("axis", [1, -2])
def test_softmax_over_another_axis_trains_as_keras(axis):
    def build(lib):
        L = lib.layers
        return lib.Sequential([lib.Input((3, 4)), L.Dense(5), L.Softmax(axis=axis), L.Flatten(), L.Dense(2)])

    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 3, 4)).astype(np.float32)
    y = rng.normal(size=(8, 2)).astype(np.float32)
    ours, theirs = _twin(build, (3, 4))
    loss, pred, loss_k, pred_k = _trajectories(ours, theirs, x, y)
    np.testing.assert_allclose(loss, loss_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred, pred_k, rtol=1e-5, atol=1e-5)
    probs = pytrainc.Sequential([pytrainc.Input((3, 4)), pytrainc.layers.Softmax(axis=axis)]).predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("axis", [1, 2, -2])
def test_batchnorm_over_another_axis_trains_as_keras(axis):
    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [lib.Input((3, 4, 2)), L.Dense(2), L.BatchNormalization(axis=axis, momentum=0.8), L.Flatten(), L.Dense(1)]
        )

    rng = np.random.default_rng(6)
    x = (rng.normal(size=(10, 3, 4, 2)) * 2 + 1).astype(np.float32)
    y = rng.normal(size=(10, 1)).astype(np.float32)
    ours, theirs = _twin(build, (3, 4, 2))
    loss, pred, loss_k, pred_k = _trajectories(ours, theirs, x, y)
    np.testing.assert_allclose(loss, loss_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred, pred_k, rtol=2e-5, atol=2e-5)
    for w, wk in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w, wk, rtol=1e-5, atol=1e-6)


def test_batchnorm_axis_onnx_matches_predict(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = pytrainc.Sequential([pytrainc.Input((3, 4)), pytrainc.layers.BatchNormalization(axis=1)])
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=3).astype(np.float32) for _ in range(3)] + [np.array([0.5, 1, 2], np.float32)])
    x = rng.normal(size=(5, 3, 4)).astype(np.float32)
    path = str(tmp_path / "bn.onnx")
    pytrainc.onnx.export(model, path)
    sess = ort.InferenceSession(path)
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("cls", ["BatchNormalization", "Softmax"])
@pytest.mark.parametrize("axis", [0, 3, -4])
def test_an_axis_outside_the_features_is_refused(cls, axis):
    layer = getattr(pytrainc.layers, cls)(axis=axis)
    with pytest.raises(ValueError, match="feature axis"):
        pytrainc.Sequential([pytrainc.Input((3, 4)), layer])


@pytest.mark.parametrize("kwargs", [dict(threshold=-0.1), dict(max_value=-1.0), dict(negative_slope=-0.5)])
def test_relu_refuses_negative_options_as_keras(kwargs):
    with pytest.raises(ValueError):
        keras.layers.ReLU(**kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        pytrainc.layers.ReLU(**kwargs)
