"""fit's progress in a real Jupyter kernel (nbclient): one ipywidgets bar per fit with the
epochs' lines as text, a text bar without ipywidgets, nothing on stderr; models show
their summary as HTML."""

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SETUP = """
import numpy as np
import pytrainc
from pytrainc import testing
model = testing.mlp(s=0)
model.compile(optimizer="adam", loss="mse")
x, y = testing.data(64, (8,), s=1), testing.data(64, (1,), s=2)
"""
FIT = "history = model.fit(x, y, batch_size=16, epochs=3, verbose=1)"
NO_WIDGETS = (
    """
import sys
from pytrainc.callbacks import progbar_logger
sys.modules["ipywidgets"] = None  # as if it were not installed
progbar_logger._tqdm_bar_class = None
"""
    + FIT
)
WIDGET = "application/vnd.jupyter.widget-view+json"


def _run(tmp_path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return nb.cells


def _streams(cell, name):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == name)


def _widgets(cell):
    return [o for o in cell.outputs if WIDGET in o.get("data", {})]


def test_fit_in_a_notebook_shows_one_widget_or_a_text_bar_and_no_warning(tmp_path):
    pytest.importorskip("ipywidgets")
    cells = _run(tmp_path, SETUP, FIT, NO_WIDGETS, "model")
    with_widget, without, shown = cells[1], cells[2], cells[3]
    assert len(_widgets(with_widget)) == 1  # one bar for the whole fit
    out = _streams(with_widget, "stdout")
    assert [line.split(" ")[0] for line in out.splitlines() if "━" in line] == ["4/4"] * 3  # each epoch's line
    assert "Epoch 3/3" in out and "loss: " in out
    assert not _widgets(without)
    text = _streams(without, "stdout")
    assert "Epoch 3/3" in text and "4/4 ━━━━━━━━━━━━━━━━━━━━" in text
    for cell in cells:
        assert not _streams(cell, "stderr"), _streams(cell, "stderr")
    html = "".join(o.get("data", {}).get("text/html", "") for o in shown.outputs)
    assert "<table>" in html and "Total params: " in html
