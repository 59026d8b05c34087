"""summary() and repr() in Keras 3's layout, against Keras's own output (torch backend)."""

import builtins
import re

import pytest

import pytrainc
from pytrainc import testing


def _models(k):
    layers = k.layers
    sequential = k.Sequential(
        [
            k.Input((784,)),
            layers.Dense(256, activation="relu", name="hidden"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(10, name="logits"),
        ],
        name="mlp",
    )
    inp = k.Input((32, 32, 3), name="image")
    a = layers.Conv2D(8, 3, name="left")(inp)
    b = layers.Conv2D(8, 3, name="right")(inp)
    out = layers.Dense(2, name="head")(layers.Flatten(name="flat")(layers.Add(name="sum")([a, b])))
    chain_in = k.Input((5,), name="x")
    chain = k.Model(chain_in, layers.Dense(3, name="d")(chain_in), name="chain")
    return [sequential, k.Model(inp, out, name="residual"), chain]


def _text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines)).rstrip("\n")


def test_summary_matches_keras():
    keras = testing.keras_torch()
    pytest.importorskip("rich")
    for ours, theirs in zip(_models(pytrainc), _models(keras)):
        assert _text(ours) == _text(theirs)
        assert repr(ours) == repr(theirs)
    assert repr(pytrainc.Sequential([pytrainc.layers.Dense(3)], name="s")) == "<Sequential name=s, built=False>"


def test_summary_without_rich_draws_the_same_table(monkeypatch):
    pytest.importorskip("rich")
    model = _models(pytrainc)[0]
    with_rich = _text(model)
    real_import = builtins.__import__

    def no_rich(name, *args, **kwargs):
        if name.startswith("rich"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rich)
    assert _text(model) == with_rich
    assert "200,960" in with_rich and " Total params: 203,530 (795.04 KB)" in with_rich


def _fitted(k, optimizer):
    import numpy as np

    hidden, out = k.layers.Dense(10, activation="relu", name="hidden"), k.layers.Dense(1, name="out")
    model = k.Sequential([k.Input((8,)), hidden, out], name="fitted")
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.zeros((20, 8), np.float32), np.zeros((20, 1), np.float32), verbose=0)
    return model


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "sgd-momentum", "rmsprop", "adam-schedule"])
def test_summary_counts_the_optimizer_state_as_keras(optimizer):
    # Keras 3 adds "Optimizer params" once the optimizer is built (iteration and learning
    # rate, then each slot) and counts them in the total.
    keras = testing.keras_torch()
    pytest.importorskip("rich")

    def make(k):
        if optimizer == "sgd-momentum":
            return k.optimizers.SGD(momentum=0.9)
        if optimizer == "adam-schedule":
            return k.optimizers.Adam(k.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9))
        return optimizer

    ours, theirs = _fitted(pytrainc, make(pytrainc)), _fitted(keras, make(keras))
    assert _text(ours) == _text(theirs)
    assert " Optimizer params: " in _text(ours)
    compiled = pytrainc.Sequential([pytrainc.Input((8,)), pytrainc.layers.Dense(1)])
    compiled.compile(optimizer="adam", loss="mse")
    assert "Optimizer params" not in _text(compiled)  # not built before a fit, as in Keras


def test_repr_html_is_the_summary_table():
    model = _models(pytrainc)[1]
    html = model._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "Model: &quot;residual&quot;" in html
    for row in ["left (Conv2D)", "sum (Add)", "left[0][0], right[0][0]", "Total params: "]:
        assert row in html
    assert pytrainc.Sequential([pytrainc.layers.Dense(3)])._repr_html_() is None  # unbuilt: the repr
