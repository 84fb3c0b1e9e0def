"""Which score should be the default? The candidates of ``score_rules.py`` compared across settings
on validation with every label (the development figure), test beside it for the record.

A setting is one data set at one label budget (and labeled subtypes); seeds are averaged inside it.
For each candidate: the mean validation AUC over settings; the mean over data sets of the
per-data-set validation AUC (its settings averaged) and the rank that gives on each data set; the
worst validation deficit to the run's best single score (posterior, flow = ``beta=1``, recon =
``beta=0``) over settings; and the smallest change against ``--reference`` over data sets, which
is not negative only for a candidate at least level with the reference on every data set.

    python benchmarks/score_choice.py benchmarks/results/{fused_score,one_percent}_*/score_rules.csv \
        benchmarks/results/unseen_subtypes_isic2018/score_rules.csv --reference posterior+flow+recon
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

SINGLE = ("posterior", "beta=1", "beta=0")  # the posterior, the flow and the recon score alone
SETTING = ("dataset", "labeled_frac", "labeled_subtypes")


def read_rows(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        with open(path, newline="") as handle:
            rows += [row for row in csv.DictReader(handle) if row["prior"] == "gmm"]
    return rows


def choice_table(rows: list[dict], reference: str) -> str:
    """Markdown: one row per candidate, sorted by the mean over data sets of validation AUC."""
    per: dict[tuple, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        setting = tuple(row.get(k, "") for k in SETTING)
        per[setting][row["candidate"]].append((float(row["val_auc_all"]), float(row["test_auc"])))
    candidates = sorted(set.intersection(*(set(c) for c in per.values())))
    val = {(s, c): np.mean([v for v, _ in per[s][c]]) for s in per for c in candidates}
    test = {(s, c): np.mean([t for _, t in per[s][c]]) for s in per for c in candidates}
    datasets = sorted({s[0] for s in per})
    by_data = {(d, c): np.mean([val[(s, c)] for s in per if s[0] == d]) for d in datasets for c in candidates}
    ranks: dict[str, list[int]] = defaultdict(list)
    for d in datasets:
        for rank, c in enumerate(sorted(candidates, key=lambda c: -by_data[(d, c)]), start=1):
            ranks[c].append(rank)
    deficit = {c: max(max(val[(s, one)] for one in SINGLE) - val[(s, c)] for s in per) for c in candidates}
    versus = {c: min(by_data[(d, c)] - by_data[(d, reference)] for d in datasets) for c in candidates}
    settings = sorted(per)
    header = (
        "| candidate | mean val* over data sets | mean rank over data sets "
        f"| worst val* deficit to its best part | worst Δ val* vs {reference} over data sets "
        "| mean val* over settings | "
        + " | ".join("/".join(filter(None, s)) + " val* / test" for s in settings)
        + " |"
    )
    lines = [header, "|---" * (6 + len(settings)) + "|"]
    for c in sorted(candidates, key=lambda c: -np.mean([by_data[(d, c)] for d in datasets])):
        cells = [
            f"{np.mean([by_data[(d, c)] for d in datasets]):.4f}",
            f"{np.mean(ranks[c]):.2f}",
            f"{deficit[c]:.4f}",
            f"{versus[c]:+.4f}",
            f"{np.mean([val[(s, c)] for s in settings]):.4f}",
            *(f"{val[(s, c)]:.4f} / {test[(s, c)]:.3f}" for s in settings),
        ]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("score_rules", nargs="+", type=Path, help="score_rules.py outputs (CSV)")
    parser.add_argument("--reference", default="posterior+flow+recon", help="the candidate to beat")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    text = choice_table(read_rows(args.score_rules), args.reference)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
