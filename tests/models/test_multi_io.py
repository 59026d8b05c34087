"""Models with several inputs and several outputs, against Keras 3 (KERAS_BACKEND=torch) on the
same initial weights and data: per-step losses over 50 steps, History and evaluate keys, predict's
structure, compile's list/dict arguments, Keras's rule that only `weighted_metrics` see sample
weights, and clear errors for data that does not fit the inputs or outputs."""

import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, Sequential  # noqa: E402

K = keras.layers
TOL = 1e-4
close = functools.partial(testing.assert_close_abs, atol=TOL)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def two_in_two_out(lib):
    """numbers (4,) + categories one-hot (3,) -> a regression head and a 3-class head."""
    M = L if lib is pytrainc else K
    a, b = M.Input((4,), name="num"), M.Input((3,), name="cat")
    h = M.Dense(8, activation="relu", name="hidden")(M.Concatenate(name="concat")([a, b]))
    reg = M.Dense(1, name="reg")(h)
    cls = M.Dense(3, activation="softmax", name="cls")(h)
    return (Model if lib is pytrainc else keras.Model)([a, b], [reg, cls])


def same_weights(pt, km):
    """Copies pytrainc's initial weights into the Keras model, layer by layer (by name)."""
    for layer in pt.layers:
        if layer.weights:
            km.get_layer(layer.name).set_weights(layer.get_weights())


def pair(**compile_args):
    testing.seed(0)
    pt = two_in_two_out(pytrainc)
    km = two_in_two_out(keras)
    same_weights(pt, km)
    pt.compile(optimizer=pytrainc.optimizers.SGD(0.1), **compile_args)
    km.compile(optimizer=keras.optimizers.SGD(0.1), **compile_args)
    return pt, km


def data(n=40, s=0):
    r = np.random.default_rng(s)
    xa = r.normal(size=(n, 4)).astype(np.float32)
    xb = np.eye(3, dtype=np.float32)[r.integers(0, 3, n)]
    yr = (xa[:, :1] * 0.5 + r.normal(size=(n, 1)) * 0.1).astype(np.float32)
    yc = r.integers(0, 3, n)
    return xa, xb, yr, yc


def as_floats(logs):
    return {k: float(v) for k, v in logs.items()}


def test_two_inputs_two_outputs_train_as_keras_for_50_steps():
    compile_args = dict(
        loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        loss_weights={"reg": 0.5, "cls": 2.0},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
        weighted_metrics={"cls": ["accuracy"]},
    )
    pt, km = pair(**compile_args)
    xa, xb, yr, yc = data()
    sw = np.linspace(0.5, 1.5, 40).astype(np.float32)
    for step in range(50):
        rows = slice((step % 5) * 8, (step % 5) * 8 + 8)
        x = {"num": xa[rows], "cat": xb[rows]}
        y = [yr[rows], yc[rows]]
        w = {"reg": sw[rows], "cls": sw[::-1][rows]}
        got = pt.train_on_batch(x, y, sample_weight=w, return_dict=True)
        want = as_floats(km.train_on_batch(x, y, sample_weight=[w["reg"], w["cls"]], return_dict=True))
        assert set(got) == set(want)
        for key in want:
            close(got[key], want[key])
    for layer in pt.layers:
        for u, v in zip(layer.get_weights(), km.get_layer(layer.name).get_weights()):
            close(u, np.asarray(v))
    got = pt.evaluate([xa, xb], {"reg": yr, "cls": yc}, verbose=0, return_dict=True)
    want = as_floats(km.evaluate([xa, xb], {"reg": yr, "cls": yc}, verbose=0, return_dict=True))
    assert set(got) == set(want)
    for key in want:
        close(got[key], want[key])


def test_fit_history_and_evaluate_keys_as_keras():
    compile_args = dict(
        loss=["mse", "sparse_categorical_crossentropy"],
        metrics=[["mae"], ["accuracy"]],
        weighted_metrics=[[], ["accuracy"]],
    )
    pt, km = pair(**compile_args)
    xa, xb, yr, yc = data()
    assert pt.metrics_names == km.metrics_names  # before any training
    hp = pt.fit([xa, xb], [yr, yc], batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    hk = km.fit([xa, xb], [yr, yc], batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25)
    assert sorted(hp.history) == sorted(hk.history)
    assert "cls_weighted_accuracy" in hp.history and "val_reg_loss" in hp.history
    for key in hk.history:
        close(np.array(hp.history[key]), np.array(hk.history[key]))
    assert pt.metrics_names == km.metrics_names
    # evaluate's list: the total loss, each output's loss, then the metrics (Keras's order).
    got = pt.evaluate([xa, xb], [yr, yc], verbose=0)
    want = km.evaluate([xa, xb], [yr, yc], verbose=0)
    close(np.array(got), np.array(want))


def test_predict_returns_a_list_or_a_dict_as_the_outputs_were_given():
    pt, km = pair(loss="mse")
    xa, xb, _, _ = data()
    got, want = pt.predict([xa, xb], verbose=0), km.predict([xa, xb], verbose=0)
    assert isinstance(got, list) and len(got) == 2
    for g, w in zip(got, want):
        assert g.shape == w.shape
        close(g, np.asarray(w))
    a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
    d = Model({"a": a, "b": b}, {"sum": L.Dense(2)(L.Concatenate()([a, b])), "prod": L.Dense(1)(a)})
    out = d.predict({"a": xa, "b": xb}, verbose=0)
    assert isinstance(out, dict) and list(out) == ["sum", "prod"]
    assert out["sum"].shape == (40, 2) and out["prod"].shape == (40, 1)
    assert d.output_names == ["sum", "prod"] and d.input_names == ["a", "b"]
    single = pt.predict_on_batch([xa[:5], xb[:5]])
    close(single[1], got[1][:5])


def test_one_loss_for_every_output_and_a_shared_sample_weight():
    xa, xb, yr, yc = data()
    yc1 = np.eye(3, dtype=np.float32)[yc]
    pt, km = pair(loss=["mse", "mse"], loss_weights=[1.0, 0.25])
    sw = np.linspace(0.0, 2.0, 40).astype(np.float32)
    hp = pt.fit([xa, xb], [yr, yc1], sample_weight=sw, batch_size=10, epochs=2, shuffle=False, verbose=0)
    hk = km.fit([xa, xb], [yr, yc1], sample_weight=sw, batch_size=10, epochs=2, shuffle=False, verbose=0)
    for key in hk.history:
        close(np.array(hp.history[key]), np.array(hk.history[key]))


def test_metrics_ignore_sample_weights_and_weighted_metrics_use_them_as_keras():
    """Keras 3 (trainers/compile_utils.py): `metrics=` are updated without the sample weights,
    `weighted_metrics=` with them; a weighted metric whose name is taken is `weighted_<name>`."""
    testing.seed(0)
    pt = Sequential([L.Input((4,)), L.Dense(1, name="out")])
    km = keras.Sequential([K.Input((4,)), K.Dense(1, name="out")])
    km.get_layer("out").set_weights(pt.get_layer("out").get_weights())
    for m in (pt, km):
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    xa, _, yr, _ = data()
    sw = np.where(np.arange(40) < 20, 0.0, 3.0).astype(np.float32)
    got = pt.evaluate(xa, yr, sample_weight=sw, verbose=0, return_dict=True)
    want = as_floats(km.evaluate(xa, yr, sample_weight=sw, verbose=0, return_dict=True))
    assert set(got) == set(want) == {"loss", "mae", "weighted_mae"}
    for key in want:
        close(got[key], want[key])
    unweighted = float(np.mean(np.abs(pt.predict(xa, verbose=0) - yr)))
    close(got["mae"], unweighted)
    assert abs(got["weighted_mae"] - got["mae"]) > 1e-3
    # class_weight too counts for weighted metrics only.
    pc = Sequential([L.Input((4,)), L.Dense(3, activation="softmax")])
    pc.compile(
        optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"]
    )
    _, _, _, yc = data()
    h = pc.fit(xa, yc, class_weight={0: 0.0, 1: 1.0, 2: 1.0}, epochs=1, verbose=0, shuffle=False, batch_size=40)
    predicted = np.argmax(pc.predict(xa, verbose=0), axis=1)  # after the one step: not the fit's weights
    assert h.history["accuracy"][0] != h.history["weighted_accuracy"][0] or np.all(yc != 0)
    assert predicted.shape == (40,)


def test_several_inputs_read_from_batches_of_a_generator():
    pt, km = pair(loss=["mse", "sparse_categorical_crossentropy"])
    xa, xb, yr, yc = data()

    def batches():
        for i in range(0, 40, 10):
            yield {"num": xa[i : i + 10], "cat": xb[i : i + 10]}, {"reg": yr[i : i + 10], "cls": yc[i : i + 10]}

    hp = pt.fit(batches(), epochs=1, verbose=0)
    hk = km.fit([xa, xb], [yr, yc], batch_size=10, shuffle=False, epochs=1, verbose=0)
    for key in hk.history:
        close(np.array(hp.history[key]), np.array(hk.history[key]))


def test_validation_data_with_several_arrays_and_steps_per_epoch():
    pt, km = pair(loss=["mse", "sparse_categorical_crossentropy"], metrics=[[], ["accuracy"]])
    xa, xb, yr, yc = data()
    kw = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, steps_per_epoch=3)
    val = ([xa[:10], xb[:10]], [yr[:10], yc[:10]], [np.ones(10), np.full(10, 2.0)])
    hp = pt.fit([xa, xb], [yr, yc], validation_data=val, **kw)
    hk = km.fit([xa, xb], [yr, yc], validation_data=val, **kw)
    assert sorted(hp.history) == sorted(hk.history)
    for key in hk.history:
        close(np.array(hp.history[key]), np.array(hk.history[key]))


# ---------------------------------------------------------------------------
# Bad input: clear errors naming what was expected


@pytest.fixture
def model():
    m = two_in_two_out(pytrainc)
    m.compile(optimizer="sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"})
    return m


def test_data_lists_of_the_wrong_length(model):
    xa, xb, yr, yc = data()
    with pytest.raises(ValueError, match=r"2 inputs \['num', 'cat'\]; expected a list of 2 arrays.*list of 1"):
        model.fit([xa], [yr, yc], verbose=0)
    with pytest.raises(ValueError, match=r"2 outputs \['reg', 'cls'\].*list of 3"):
        model.fit([xa, xb], [yr, yc, yc], verbose=0)
    with pytest.raises(ValueError, match=r"2 inputs.*Received: ndarray"):
        model.predict(xa, verbose=0)


def test_dict_keys_that_name_no_input_or_output(model):
    xa, xb, yr, yc = data()
    with pytest.raises(ValueError, match=r"input names \['num', 'cat'\].*\['zzz'\] name no input.*missing \['cat'\]"):
        model.fit({"num": xa, "zzz": xb}, [yr, yc], verbose=0)
    with pytest.raises(ValueError, match=r"output names \['reg', 'cls'\].*\['clz'\] name no output"):
        model.evaluate([xa, xb], {"reg": yr, "clz": yc}, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight.*output names \['reg', 'cls'\]"):
        model.fit([xa, xb], [yr, yc], sample_weight={"reg": np.ones(40)}, verbose=0)


def test_a_loss_dict_missing_an_output_and_other_compile_mistakes(model):
    with pytest.raises(ValueError, match=r"Expected keys \['reg', 'cls'\] in loss dict.*\['reg'\]"):
        model.compile(loss={"reg": "mse"})
    with pytest.raises(ValueError, match=r"Expected keys \['reg', 'cls'\] in loss dict"):
        model.compile(loss={"reg": "mse", "cls": "mse", "other": "mse"})
    with pytest.raises(ValueError, match=r"loss: expected one entry per output, 2 .* list of 3"):
        model.compile(loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match=r"metrics: a model with several outputs takes a list of lists"):
        model.compile(loss="mse", metrics=["mae"])
    with pytest.raises(ValueError, match=r"metrics: \['clz'\] name\(s\) no output.*\['reg', 'cls'\]"):
        model.compile(loss="mse", metrics={"clz": ["mae"]})
    with pytest.raises(ValueError, match=r"loss_weights: expected one entry per output"):
        model.compile(loss="mse", loss_weights=[1.0])


def test_arrays_of_different_sample_counts(model):
    xa, xb, yr, yc = data()
    with pytest.raises(
        ValueError, match=r"every input must have the same number of samples.*'num' has 40, 'cat' has 10"
    ):
        model.fit([xa, xb[:10]], [yr, yc], verbose=0)
    with pytest.raises(ValueError, match=r"x and y\['cls'\] must have the same number of samples"):
        model.fit([xa, xb], [yr, yc[:10]], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight\['cls'\] must have shape \(40,\)"):
        model.fit([xa, xb], [yr, yc], sample_weight=[np.ones(40), np.ones(39)], verbose=0)


def test_class_weight_is_refused_for_several_outputs_as_keras(model):
    xa, xb, yr, yc = data()
    with pytest.raises(ValueError, match="`class_weight` is only supported for Models with a single output"):
        model.fit([xa, xb], [yr, yc], class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="`class_weight` is only supported for Models with a single output"):
        model.fit([xa, xb], [yr, yc], class_weight={0: 1.0, 1: 2.0}, validation_split=0.2, verbose=0)


def test_an_input_of_the_wrong_shape_is_named(model):
    xa, xb, yr, yc = data()
    with pytest.raises(
        ValueError, match=r"expects input 'cat' of shape \(None, 3\). Received: x\['cat'\].shape=\(40, 4\)"
    ):
        model.predict({"num": xa, "cat": xa}, verbose=0)


def test_graph_errors():
    a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
    out = L.Dense(1)(a)
    with pytest.raises(ValueError, match="do not depend on the model's input"):
        Model([a, b], out)
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(a, L.Dense(1)(L.Concatenate()([a, b])))
    with pytest.raises(ValueError, match="distinct"):
        Model(a, [out, out])


def test_traced_losses_and_metric_functions_per_output_as_keras():
    def abs_error(y_true, y_pred):
        return pytrainc.ops.mean(pytrainc.ops.abs(y_true - y_pred), axis=-1)

    def k_abs_error(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    testing.seed(0)
    pt, km = two_in_two_out(pytrainc), two_in_two_out(keras)
    same_weights(pt, km)
    xa, xb, yr, yc = data()
    yc1 = np.eye(3, dtype=np.float32)[yc]
    pt.compile(
        optimizer=pytrainc.optimizers.SGD(0.1),
        loss=[abs_error, "categorical_crossentropy"],
        metrics=[[abs_error], [abs_error]],
    )
    km.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=[k_abs_error, "categorical_crossentropy"],
        metrics=[[k_abs_error], [k_abs_error]],
    )
    hp = pt.fit([xa, xb], [yr, yc1], batch_size=8, epochs=3, shuffle=False, verbose=0)
    hk = km.fit([xa, xb], [yr, yc1], batch_size=8, epochs=3, shuffle=False, verbose=0)
    renamed = {k.replace("k_abs_error", "abs_error"): v for k, v in hk.history.items()}
    assert sorted(hp.history) == sorted(renamed)
    for key in renamed:
        close(np.array(hp.history[key]), np.array(renamed[key]))
