"""Tests for pytrainc.plotting.plot_history (matplotlib, Agg backend)."""

import sys

import pytest

from pytrainc import plotting
from pytrainc.callbacks import History

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HISTORY = {
    "loss": [1.0, 0.7, 0.5, 0.45, 0.44, 0.46],
    "accuracy": [0.5, 0.6, 0.7, 0.75, 0.78, 0.8],
    "val_loss": [1.1, 0.8, 0.62, 0.6, 0.58, 0.61],
    "val_accuracy": [0.48, 0.58, 0.66, 0.7, 0.72, 0.71],
    "learning_rate": [0.1, 0.1, 0.1, 0.01, 0.01, 0.001],
}


def make_history(data=HISTORY, epochs=None, restored=None):
    history = History()
    history.history = {k: list(v) for k, v in data.items()}
    history.epoch = list(range(len(data["loss"]))) if epochs is None else epochs
    history.restored_epoch = restored
    return history


def line_labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_returns_a_figure_with_one_panel_per_metric():
    figure = plotting.plot_history(make_history())
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    loss_ax = axes[0]
    assert line_labels(loss_ax)[:2] == ["loss", "val_loss"]
    train = loss_ax.get_lines()[0]
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5, 6]  # Epochs from 1.
    assert list(train.get_ydata()) == HISTORY["loss"]
    assert loss_ax.get_lines()[1].get_linestyle() == "--"


def test_marks_learning_rate_changes_between_epochs():
    figure = plotting.plot_history(make_history())
    ax = figure.axes[0]
    changes = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    # The rate changed before epochs 4 and 6: lines at 3.5 and 5.5.
    assert [line.get_xdata()[0] for line in changes] == [3.5, 5.5]
    assert "learning rate change" in line_labels(ax)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["lr 0.01", "lr 0.001"]


def test_marks_restored_epoch_from_history():
    figure = plotting.plot_history(make_history(restored=4))
    ax = figure.axes[0]
    assert "restored weights (epoch 5)" in line_labels(ax)
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1
    assert (stars[0].get_xdata()[0], stars[0].get_ydata()[0]) == (5, 0.58)  # On val_loss.


def test_explicit_restored_epoch_and_initial_epoch():
    # History.epoch of a fit started at initial_epoch=10.
    figure = plotting.plot_history(make_history(epochs=list(range(10, 16))), restored_epoch=12)
    ax = figure.axes[0]
    assert list(ax.get_lines()[0].get_xdata()) == [11, 12, 13, 14, 15, 16]
    assert "restored weights (epoch 13)" in line_labels(ax)


def test_metrics_selection_and_learning_rate_curve():
    figure = plotting.plot_history(HISTORY, metrics=["val_loss", "learning_rate"])
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "learning_rate"]
    assert axes[1].get_yscale() == "log"
    figure = plotting.plot_history(HISTORY, metrics="accuracy")
    assert [ax.get_title() for ax in figure.axes] == ["accuracy"]


def test_batch_size_changes_are_marked():
    data = {"loss": [1.0, 0.8, 0.7, 0.6], "batch_size": [32, 32, 64, 64]}
    figure = plotting.plot_history(data)
    ax = figure.axes[0]
    assert "batch size change" in line_labels(ax)
    assert [t.get_text() for t in ax.texts] == ["batch size 64"]


def test_saves_a_png_file(tmp_path):
    path = tmp_path / "history.png"
    assert plotting.plot_history(make_history(restored=4), path=path, title="run 1") is None
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_history_plot_delegates(tmp_path):
    path = tmp_path / "h.png"
    make_history().plot(path=str(path))
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert make_history().plot(metrics=["loss"]).axes[0].get_title() == "loss"


def test_non_finite_values_leave_gaps():
    figure = plotting.plot_history({"loss": [1.0, float("nan"), float("inf"), 0.5]})
    ydata = list(figure.axes[0].get_lines()[0].get_ydata())
    assert ydata[0] == 1.0 and ydata[3] == 0.5
    assert all(v != v for v in ydata[1:3])  # NaN.


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"expects a History"):
        plotting.plot_history([1.0, 0.5])
    with pytest.raises(ValueError, match=r"empty history"):
        plotting.plot_history(History())
    with pytest.raises(ValueError, match=r"no values for 'auc'. Available keys: loss, accuracy"):
        plotting.plot_history(HISTORY, metrics=["auc"])
    with pytest.raises(TypeError, match=r"metric name or a non-empty list"):
        plotting.plot_history(HISTORY, metrics=[])


def test_missing_matplotlib_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib"):
        plotting.plot_history(HISTORY)
