"""Validation AUC of every score with every validation anomaly label, for finished runs that predate
the per-score record (``selection.last.val_auc_all_labels_by_score`` in metrics.json).

A diagnostic for choosing package defaults (which score, which normalisation) on validation data
only; no run uses it. Reloads each run's last-epoch weights, scores its data set's whole validation
split (the run itself saw only the label-budgeted part) and writes ``RUN/val_all_labels.json``,
which ``benchmarks/paired_comparison.py`` reads.

    python benchmarks/val_all_labels.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flowgmm_ae.evaluation import validation_scores
from flowgmm_ae.methods import get_method
from flowgmm_ae.metrics import ranking_metrics
from flowgmm_ae.runs import load_model, load_run_dataset


def all_label_aucs(run_dir: Path) -> dict[str, float]:
    model, config = load_model(run_dir, "last.safetensors")
    dataset = load_run_dataset(config)  # no run_dir: the whole validation split
    scores, _ = validation_scores(get_method(config["method"]), model, dataset.val, config["beta"], "cpu")
    return {name: ranking_metrics(dataset.val.labels, values)["auc"] for name, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", type=Path, nargs="+")
    for run_dir in parser.parse_args().runs:
        aucs = all_label_aucs(run_dir)
        (run_dir / "val_all_labels.json").write_text(json.dumps(aucs, indent=1) + "\n")
        print(run_dir.name, " ".join(f"{k}={v:.4f}" for k, v in aucs.items()))


if __name__ == "__main__":
    main()
