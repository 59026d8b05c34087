"""examples/quickstart.ipynb runs on a real Jupyter kernel (nbclient), as a user would run it."""

import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = pathlib.Path(__file__).parents[2] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_round_trips(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    # The kernel starts in tmp_path, so it imports the installed pytrainc, not the source tree.
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    def text(cell):
        return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert re.search(r"Total params: 161\b", text(code[1]))
    assert text(code[4]).strip() == "True"  # the state_dict round trip predicts bitwise the same
    assert text(code[5]).strip() in ("True", "h5py is not installed: pip install '.[h5]' for .keras files")
