"""ONNX export of models with several inputs and outputs (issue #10), run with onnxruntime: inputs named
after the InputLayers, several outputs after the model's output names, values equal to predict's."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model  # noqa: E402


def two_by_two(as_dict):
    a, b = L.Input((4,), name="num"), L.Input((3,), name="cat")
    # a layer named dense_1 as a value the exporter would also name dense_1 (its own counter)
    h = L.Concatenate()([L.Dense(5, activation="relu", name="dense_1")(a), b])
    price, kind = L.Dense(1, name="price")(h), L.Dense(2, activation="softmax", name="kind")(h)
    if as_dict:
        return Model({"num": a, "cat": b}, {"price": price, "kind": kind})
    return Model([a, b], [price, kind])


@pytest.mark.parametrize("as_dict", [False, True])
def test_several_inputs_and_outputs_run_in_onnxruntime_as_predict(tmp_path, as_dict):
    model = two_by_two(as_dict)
    pytrainc.onnx.export(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == ["num", "cat"]
    assert [o.name for o in session.get_outputs()] == ["price", "kind"]
    rng = np.random.default_rng(0)
    x = {"num": rng.normal(size=(6, 4)).astype(np.float32), "cat": rng.normal(size=(6, 3)).astype(np.float32)}
    got = session.run(None, x)
    ref = model.predict(x if as_dict else [x["num"], x["cat"]])
    ref = [ref[n] for n in model.output_names] if as_dict else ref
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=1e-6, rtol=0)


def test_an_output_named_as_an_input_is_refused(tmp_path):
    a, b = L.Input((4,), name="x"), L.Input((4,), name="y")
    model = Model([a, b], {"x": L.Dense(1)(a), "z": L.Dense(1)(b)})
    with pytest.raises(ValueError, match=r"share \['x'\]"):
        pytrainc.onnx.export(model, tmp_path / "m.onnx")
