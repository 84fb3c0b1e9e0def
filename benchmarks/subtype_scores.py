"""Test AUC per anomaly subtype for every score a run recorded, mean ± std over run folders.

A diagnostic beside ``flowgmm-ae ablate``'s per-subtype table, which shows the reported score only:
here each of a model's scores (fused, posterior, flow, recon, ...) is read from the runs'
``scores.csv`` and ranked against every normal test image, one subtype at a time, plus ``unseen``
(every anomaly whose subtype no label came from; the labeled subtypes read from each run's
config.json). No run chooses anything from it.

    runs=benchmarks/results/unseen_subtypes_isic2018/runs
    python benchmarks/subtype_scores.py $runs/gmm-*/score_fused $runs/{ae,cnn,deepsad}-* \
        --unseen-besides MEL --out benchmarks/results/unseen_subtypes_isic2018/subtype_scores.md
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from flowgmm_ae.io import read_json

NOT_SCORES = {"index", "label", "file", "subtype"}


def run_aucs(run: Path, default_labeled: tuple[str, ...] = ()) -> tuple[str, dict[str, dict[str, float]]]:
    """The run's method and {score: {subtype or "unseen": AUC against every normal image}};
    ``default_labeled`` stands for the labeled subtypes of a run that drew its labels from none
    (an unsupervised reference), so that its ``unseen`` column covers the same images."""
    config = read_json(run / "config.json")
    with open(run / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(row["label"]) for row in rows])
    subtypes = np.array([row["subtype"] for row in rows])
    labeled = set(config.get("labeled_subtypes") or default_labeled)
    groups = {kind: subtypes == kind for kind in sorted(set(subtypes[labels == 1]))}
    if labeled:
        groups["unseen"] = (labels == 1) & ~np.isin(subtypes, sorted(labeled))
    normal = labels == 0
    aucs: dict[str, dict[str, float]] = {}
    for score in (name for name in rows[0] if name not in NOT_SCORES):
        values = np.array([float(row[score]) for row in rows])
        aucs[score] = {
            kind: float(roc_auc_score(labels[normal | mask], values[normal | mask]))
            for kind, mask in groups.items()
        }
    method = config["method"] if config["method"] != "aeflow" else f"flowgmm-ae ({config['prior']})"
    return method, aucs


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def table(runs: list[Path], default_labeled: tuple[str, ...] = ()) -> str:
    """Markdown: one row per method and score, one column per subtype (and unseen)."""
    collected: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        method, aucs = run_aucs(run, default_labeled)
        for score, per_kind in aucs.items():
            for kind, auc in per_kind.items():
                collected[(method, score)][kind].append(auc)
    kinds = sorted({kind for per in collected.values() for kind in per}, key=lambda k: (k != "unseen", k))
    lines = [
        "| method | score | runs | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
    ]
    for (method, score), per in collected.items():
        cells = [_mean_std(per[k]) if per.get(k) else "–" for k in kinds]
        lines.append(f"| {method} | {score} | {len(next(iter(per.values())))} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders holding config.json and scores.csv")
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument(
        "--unseen-besides",
        default="",
        metavar="SUBTYPES",
        help="comma-separated subtypes that count as seen for runs whose labels named none",
    )
    args = parser.parse_args()
    missing = [str(run) for run in args.runs if not (run / "scores.csv").is_file()]
    if missing:
        raise SystemExit(f"no scores.csv in: {', '.join(missing)}")
    text = table(args.runs, tuple(filter(None, args.unseen_besides.split(","))))
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
