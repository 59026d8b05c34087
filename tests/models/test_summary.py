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
