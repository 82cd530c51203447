"""Every notebook runs headless from top to bottom without an error (nbclient), and leaves no
progress bar in its outputs (they belong to long work a person starts, not to a committed notebook)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

PROGRESS_MARKS = ("it/s]", "s/it]", "Loading weights")  # tqdm's text and transformers' weight-loading bar
NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    bars = [(i, mark) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
            for text in (o.get("text", ""), o.get("data", {}).get("text/plain", "")) for mark in PROGRESS_MARKS if mark in str(text)]
    assert not bars, f"progress bars in the outputs of cells {bars}"
