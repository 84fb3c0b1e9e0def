"""Mean ± std over seeds of run folders named ``VARIANT-sSEED``: validation AUC (the run's own,
label-budgeted, and with every validation label), test AUC and the threshold metrics, labels used,
optimiser steps and training minutes.

    python benchmarks/group_runs.py RUNS_DIR [--title TEXT] [--out FILE] [--rule last]

``--rule last`` reads every AUC at the run's last epoch from its ``selection`` record (written by
every run whatever its ``--select``), so runs trained under either rule compare like for like; the
threshold metrics, which belong to the kept checkpoint, are then left out.

Used by the sweeps in benchmarks/ whose runs are not an ``ablate`` grid (tiny_folder.sh,
defaults_sweep_chestxray2017.sh).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

COLUMNS = ("val_auc", "val_auc_all", "auc", "f1", "acc", "sen", "spe")


def _mean_std(values: list[float]) -> str:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return "–"
    std = array.std(ddof=1) if array.size > 1 else 0.0
    return f"{array.mean():.3f} ± {std:.3f}"


def _row(run: Path, rule: str) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    labels = metrics.get("labels", {})
    last = metrics.get("selection", {}).get("last", {})
    if rule == "last":
        aucs = {"val_auc": last.get("val_auc"), "auc": last.get("test_auc")}
        aucs.update({key: None for key in ("f1", "acc", "sen", "spe")})
    else:
        aucs = {"val_auc": metrics["val"]["auc"]}
        aucs.update({key: metrics["test"][key] for key in ("auc", "f1", "acc", "sen", "spe")})
    return {
        **aucs,
        "val_auc_all": last.get("val_auc_all_labels"),
        "labels": f"{labels.get('train', '?')} + {labels.get('validation', '?')}",
        "steps": metrics["training"].get("steps", "?"),
        "minutes": metrics["training"]["seconds"] / 60,
    }


def table(runs_dir: Path, title: str, rule: str = "selected") -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for run in sorted(p for p in runs_dir.iterdir() if (p / "metrics.json").is_file()):
        variant = re.sub(r"-s\d+$", "", run.name)
        groups[variant].append(_row(run, rule))
    header = "| variant | seeds | labels (train + val) | steps | val AUC | val AUC, all val labels* | "
    header += "test AUC | F1 | ACC | SEN | SPE | training min |"
    lines = [f"# {title}", "", header, "|" + "---|" * 12]
    for variant, rows in groups.items():
        cells = [
            variant,
            str(len(rows)),
            rows[0]["labels"],
            str(rows[0]["steps"]),
            *(_mean_std([r[k] for r in rows]) for k in COLUMNS),
            f"{np.mean([r['minutes'] for r in rows]):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Every AUC at each run's last epoch (--rule last); * with every validation anomaly label."
            if rule == "last"
            else "Thresholds and checkpoints chosen on each run's validation split; * a diagnostic that "
            "chose nothing (AUC with every validation anomaly label, of the last epoch)."
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--title", default="Runs")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rule", choices=("selected", "last"), default="selected")
    args = parser.parse_args()
    text = table(args.runs, args.title, args.rule)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
