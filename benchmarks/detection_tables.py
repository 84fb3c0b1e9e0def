"""The README's detection tables: an ablation's seed-averaged test metrics beside published figures.

    python benchmarks/detection_tables.py

Reads ``results.csv`` of the honest-protocol ablation folders below (written by
``ablation_pneumoniamnist.sh`` and ``detection_chestxray2017.sh``) and writes
benchmarks/results/detection_tables.md: per method and label fraction, the anomaly labels used
(training + validation = total), mean ± std over seeds of validation AUC (the run's own, and with
every validation label: a diagnostic), test AUC, F1, ACC, SEN and SPE (threshold at the validation
maximum F1, or the 95 % quantile of validation normals when validation holds no anomaly) and the
mean training minutes, followed by published references for scale. The references were not rerun
here and differ in protocol (noted per row).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
METRICS = ("val_auc", "val_auc_all_labels", "auc", "f1", "acc", "sen", "spe")
ORDER = {"ae-flow": 0, "ae": 1, "flowgmm-ae": 2, "supervised": 3, "cnn": 4, "deepsad": 5, "devnet": 6}

CHESTXRAY_REFERENCES = [
    ("AE-FLOW published (unsupervised, 256 px, ImageNet Wide-ResNet-50-2)", 92.00, 88.92, 85.58, 91.28, None),
    ("Kermany et al. 2018 (fully supervised transfer learning)", 96.8, None, 92.8, 93.2, 90.1),
]
TABLES = {  # title: (ablation folder, published references (name, AUC, F1, ACC, SEN, SPE in %))
    "PneumoniaMNIST, 32 px, 25 epochs": (
        "ablation_pneumoniamnist_honest",
        [
            (
                "MedMNIST v2 ResNet-18 (28 px, every training label; Yang et al. 2023)",
                94.4,
                None,
                85.4,
                None,
                None,
            ),
        ],
    ),
    # The grid ran under the earlier default --select best; its runs' last epochs (rescored by
    # rescore_last_epoch.py) are what the package's default, --select last, gives.
    "ChestXRay2017, 32 px, 25 epochs": (
        "detection_chestxray2017_32px_e25_honest/last_epoch",
        CHESTXRAY_REFERENCES,
    ),
}


def _cell(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return "–"
    return f"{array.mean():.3f} ± {array.std(ddof=1 if array.size > 1 else 0):.3f}"  # sample std


def _number(text: str) -> float:
    return float(text) if text not in ("", "nan") else float("nan")


def table(folder: Path, references: list[tuple]) -> list[str]:
    """Markdown rows of one ablation's results.csv (f1 policy where validation holds anomalies, else
    the normal quantile), then the reference rows."""
    groups: dict[tuple[str, float], list[dict]] = defaultdict(list)
    with open(folder / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with_f1 = {row["run"] for row in rows if row["threshold_policy"] == "f1"}
    for row in rows:
        wanted = "f1" if row["run"] in with_f1 else row["threshold_policy"]
        if row["threshold_policy"] == wanted and row["method"] in ORDER:
            groups[(row["method"], float(row["labeled_frac"]))].append(row)
    lines = [
        "| method | labeled fraction | labels (train + val = total) | seeds | val AUC | val AUC, all val "
        "labels* | test AUC | F1 | ACC | SEN | SPE | training min |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (method, frac), rows in sorted(groups.items(), key=lambda item: (ORDER[item[0][0]], item[0][1])):
        if method == "flowgmm-ae" and frac == 0:
            continue  # the mixture prior without labels: in the ablation's own table
        cells = [_cell([_number(r[m]) for r in rows]) for m in METRICS]
        minutes = np.mean([float(r["wall_s"]) for r in rows]) / 60
        first = rows[0]
        labels = f"{first['n_labels']} + {first['n_val_labels']} = {first['n_labels_total']}"
        lines.append(
            f"| {method} | {frac:g} | {labels} | {len(rows)} | {' | '.join(cells)} | {minutes:.1f} |"
        )
    for name, *values in references:
        shown = ["–" if v is None else f"{v / 100:.3f}" for v in values]
        lines.append(f"| *{name}* | – | – | – | – | – | {' | '.join(shown)} | – |")
    return lines


def main() -> None:
    out = ["# Detection tables", ""]
    for title, (folder, references) in TABLES.items():
        path = RESULTS / folder
        if not (path / "results.csv").is_file():
            out += [f"## {title}", "", f"(no results yet: run the script that fills {path})", ""]
            continue
        out += [f"## {title} (`benchmarks/results/{folder}`)", "", *table(path, references), ""]
    text = "\n".join(out)
    (RESULTS / "detection_tables.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
