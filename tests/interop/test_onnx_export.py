"""ONNX export (`pytrainc.onnx.export`, `model.export(path, format="onnx")`), run with onnxruntime: the
predictions equal `model.predict` within 1e-5 for models that together hold every layer and activation
(dense, CNNs, residual and merge graphs), for any batch size."""

import functools

import numpy as np

import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import pytrainc  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc import testing  # noqa: E402
from pytrainc.models import Sequential  # noqa: E402

close = functools.partial(testing.assert_close_abs, atol=1e-5)


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    return session.run(None, {inp.name: x})[0]


@pytest.mark.parametrize("name", list(testing.ARCHITECTURES))
def test_onnxruntime_predicts_as_pytrainc(tmp_path, name):
    model = testing.architecture(name)
    proto = pytrainc.onnx.export(model, tmp_path / "m.onnx")
    onnx.checker.check_model(proto)
    for n in (1, 7, 40):  # the batch dimension is dynamic
        x = testing.data(n, model.input_shape[1:], s=n)
        close(run(tmp_path / "m.onnx", x), model.predict(x, verbose=0))


def test_trained_model_with_batchnorm_exports_its_moving_statistics(tmp_path):
    model = testing.architecture("residual")
    model.compile(optimizer="adam", loss="mse")
    x = testing.data(32, model.input_shape[1:])
    model.fit(x, testing.data(32, (3,), s=1), epochs=2, verbose=0)
    model.export(tmp_path / "m.onnx", format="onnx", opset_version=13)
    close(run(tmp_path / "m.onnx", x), model.predict(x, verbose=0))


def test_graph_names_and_shapes(tmp_path):
    model = testing.architecture("merges")
    proto = pytrainc.onnx.export(model, tmp_path / "m.onnx")
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "features" and out.name == "output"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 6]
    assert proto.opset_import[0].version == 17


def test_refusals(tmp_path):
    model = testing.architecture("dense")
    with pytest.raises(ValueError, match="format='onnx' only"):
        model.export(tmp_path / "m")
    with pytest.raises(ValueError, match="opset_version must be an int from 13 to 17"):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version=9)
    with pytest.raises(ValueError, match="input_signature must be None"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature=[(None, 8)])

    class Scaled(L.Dense):
        pass

    custom = Sequential([L.Input((3,)), Scaled(2, name="mine")])
    with pytest.raises(ValueError, match=r"no ONNX form in pytrainc: \['mine \(Scaled\)'\]"):
        pytrainc.onnx.export(custom, tmp_path / "c.onnx")
    with pytest.raises(TypeError, match="pytrainc Model"):
        pytrainc.onnx.export("model", tmp_path / "c.onnx")
    assert not list(tmp_path.iterdir())  # nothing written


def test_without_onnx_the_export_says_so(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r"needs the optional dependency onnx.*pip install"):
        pytrainc.onnx.export(testing.architecture("dense"), tmp_path / "m.onnx")


NEW_ACTIVATIONS = [
    "relu6",
    "hard_tanh",
    "exponential",
    "celu",
    "hard_shrink",
    "soft_shrink",
    "mish",
    "log_sigmoid",
    "tanh_shrink",
    "hard_silu",
    "squareplus",
    "sparse_plus",
]
ALL_ACTIVATIONS = sorted(pytrainc.activations._KINDS)
CHUNKS = [ALL_ACTIVATIONS[i : i + 7] for i in range(0, len(ALL_ACTIVATIONS), 7)]  # a merge takes at most 8


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("names", CHUNKS, ids=lambda names: names[0])
def test_every_activation_exports(tmp_path, opset, names):
    x = L.Input((6,), name="features")
    outs = [L.Dense(4, activation=name, name=f"d_{name}")(x) for name in names]
    model = pytrainc.models.Model(x, L.Concatenate(name="output")(outs))
    proto = pytrainc.onnx.export(model, tmp_path / "m.onnx", opset_version=opset)
    onnx.checker.check_model(proto)
    data = testing.data(33, (6,), s=5) * 3  # both sides of every kink
    # Relative as well: exponential reaches 1e4 here, where 1e-5 is below float32's spacing.
    np.testing.assert_allclose(run(tmp_path / "m.onnx", data), model.predict(data, verbose=0), rtol=1e-5, atol=1e-5)


def test_the_new_activations_are_all_exported():
    assert set(NEW_ACTIVATIONS) <= set(ALL_ACTIVATIONS)
