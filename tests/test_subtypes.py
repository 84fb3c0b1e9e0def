"""--labeled-subtypes: labels drawn from some anomaly subtypes only, and metrics per subtype."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tiny import TINY

from flowgmm_ae.ablation import make_grid, run_ablation
from flowgmm_ae.cli import format_metrics_table, main
from flowgmm_ae.training import TrainConfig, train


@pytest.fixture(scope="module")
def subtyped_folder(tmp_path_factory) -> Path:
    """40 normal images and two anomaly subtypes of 20 images each, as folder:ROOT expects."""
    root = tmp_path_factory.mktemp("subtyped") / "scans"
    rng = np.random.default_rng(0)
    for i in range(80):
        folder, brightness = (
            ("normal", 60) if i < 40 else (("abnormal/lesion", 190) if i < 60 else ("abnormal/cyst", 140))
        )
        (root / folder).mkdir(parents=True, exist_ok=True)
        pixels = np.clip(rng.normal(brightness, 20, (16, 16)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels, "L").save(root / folder / f"img{i}.png")
    return root


def test_a_run_labels_only_the_named_subtype_and_reports_seen_and_unseen(subtyped_folder, tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(
        **{**TINY, "dataset": f"folder:{subtyped_folder}", "labeled_frac": 0.5, "val_frac": 0.25},
        labeled_subtypes=["lesion"],
        out=str(out),
    )
    train(config)
    splits = json.loads((out / "splits.json").read_text())
    train_files = splits["files"]["train"]
    assert splits["labeled"] and all("/lesion/" in train_files[i] for i in splits["labeled"])
    val_files = splits["files"]["val"]  # the validation images the run could use
    assert len(val_files) == len(splits["validation"]) and any("/lesion/" in f for f in val_files)
    assert not any("/cyst/" in f for f in val_files)  # no labels of the unseen subtype, anywhere
    metrics = json.loads((out / "metrics.json").read_text())
    assert "cyst" in format_metrics_table(metrics) and "(unseen)" in format_metrics_table(metrics)
    subtypes = metrics["subtypes"]
    assert subtypes["lesion"]["seen"] is True and subtypes["cyst"]["seen"] is False
    assert (
        subtypes["seen"]["n"] == subtypes["lesion"]["n"] and subtypes["unseen"]["n"] == subtypes["cyst"]["n"]
    )
    assert json.loads((out / "config.json").read_text())["labeled_subtypes"] == ["lesion"]


def test_an_unknown_subtype_stops_the_run_with_the_subtypes_there_are(subtyped_folder, tmp_path):
    args = ["train", "--dataset", f"folder:{subtyped_folder}", "--labeled-subtypes", "tumour"]
    args += ["--image-size", "16", "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "unknown anomaly subtypes ['tumour']" in result.output and "['cyst', 'lesion']" in result.output


def test_grid_axes_name_cells_apart_and_keep_label_free_cells_off_the_subtype_axis():
    cells = make_grid(
        ("gaussian", "gmm", "cnn"),
        (0.0, 0.1),
        (0,),
        subtype_sets=[("bacteria",), ("virus",)],
        contaminations=[0.0, 0.05],
    )
    names = [c.name for c in cells]
    assert len(names) == len(set(names))
    # per contamination: gaussian 1, gmm at budget 0 once + 2 subtype sets, cnn 2 subtype sets
    assert len(cells) == 2 * (1 + 1 + 2 + 2)
    assert "gmm-only-virus-c0.05-f0.1-s0" in names and "gaussian-c0.05-f0-s0" in names
    assert "cnn-only-bacteria-f0.1-s0" in names and "gmm-f0-s0" in names
    config = next(c for c in cells if c.name == "cnn-only-bacteria-c0.05-f0.1-s0").config(
        TrainConfig(), Path("x")
    )
    assert config.labeled_subtypes == ["bacteria"] and config.contamination == 0.05


def test_ablation_tabulates_seen_and_unseen_auc(subtyped_folder, tmp_path):
    base = TrainConfig(**{**TINY, "dataset": f"folder:{subtyped_folder}", "val_frac": 0.25})
    run_ablation(
        tmp_path / "grid", base, ("gmm",), (0.5,), (0,), echo=lambda _: None, subtype_sets=[("cyst",)]
    )
    markdown = (tmp_path / "grid" / "results.md").read_text()
    assert "seen AUC" in markdown and "labels from cyst" in markdown
    assert "Test AUC per anomaly subtype" in markdown and "| cyst | lesion |" in markdown
