"""The mixture-analysis notebook runs top to bottom on a tiny configuration (fails if a cell raises)."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "mixture_components.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_notebook_executes_on_a_tiny_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGMM_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("FLOWGMM_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ))
    for name in ("components.png", "latents.png", "reliability.png", "score_hist.png"):
        assert (tmp_path / name).is_file(), name
    assert list(tmp_path.glob("map_*.png"))
