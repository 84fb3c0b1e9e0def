"""The mixture-analysis notebook runs top to bottom on a tiny configuration (fails if a cell raises)."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny import TINY

from flowgmm_ae.training import TrainConfig, train

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "mixture_components.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def _execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("FLOWGMM_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ))


def test_notebook_executes_on_a_tiny_run(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGMM_NOTEBOOK_TINY", "1")
    _execute(tmp_path, monkeypatch)
    for name in ("components.png", "latents.png", "reliability.png", "score_hist.png"):
        assert (tmp_path / name).is_file(), name
    assert list(tmp_path.glob("map_*.png"))


def test_notebook_executes_on_a_folder_run(tmp_path, monkeypatch):
    """File-based runs write ``file`` and ``subtype`` columns into scores.csv; the notebook must
    read scores through the package, not take every column for a score."""
    rng = np.random.default_rng(0)
    root = tmp_path / "scans"
    for i in range(24):
        brightness, folder = (60, "normal") if i < 16 else (190, "abnormal/lesion")
        pixels = np.clip(rng.normal(brightness, 20, (16, 16)), 0, 255).astype(np.uint8)
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, "L").save(root / folder / f"img{i}.png")
    run_dir = tmp_path / "run"
    train(TrainConfig(**{**TINY, "dataset": f"folder:{root}", "labeled_frac": 0.5, "out": str(run_dir)}))
    monkeypatch.setenv("FLOWGMM_NOTEBOOK_RUN_DIR", str(run_dir))
    _execute(tmp_path / "notebook", monkeypatch)
    assert (tmp_path / "notebook" / "score_hist.png").is_file()
