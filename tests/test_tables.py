"""benchmarks/tables.py: the test-image bootstrap is taken over the images its metric is of."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "tables.py"


def _run_folder(folder: Path, subtypes: list[str], labels: np.ndarray, scores: np.ndarray) -> str:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"labeled_subtypes": ["seen"]}))
    lines = ["index,label,subtype,posterior"]
    lines += [f"{i},{y},{t},{s}" for i, (y, t, s) in enumerate(zip(labels, subtypes, scores, strict=True))]
    (folder / "scores.csv").write_text("\n".join(lines) + "\n")
    return str(folder)


def test_the_bootstrap_of_an_unseen_auc_uses_the_normals_and_the_unseen_anomalies_only(tmp_path):
    rng = np.random.default_rng(0)
    kinds = ["normal"] * 200 + ["seen"] * 100 + ["unseen"] * 100
    labels = np.array([0] * 200 + [1] * 200)
    noise = rng.random(400)
    # "seen-expert" ranks the seen anomalies perfectly and the unseen ones at chance; "unseen-expert"
    # the reverse. Over every image the two tie; restricted to one subtype, one wins by far.
    seen_expert = np.where(np.array(kinds) == "seen", 2 + noise, noise)
    unseen_expert = np.where(np.array(kinds) == "unseen", 2 + noise, noise)
    rows = ["method,seed,score,run"]
    for seed in range(3):
        for name, scores in (("seen-expert", seen_expert), ("unseen-expert", unseen_expert)):
            run = _run_folder(tmp_path / f"{name}-{seed}", kinds, labels, scores)
            rows.append(f"{name},{seed},posterior,{run}")
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")

    def interval(metric: str) -> tuple[float, float]:
        text = "\n".join(r + ",0.5" if i else r + f",{metric}" for i, r in enumerate(rows))
        (tmp_path / "results.csv").write_text(text + "\n")
        out = subprocess.run(
            [sys.executable, str(SCRIPT), "paired", str(tmp_path / "results.csv"), "--reference",
             "method=seen-expert", "--by", "", "--metric", metric, "--bootstrap", "200"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        cell = out.splitlines()[-1].strip("|").split("|")[-1].strip()
        low, high = (float(v) for v in cell.strip("[]").split(","))
        return low, high

    assert interval("auc_unseen")[0] > 0.3
    assert interval("auc_seen")[1] < -0.3
    assert interval("auc:unseen")[0] > 0.3
    low, high = interval("auc")
    assert -0.1 < low < high < 0.1


def test_the_bootstrap_refuses_a_metric_that_is_not_a_test_auc(tmp_path):
    folder = _run_folder(tmp_path / "a", ["normal", "seen"], np.array([0, 1]), np.array([0.0, 1.0]))
    rows = ["method,seed,score,run,val_auc", f"a,0,posterior,{folder},0.9", f"b,0,posterior,{folder},0.8"]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "paired", str(tmp_path / "results.csv"), "--reference", "method=a",
         "--by", "", "--metric", "val_auc", "--bootstrap", "10"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0 and "not val_auc" in result.stderr


def test_where_keeps_matching_rows_and_drops_excluded_ones(tmp_path):
    source = tmp_path / "results.csv"
    source.write_text("method,seed,auc\ncnn,0,0.9\nae,0,0.8\nae-flow,0,0.7\n")

    def summary(*where: str) -> str:
        args = [arg for item in where for arg in ("--where", item)]
        command = [sys.executable, str(SCRIPT), "summary", str(source), "--by", "method", *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    kept = summary("method!=ae-flow")
    assert "| cnn |" in kept and "| ae |" in kept and "ae-flow" not in kept
    assert "| cnn |" not in summary("method=ae") and "| ae |" in summary("method=ae")


def test_a_source_filter_keeps_rows_of_that_source_only(tmp_path):
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    new.write_text("method,seed,auc\nflowgmm-ae,0,0.9\ncnn,0,0.7\n")
    old.write_text("method,seed,auc\nflowgmm-ae,0,0.5\nae,0,0.8\n")
    command = [sys.executable, str(SCRIPT), "summary", str(new), f"{old}#method=ae", "--by", "method"]
    table = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # the old grid's flowgmm-ae run is left out, its autoencoder run kept
    assert "| flowgmm-ae | 1 | 0.900 ± 0.000 |" in table
    assert "| ae | 1 | 0.800 ± 0.000 |" in table and "| cnn | 1 |" in table
