"""evaluate, score and ablate: reproducible metrics, maps of the right size, resumable grids."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tiny import TINY

from flowgmm_ae.ablation import make_grid, run_ablation
from flowgmm_ae.cli import main
from flowgmm_ae.data.synthetic import make_synthetic
from flowgmm_ae.evaluation import read_score_table
from flowgmm_ae.training import TrainConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from flowgmm_ae.training import train

    out = tmp_path_factory.mktemp("eval") / "run"
    train(TrainConfig(labeled_frac=0.05, out=str(out), **TINY))
    return out


def test_evaluate_reproduces_training_metrics_exactly(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(run_dir), "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    trained = json.loads((run_dir / "metrics.json").read_text())
    evaluated = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert evaluated["scores"] == trained["scores"]
    assert evaluated["combiner"] == trained["combiner"]
    assert (tmp_path / "ev" / "scores.csv").read_text() == (run_dir / "scores.csv").read_text()
    assert "fused *" in result.output  # --score auto: the fused score once labels exist
    assert json.loads((run_dir / "config.json").read_text())["score"] == "fused"


def test_evaluate_last_weights_match_the_runs_last_epoch_record(tmp_path):
    from flowgmm_ae.training import train

    out = tmp_path / "run"
    result = train(TrainConfig(labeled_frac=0.05, out=str(out), select="best", **{**TINY, "epochs": 3}))
    cli = CliRunner().invoke(main, ["evaluate", str(out), "--weights", "last", "--out", str(tmp_path / "ev")])
    assert cli.exit_code == 0, cli.output
    evaluated = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    last = result.metrics["selection"]["last"]
    assert evaluated["test"]["auc"] == pytest.approx(last["test_auc"], abs=1e-12)
    assert evaluated["val"]["auc"] == pytest.approx(last["val_auc"], abs=1e-12)


def test_evaluate_on_validation_and_with_another_policy(run_dir):
    result = CliRunner().invoke(
        main, ["evaluate", str(run_dir), "--split", "val", "--threshold-policy", "normal-quantile"]
    )
    assert result.exit_code == 0, result.output
    assert "normal-quantile(0.95)" in result.output and "synthetic val" in result.output


def test_evaluate_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path)])
    assert result.exit_code != 0 and "no config.json" in result.output


def test_score_writes_rows_and_maps_of_the_right_size(run_dir, tmp_path):
    images = make_synthetic(40, n_train=(1, 1), n_val=(1, 1), n_test=(2, 2), seed=5).test
    folder = tmp_path / "images"
    folder.mkdir()
    for i, (image, label) in enumerate(zip(images.images, images.labels, strict=True)):
        array = (image[0].numpy() * 255).astype(np.uint8)
        Image.fromarray(array).save(folder / f"img{i}_label{label}.png")
    Image.fromarray(np.zeros((30, 50, 4), dtype=np.uint8), "RGBA").save(folder / "rgba.png")
    maps = tmp_path / "maps"
    result = CliRunner().invoke(
        main, ["score", str(run_dir), str(folder), "--maps", str(maps), "--csv", str(tmp_path / "rows.csv")]
    )
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 5
    assert all(word in result.output for word in ("img0_label", "rgba.png"))
    npz = sorted(maps.glob("*.npz"))
    assert len(npz) == 5 and len(list(maps.glob("*.png"))) == 5
    for path in npz:
        with np.load(path) as data:
            assert data["flow"].shape == (16, 16) and data["residual"].shape == (16, 16)
            assert np.isfinite(data["flow"]).all()
    assert (tmp_path / "rows.csv").read_text().startswith("path,score,prediction")


def test_score_reports_unreadable_images(run_dir, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    result = CliRunner().invoke(main, ["score", str(run_dir), str(bad)])
    assert (
        result.exit_code != 0 and "could not read image" in result.output and "Traceback" not in result.output
    )


def test_ablation_writes_everything_and_resumes(tmp_path):
    base = TrainConfig(**TINY)
    out = tmp_path / "ablation"
    messages: list[str] = []
    rows = run_ablation(out, base, ("gaussian", "gmm"), (0.0, 0.05), (0,), echo=messages.append)
    for name in ("results.csv", "results.md", "auc_vs_labels.png", "roc.png", "score_hist.png"):
        assert (out / name).is_file(), name
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["gaussian-f0-s0", "gmm-f0-s0", "gmm-f0.05-s0"]
    # Under --val-labels budget only the run with labels keeps validation anomalies: it is reported
    # under both threshold policies, the label-free runs under the normal quantile alone.
    policies = {(r["variant"], r["budget"]): set() for r in rows}
    for r in rows:
        policies[(r["variant"], r["budget"])].add(r["threshold_policy"])
    assert policies[("gmm", "0.05")] == {"f1", "normal-quantile(0.95)"}
    assert policies[("gaussian", "0")] == policies[("gmm", "0")] == {"normal-quantile(0.95)"}
    assert {r["n_labels_total"] for r in rows if r["budget"] == "0.05"} == {10 + 5}
    markdown = (out / "results.md").read_text()
    assert "flowgmm-ae" in markdown and "ae-flow" in markdown and "AUC 95 % CI" in markdown

    # resume: finished cells are reused, an interrupted one (no metrics.json) is retrained
    stamps = {p: (p / "model.safetensors").stat().st_mtime_ns for p in (out / "runs").iterdir()}
    interrupted = out / "runs" / "gmm-f0-s0"
    (interrupted / "metrics.json").unlink()
    messages.clear()
    run_ablation(out, base, ("gaussian", "gmm"), (0.0, 0.05), (0,), echo=messages.append)
    assert sum("reused" in m for m in messages) == 2 and sum("training" in m for m in messages) == 1
    for path, stamp in stamps.items():
        changed = (path / "model.safetensors").stat().st_mtime_ns != stamp
        assert changed == (path == interrupted), path


def test_ablate_cli_rejects_bad_lists():
    result = CliRunner().invoke(main, ["ablate", "--labeled-fracs", "0,abc", "--out", "x"])
    assert result.exit_code != 0 and "comma-separated" in result.output


def test_score_works_for_a_baseline_run_and_refuses_maps(tmp_path):
    from flowgmm_ae.training import train

    out = tmp_path / "sup"
    train(TrainConfig(method="supervised", score="probability", labeled_frac=0.05, out=str(out), **TINY))
    image = tmp_path / "x.png"
    Image.fromarray(np.full((20, 20), 128, dtype=np.uint8)).save(image)
    result = CliRunner().invoke(main, ["score", str(out), str(image)])
    assert result.exit_code == 0, result.output
    assert "x.png" in result.output
    refused = CliRunner().invoke(main, ["score", str(out), str(image), "--maps", str(tmp_path / "m")])
    assert refused.exit_code != 0 and "AE-FLOW" in refused.output


def test_ablation_gives_the_class_weight_to_the_mixture_cells_only(tmp_path):
    base = TrainConfig(class_weight=0.5, **TINY)
    configs = {
        c.variant: c.config(base, tmp_path)
        for c in make_grid(("gaussian", "gmm", "supervised"), (0.05,), (0,))
    }
    assert configs["gmm"].class_weight == 0.5
    assert configs["gaussian"].class_weight == 0.0 and configs["supervised"].class_weight == 0.0


def test_read_score_table_keeps_file_and_subtype_apart_from_scores(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(
        "index,label,file,subtype,flow,recon\n0,0,/a/n0.png,normal,1.5,0.2\n1,1,/a/x1.png,virus,3.0,0.4\n"
    )
    table = read_score_table(path)
    assert list(table.scores) == ["flow", "recon"]
    np.testing.assert_array_equal(table.labels, [0, 1])
    np.testing.assert_allclose(table.scores["flow"], [1.5, 3.0])
    assert table.files == ["/a/n0.png", "/a/x1.png"] and table.subtypes == ["normal", "virus"]
    (tmp_path / "plain.csv").write_text("index,label,combined\n0,1,0.5\n")
    plain = read_score_table(tmp_path / "plain.csv")
    assert plain.files is None and plain.subtypes is None and list(plain.scores) == ["combined"]
