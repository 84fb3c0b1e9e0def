"""Which checkpoint rule holds up on test: best on the budgeted validation, the last epoch, or best
on every validation label? Reads the ``selection`` block of each run's metrics.json in an ablation
folder (written by every training run; no rule there chose anything) and tabulates, per method and
labeled fraction, mean ± std test AUC under each rule over seeds and the paired difference
(last − best on the run's validation) with its sign count.

    python benchmarks/selection_rules.py benchmarks/results/detection_chestxray2017_32px_e25_honest

Writes ``selection_rules.md`` into that folder and prints it.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

RULES = (
    ("best_val", "best on run's validation"),
    ("last", "last epoch"),
    ("best_val_all_labels", "best on all val labels"),
)


def _mean_std(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return "–"
    std = array.std(ddof=1) if array.size > 1 else 0.0
    return f"{array.mean():.3f} ± {std:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ablation_dir", type=Path)
    args = parser.parse_args()
    groups: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for metrics_file in sorted(args.ablation_dir.glob("runs/*/metrics.json")):
        config = json.loads((metrics_file.parent / "config.json").read_text())
        metrics = json.loads(metrics_file.read_text())
        if "selection" not in metrics:
            continue
        method = config["prior"] if config["method"] == "aeflow" else config["method"]
        groups[(method, config["labeled_frac"])].append(metrics["selection"])
    header = ["method", "labeled fraction", "seeds", *(f"test AUC, {label}" for _, label in RULES)]
    header += ["last − best, mean", "seeds where last ≥ best"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (method, frac), runs in sorted(groups.items()):
        columns = [[run[rule]["test_auc"] for run in runs if rule in run] for rule, _ in RULES]
        paired = [run["last"]["test_auc"] - run["best_val"]["test_auc"] for run in runs if "best_val" in run]
        lines.append(
            "| "
            + " | ".join(
                [
                    method,
                    f"{frac:g}",
                    str(len(runs)),
                    *(_mean_std(column) for column in columns),
                    f"{np.mean(paired):+.3f}" if paired else "–",
                    f"{sum(d >= 0 for d in paired)}/{len(paired)}" if paired else "–",
                ]
            )
            + " |"
        )
    every = [
        run["last"]["test_auc"] - run["best_val"]["test_auc"]
        for runs in groups.values()
        for run in runs
        if "best_val" in run
    ]
    if every:
        lines.append(
            f"| every run with validation anomalies | | {len(every)} | | | | {np.mean(every):+.3f} "
            f"| {sum(d >= 0 for d in every)}/{len(every)} |"
        )
    text = (
        f"# Checkpoint rules on {args.ablation_dir.name}\n\n"
        "Test AUC of the run's selected score had each rule chosen the checkpoint (a record: the runs "
        "kept the epoch best on their own, label-budgeted validation). Runs without validation anomalies "
        "have the last epoch only.\n\n" + "\n".join(lines) + "\n"
    )
    (args.ablation_dir / "selection_rules.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
