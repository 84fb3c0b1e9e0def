"""One short training run on the real PneumoniaMNIST copy: about a minute on 2 CPU cores.

It checks the result is sane, not that it is good: a few epochs must already separate pneumonia
from normal chest X-rays far above chance, every metric must be finite, and the reported bits/dim
must stay in a plausible range (no runaway density)."""

import json
import math

from click.testing import CliRunner

from flowgmm_ae.cli import main


def test_pneumoniamnist_short_run_is_sane(pneumoniamnist, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--dataset",
            "pneumoniamnist",
            "--data-root",
            str(pneumoniamnist),
            "--epochs",
            "4",
            "--min-steps",
            "0",
            "--labeled-frac",
            "0.05",
            "--seed",
            "0",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for split in ("val", "test"):
        for key in ("auc", "auprc", "f1", "acc", "sen", "spe"):
            assert math.isfinite(metrics[split][key]), (split, key)
    assert metrics["val"]["auc"] > 0.9, metrics["val"]
    assert metrics["test"]["auc"] > 0.85, metrics["test"]
    assert metrics["training"]["skipped_steps"] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["dataset_used"] == "pneumoniamnist" and config["n_labeled"] == 175
    log = (out / "train_log.csv").read_text().splitlines()
    assert len(log) == 5  # header + 4 epochs
    nll = [float(line.split(",")[2]) for line in log[1:]]
    assert all(-4.0 < value < 4.0 for value in nll), nll
