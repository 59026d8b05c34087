"""A model with two inputs and two outputs through every format: `.ptc`, `.h5`, `.keras` (Keras 3.15.1
loads ours and agrees within 1e-5, and we load Keras's), `.weights.h5`, state dicts, copies, and
`interop.to_torch`; the compile configuration (per-output losses, loss weights, metrics and
weighted metrics) comes back too."""

import copy
import functools

import numpy as np
import pytest

from pytrainc import testing

keras = testing.keras_torch()
import torch  # noqa: E402

import pytrainc  # noqa: E402
from pytrainc import interop  # noqa: E402
from pytrainc import layers as L  # noqa: E402
from pytrainc.models import Model, load_model  # noqa: E402

K = keras.layers
close = functools.partial(testing.assert_close_abs, atol=1e-5)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

COMPILE = dict(
    loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
    loss_weights={"reg": 0.5, "cls": 1.0},
    metrics={"cls": ["accuracy"]},
    weighted_metrics={"reg": ["mae"]},
)


def build(lib, as_dict=False):
    M = L if lib is pytrainc else K
    a, b = M.Input((4,), name="num"), M.Input((3,), name="cat")
    h = M.Dense(8, activation="relu", name="hidden")(M.Concatenate(name="concat")([a, b]))
    outs = [M.Dense(1, name="reg")(h), M.Dense(3, activation="softmax", name="cls")(h)]
    if as_dict:
        outs = {"reg": outs[0], "cls": outs[1]}
    return (Model if lib is pytrainc else keras.Model)([a, b], outs)


def data(n=30):
    r = np.random.default_rng(0)
    x = [r.normal(size=(n, 4)).astype(np.float32), r.normal(size=(n, 3)).astype(np.float32)]
    return x, [r.normal(size=(n, 1)).astype(np.float32), r.integers(0, 3, n)]


def trained():
    testing.seed(0)
    m = build(pytrainc)
    m.compile(optimizer="adam", **COMPILE)
    x, y = data()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return m, x, y


def same_predictions(a, b, x):
    for u, v in zip(a.predict(x, verbose=0), b.predict(x, verbose=0)):
        close(np.asarray(u), np.asarray(v))


def same_evaluation(a, b, x, y):
    got = a.evaluate(x, y, verbose=0, return_dict=True)
    want = b.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for k in want:
        close(float(got[k]), float(want[k]))


@pytest.mark.parametrize("suffix", ["ptc", "h5", "keras"])
def test_save_and_load_keep_the_graph_the_weights_and_the_compile_settings(tmp_path, suffix):
    m, x, y = trained()
    m.save(tmp_path / f"m.{suffix}")
    back = load_model(tmp_path / f"m.{suffix}")
    assert back.input_names == ["num", "cat"] and back.output_names == ["reg", "cls"]
    same_predictions(m, back, x)
    same_evaluation(m, back, x, y)
    # Training goes on from the saved optimizer state exactly as the original.
    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    back.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    same_predictions(m, back, x)


def test_keras_loads_our_keras_file_and_we_load_keras_file(tmp_path):
    m, x, y = trained()
    m.save(tmp_path / "ours.keras")
    theirs = keras.models.load_model(tmp_path / "ours.keras")
    same_predictions(m, theirs, x)
    same_evaluation(m, theirs, x, y)
    km = build(keras)
    km.compile(optimizer="sgd", **COMPILE)
    km.fit(x, y, epochs=1, verbose=0)
    km.save(tmp_path / "keras.keras")
    ours = load_model(tmp_path / "keras.keras")
    same_predictions(ours, km, x)
    same_evaluation(ours, km, x, y)


def test_a_dict_of_outputs_round_trips_as_a_dict(tmp_path):
    testing.seed(0)
    m = build(pytrainc, as_dict=True)
    m.compile(optimizer="sgd", loss="mse")
    x, _ = data()
    for path in (tmp_path / "d.ptc", tmp_path / "d.keras"):
        m.save(path)
        back = load_model(path)
        out = back.predict(x, verbose=0)
        assert isinstance(out, dict) and list(out) == ["reg", "cls"]
        close(out["cls"], m.predict(x, verbose=0)["cls"])
    theirs = keras.models.load_model(tmp_path / "d.keras")
    close(np.asarray(theirs.predict(x, verbose=0)["cls"]), m.predict(x, verbose=0)["cls"])


def test_weights_files_state_dicts_and_copies(tmp_path):
    m, x, y = trained()
    for name in ("w.weights.h5", "w.h5", "w.safetensors"):
        other = build(pytrainc)
        m.save_weights(tmp_path / name)
        other.load_weights(tmp_path / name)
        same_predictions(m, other, x)
    km = build(keras)
    m.save_weights(tmp_path / "k.weights.h5")
    km.load_weights(tmp_path / "k.weights.h5")
    same_predictions(m, km, x)
    other = build(pytrainc)
    other.load_state_dict(m.state_dict())
    same_predictions(m, other, x)
    twin = copy.deepcopy(m)
    same_evaluation(m, twin, x, y)


def test_to_torch_takes_the_inputs_in_order_and_returns_every_output():
    m, x, _ = trained()
    module = interop.to_torch(m)
    with torch.no_grad():
        out = module(*[torch.from_numpy(a) for a in x])
    assert isinstance(out, list) and len(out) == 2
    for u, v in zip(out, m.predict(x, verbose=0)):
        close(u.numpy(), v)
    with pytest.raises(ValueError, match="takes 2 input tensor"):
        module(torch.from_numpy(x[0]))
