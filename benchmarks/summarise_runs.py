"""A Markdown table of finished run folders: test AUC/F1/ACC/SEN/SPE of the selected score, wall time.

    python benchmarks/summarise_runs.py RUNS_DIR [--title TEXT]

Thresholds in every run were chosen on validation; the AE-FLOW row is the published figure
(Zhao et al., ICLR 2023, ChestXRay, 256 px, ImageNet-pretrained encoder) for scale, not rerun here.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

PUBLISHED = (
    "| AE-FLOW, published (unsupervised, 256 px, ImageNet WRN-50) | – | – "
    "| 0.9200 | 0.8892 | 0.8558 | 0.9128 | – | – | – |"
)


def row(run: Path, efficiency: bool = False) -> str:
    config = json.loads((run / "config.json").read_text())
    metrics_file = json.loads((run / "metrics.json").read_text())
    test, val_auc = metrics_file["test"], metrics_file["val"]["auc"]
    with open(run / "train_log.csv") as handle:
        train_seconds = sum(float(r["seconds"]) for r in csv.DictReader(handle))
    timing = run.parent / f"{run.name}.time"  # written by /usr/bin/time in the shell scripts
    wall = timing.read_text().split()[0] if timing.exists() else "–"
    what = (
        f"{config['prior']} prior, labeled fraction {config['labeled_frac']}, {config['image_size']} px, "
        f"stride {config['model']['stride']}, "
        f"{config['epochs']} epochs"
        + (f", class weight {config['class_weight']:g}" if config.get("class_weight") else "")
    )
    values = (val_auc, *(test[k] for k in ("auc", "f1", "acc", "sen", "spe")))
    metrics = " | ".join(f"{v:.4f}" for v in values)
    line = f"| {what} | {config['n_labeled']} | {metrics} | {train_seconds / 60:.1f} | {wall} |"
    if efficiency:  # validation AUC above chance per training minute
        line += f" {(val_auc - 0.5) / (train_seconds / 60):.3f} |"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--title", default="Runs")
    parser.add_argument(
        "--efficiency", action="store_true", help="Add (val AUC − 0.5) per training minute, for sweeps."
    )
    args = parser.parse_args()
    runs = sorted(p for p in args.runs.iterdir() if (p / "metrics.json").exists())
    print(f"# {args.title}\n")
    print("Test split; thresholds (max-F1) chosen on validation; seed 0.\n")
    extra = " (val AUC − 0.5) / min |" if args.efficiency else ""
    print(f"| run | labeled images | val AUC | AUC | F1 | ACC | SEN | SPE | training min | wall s |{extra}")
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if args.efficiency else ""))
    for run in runs:
        print(row(run, args.efficiency))
    print(PUBLISHED + (" – |" if args.efficiency else ""))


if __name__ == "__main__":
    main()
