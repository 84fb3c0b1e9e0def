"""Does a score decay as training goes on? Plots, per epoch, each run's validation AUC with every
validation anomaly label (``val_auc_all_labels`` in train_log.csv: the run's own score, a
diagnostic that chose nothing), one line per run folder, labelled by the options that differ.

    python benchmarks/validation_curves.py RUN_DIR [RUN_DIR ...] --out FILE.png [--label encoder_objective]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from flowgmm_ae.io import read_json
from flowgmm_ae.plots import subplots


def curve(run_dir: Path) -> tuple[list[int], list[float]]:
    with open(run_dir / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [int(r["epoch"]) for r in rows], [float(r["val_auc_all_labels"]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--label", default="encoder_objective", help="config fields naming each line")
    args = parser.parse_args()
    fig, ax = subplots(figsize=(6, 4))
    for run in args.runs:
        config = read_json(run / "config.json")
        label = ", ".join(f"{k}={config.get(k)}" for k in args.label.split(",")) + f", seed {config['seed']}"
        epochs, aucs = curve(run)
        ax.plot(epochs, aucs, marker=".", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation AUC, every label (diagnostic)")
    ax.set_title(f"{config['dataset']}: the run's score ({config['score']}) by epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(args.out)


if __name__ == "__main__":
    main()
