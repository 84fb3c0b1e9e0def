"""Re-score finished AE-FLOW runs with β chosen on validation (``--beta auto``) instead of 0.9.

No training: it reads each run's stored validation and test flow/recon scores, fits the combined
score's standardisation and β on validation (as ``ScoreCombiner.fit(beta="auto")`` does), and
reports test metrics at the validation-chosen threshold. The checkpoint stays the one selected with
β = 0.9 during training. Run by hand:

    python benchmarks/beta_auto_rescore.py benchmarks/results/ablation_pneumoniamnist/runs/gaussian-*

Writes ``benchmarks/results/beta_auto_rescore.md``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from flowgmm_ae.metrics import evaluate
from flowgmm_ae.scoring import ScoreCombiner

METRICS = ("auc", "f1", "acc", "sen", "spe")


def _read(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(r["label"]) for r in rows])
    return labels, {k: np.array([float(r[k]) for r in rows]) for k in ("flow", "recon")}


def rescore(run: Path) -> dict[str, float]:
    val_labels, val = _read(run / "val_scores.csv")
    test_labels, test = _read(run / "scores.csv")
    normal = {k: v[val_labels == 0] for k, v in val.items()}
    auto = ScoreCombiner.fit(normal, beta="auto", labels=val_labels, scores=val)
    fixed = ScoreCombiner.fit(normal, beta=0.9)
    row: dict[str, float] = {"beta": auto.beta}
    for name, combiner in (("fixed", fixed), ("auto", auto)):
        result = evaluate(val_labels, combiner(val), test_labels, combiner(test))
        row.update({f"{name}_{m}": result["test"][m] for m in METRICS})
        row[f"{name}_val_auc"] = result["val"]["auc"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "beta_auto_rescore.md"
    )
    args = parser.parse_args()
    rows = {run.name: rescore(run) for run in args.runs}
    lines = [
        "| run | β chosen | "
        + " | ".join(f"β=0.9 {m}" for m in METRICS)
        + " | "
        + " | ".join(f"auto {m}" for m in METRICS)
        + " |",
        "|" + "---|" * (2 + 2 * len(METRICS)),
    ]
    for name, row in rows.items():
        cells = (
            [f"{row['beta']:.1f}"]
            + [f"{row['fixed_' + m]:.3f}" for m in METRICS]
            + [f"{row['auto_' + m]:.3f}" for m in METRICS]
        )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for prefix in ("fixed", "auto"):
        aucs = np.array([row[f"{prefix}_auc"] for row in rows.values()])
        spread = aucs.std(ddof=1) if len(aucs) > 1 else 0.0
        label = "0.9" if prefix == "fixed" else "auto"
        lines.append(f"\nmean test AUC with β {label}: {aucs.mean():.3f} ± {spread:.3f}")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
