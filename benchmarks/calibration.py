"""Are the probabilities calibrated? Test-set expected calibration error (10 bins), Brier score and
log loss of the methods that output a class probability, from finished runs (no training):
flowgmm-ae's mixture posterior p(anomaly | z') = sigmoid(posterior log-odds), the plain CNN's
sigmoid(logit) and the encoder-head classifier's probability. All three weigh the two classes
equally (mixture weights ½, ½; class-balanced cross-entropy), so a test prevalence other than ½
shifts them all alike. Each is also shown after temperature scaling: one scalar T (log-odds / T)
fitted on the run's own validation images and labels (val_scores.csv: every validation normal and
the budgeted validation anomalies), minimising their log loss.

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
from flowgmm_ae.methods import get_method  # noqa: E402
from flowgmm_ae.metrics import calibration_bins, fit_temperature, log_loss, sigmoid  # noqa: E402

# variant → name in tables; each method's own log_odds() turns its scores into class log-odds
NAMES = {
    "gmm": "flowgmm-ae (posterior)",
    "cnn": "plain CNN (sigmoid of logit)",
    "supervised": "encoder-head classifier",
}
METHOD_OF = {"gmm": "aeflow", "cnn": "cnn", "supervised": "supervised"}
CELL = re.compile(r"^(?P<variant>[a-z]+)-f(?P<budget>[\d.]+)-s(?P<seed>\d+)$")


def measures(labels: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return {
        "ece": calibration_bins(labels, p)["ece"],
        "brier": float(np.mean((p - labels) ** 2)),
        "log_loss": log_loss(labels, p),
    }


def _mean_std(runs: dict[int, dict[str, float]], key: str) -> str:
    values = np.array([m[key] for m in runs.values()])
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"


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
            if not match or match["variant"] not in NAMES or not (run / "scores.csv").is_file():
                continue
            to_log_odds = get_method(METHOD_OF[match["variant"]]).log_odds
            test, val = read_score_table(run / "scores.csv"), read_score_table(run / "val_scores.csv")
            log_odds = to_log_odds(test.scores)
            temperature = fit_temperature(val.labels, to_log_odds(val.scores))
            raw = measures(test.labels, sigmoid(log_odds))
            scaled = measures(test.labels, sigmoid(log_odds / temperature))
            found[(float(match["budget"]), match["variant"])][int(match["seed"])] = {
                **raw,
                **{f"{k}_scaled": v for k, v in scaled.items()},
                "temperature": temperature,
            }
    lines = [
        "# Calibration of the class probabilities on the test split",
        "",
        f"`python benchmarks/calibration.py {' '.join(str(r) for r in args.runs)} --budgets {args.budgets}`",
        "",
        "| labels | method | seeds | ECE (10 bins) | Brier | log loss | ECE Δ vs CNN (won, p) "
        "| T (fitted on val) | ECE after T | log loss after T |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for budget in budgets:
        reference = found.get((budget, "cnn"), {})
        for variant, name in NAMES.items():
            runs = found.get((budget, variant), {})
            if not runs:
                continue

            cells = [_mean_std(runs, key) for key in ("ece", "brier", "log_loss")]
            seeds = sorted(set(runs) & set(reference))
            if variant != "cnn" and seeds:
                diff = np.array([runs[s]["ece"] - reference[s]["ece"] for s in seeds])
                p = wilcoxon(diff).pvalue if len(seeds) > 1 else float("nan")
                paired = f"{diff.mean():+.3f} ({int((diff < 0).sum())}/{len(seeds)} lower, p {p:.2f})"
            else:
                paired = "–"
            after = [_mean_std(runs, key) for key in ("temperature", "ece_scaled", "log_loss_scaled")]
            lines.append(
                f"| {budget:g} | {name} | {len(runs)} | "
                + " | ".join(cells)
                + f" | {paired} | "
                + " | ".join(after)
                + " |"
            )
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
