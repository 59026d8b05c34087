"""utils.model_to_dot / utils.plot_model: the graph Keras 3 draws (nodes, edges, labels), and
clear errors without pydot or Graphviz."""

import re
import shutil

import pytest

import pytrainc
from pytrainc import _model_visualization, layers, models

pydot = pytest.importorskip("pydot")


def functional():
    x = layers.Input((8,), name="features")
    a = layers.Dense(4, activation="relu", name="left")(x)
    b = layers.Dense(4, name="right")(x)
    y = layers.Add(name="merge")([a, b])
    return models.Model(x, layers.Dense(1, name="head")(y))


def graph(dot):
    text = dot.to_string()
    labels = {m.group(1): m.group(2) for m in re.finditer(r"^(\d+) \[label=<(.*)>\];$", text, re.MULTILINE)}
    names = {k: re.search(r"<b>([^<]*)</b>", v).group(1) for k, v in labels.items()}
    edges = [(names[a], names[b]) for a, b in re.findall(r"^(\d+) -> (\d+)", text, re.MULTILINE)]
    return names, labels, edges


def test_functional_graph_has_every_layer_and_edge():
    names, labels, edges = graph(pytrainc.utils.model_to_dot(functional(), show_shapes=True))
    assert sorted(names.values()) == ["features", "head", "left", "merge", "right"]
    assert sorted(edges) == [
        ("features", "left"),
        ("features", "right"),
        ("left", "merge"),
        ("merge", "head"),
        ("right", "merge"),
    ]
    head = next(v for v in labels.values() if "<b>head</b>" in v)
    assert "(Dense)" in head and "Input shape: <b>(None, 4)</b>" in head and "Output shape: <b>(None, 1)</b>" in head
    features = next(v for v in labels.values() if "<b>features</b>" in v)
    assert "Input shape" not in features and "(InputLayer)" in features  # as Keras: no input row for inputs


def test_sequential_draws_its_layers_in_a_chain_as_keras():
    model = models.Sequential(
        [layers.Input((3,)), layers.Dense(2, activation="tanh", name="d1"), layers.Dense(1, name="d2")]
    )
    names, labels, edges = graph(pytrainc.utils.model_to_dot(model, show_layer_activations=True, show_trainable=True))
    assert sorted(names.values()) == ["d1", "d2"] and edges == [("d1", "d2")]
    d1 = next(v for v in labels.values() if "<b>d1</b>" in v)
    assert "Activation: <b>tanh</b>" in d1 and "Trainable: <b>T</b>" in d1


def test_layer_names_off_shows_class_names():
    names, _, _ = graph(pytrainc.utils.model_to_dot(functional(), show_layer_names=False))
    assert sorted(names.values()) == ["Add", "Dense", "Dense", "Dense", "InputLayer"]


def test_bad_arguments_and_unbuilt_model():
    with pytest.raises(ValueError, match="not yet been built"):
        pytrainc.utils.model_to_dot(models.Sequential([layers.Dense(2)]))
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments: \['colour'\]"):
        pytrainc.utils.model_to_dot(functional(), colour="red")
    with pytest.raises(ValueError, match="layer_range"):
        pytrainc.utils.model_to_dot(functional(), layer_range=["a", "b"])
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR'"):
        pytrainc.utils.model_to_dot(functional(), rankdir="BT")


def test_without_pydot_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(_model_visualization, "_pydot", lambda: None)
    with pytest.raises(ImportError, match=r"install pydot"):
        pytrainc.utils.plot_model(functional())
    with pytest.raises(ImportError, match=r"install pydot"):
        pytrainc.utils.model_to_dot(functional())


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed here")
def test_without_graphviz_the_error_says_what_to_install(tmp_path):
    with pytest.raises(ImportError, match=r"install graphviz"):
        pytrainc.utils.plot_model(functional(), to_file=tmp_path / "m.png")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")
def test_plot_model_writes_the_image(tmp_path):
    pytrainc.utils.plot_model(functional(), to_file=tmp_path / "m.svg", show_shapes=True)
    assert "<svg" in (tmp_path / "m.svg").read_text()
