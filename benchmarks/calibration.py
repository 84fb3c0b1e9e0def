"""Are the probabilities calibrated? Test-set expected calibration error (10 bins), Brier score and
log loss of the methods that output a class probability, from finished runs (no training):
flowgmm-ae's mixture posterior p(anomaly | z') = sigmoid(posterior log-odds), the plain CNN's
sigmoid(logit) and the encoder-head classifier's probability. All three weigh the two classes
equally (mixture weights ½, ½; class-balanced cross-entropy), so a test prevalence other than ½
shifts them all alike.

    python benchmarks/calibration.py benchmarks/results/ablation_pneumoniamnist_honest/runs \
        [--budgets 0.01,0.05] [--out benchmarks/results/calibration_pneumoniamnist.md]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flowgmm_ae.evaluation import read_score_table  # noqa: E402
from flowgmm_ae.metrics import calibration_bins  # noqa: E402

# variant → (name in tables, score column, how to turn it into a probability)
PROBABILITIES = {
    "gmm": ("flowgmm-ae (posterior)", "posterior", lambda s: 1 / (1 + np.exp(-s))),
    "cnn": ("plain CNN (sigmoid of logit)", "logit", lambda s: 1 / (1 + np.exp(-s))),
    "supervised": ("encoder-head classifier", "probability", lambda s: s),
}
CELL = re.compile(r"^(?P<variant>[a-z]+)-f(?P<budget>[\d.]+)-s(?P<seed>\d+)$")


def measures(labels: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return {
        "ece": calibration_bins(labels, p)["ece"],
        "brier": float(np.mean((p - labels) ** 2)),
        "log_loss": float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="Folders holding ablate's run folders.")
    parser.add_argument("--budgets", default="0.01,0.05")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    found: dict[tuple[float, str], dict[int, dict[str, float]]] = defaultdict(dict)
    for folder in args.runs:
        for run in sorted(folder.iterdir()):
            match = CELL.match(run.name)
            if not match or match["variant"] not in PROBABILITIES or not (run / "scores.csv").is_file():
                continue
            _, column, to_probability = PROBABILITIES[match["variant"]]
            table = read_score_table(run / "scores.csv")
            found[(float(match["budget"]), match["variant"])][int(match["seed"])] = measures(
                table.labels, to_probability(table.scores[column])
            )
    lines = [
        "# Calibration of the class probabilities on the test split",
        "",
        f"`python benchmarks/calibration.py {' '.join(str(r) for r in args.runs)} --budgets {args.budgets}`",
        "",
        "| labels | method | seeds | ECE (10 bins) | Brier | log loss | ECE Δ vs CNN (won, p) |",
        "|---|---|---|---|---|---|---|",
    ]
    for budget in budgets:
        reference = found.get((budget, "cnn"), {})
        for variant, (name, _, _) in PROBABILITIES.items():
            runs = found.get((budget, variant), {})
            if not runs:
                continue
            cells = []
            for key in ("ece", "brier", "log_loss"):
                values = np.array([m[key] for m in runs.values()])
                cells.append(f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}")
            seeds = sorted(set(runs) & set(reference))
            if variant != "cnn" and seeds:
                diff = np.array([runs[s]["ece"] - reference[s]["ece"] for s in seeds])
                p = wilcoxon(diff).pvalue if len(seeds) > 1 else float("nan")
                paired = f"{diff.mean():+.3f} ({int((diff < 0).sum())}/{len(seeds)} lower, p {p:.2f})"
            else:
                paired = "–"
            lines.append(f"| {budget:g} | {name} | {len(runs)} | " + " | ".join(cells) + f" | {paired} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
