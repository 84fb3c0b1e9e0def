"""Robustness tables from an ``ablate`` folder: anomaly types no label covered, and unlabeled
pools that hold anomalies. Every method is paired with the plain CNN seed by seed (same labeled
subset, same hidden anomalies).

    python benchmarks/robustness_tables.py subtypes benchmarks/results/unseen_subtypes_chestxray2017
    python benchmarks/robustness_tables.py contamination benchmarks/results/contamination_pneumoniamnist

``subtypes``: for each labeled-subtype setting, test AUC of the seen and the unseen subtypes' images
against every normal image (the run's own score), the paired unseen-AUC difference to the CNN, and,
as a diagnostic that chose nothing, flowgmm-ae's unseen AUC under each of its other scores (read
from scores.csv). ``contamination``: test AUC at each contamination, and each method's paired fall
from its own clean-pool AUC, against the CNN's fall; ``--also NAME=FOLDER`` adds flowgmm-ae rows
from other folders (other --pool objectives):

    python benchmarks/robustness_tables.py contamination benchmarks/results/contamination_pneumoniamnist \\
        --also "flowgmm-ae, marginal pool"=benchmarks/results/contamination_pneumoniamnist_marginal

Writes ``robustness_<kind>.md`` into the folder.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flowgmm_ae.evaluation import read_score_table  # noqa: E402
from flowgmm_ae.metrics import ranking_metrics  # noqa: E402

NAMES = {"gmm": "flowgmm-ae", "gaussian": "ae-flow"}
CELL = re.compile(
    r"^(?P<variant>[a-z]+)(?:-only-(?P<only>[\w+]+))?(?:-c(?P<c>[\d.]+))?-f(?P<f>[\d.]+)-s(?P<seed>\d+)$"
)
REFERENCE = "cnn"


def _cells(folder: Path) -> list[dict]:
    cells = []
    for run in sorted((folder / "runs").iterdir()):
        match = CELL.match(run.name)
        if match and (run / "metrics.json").is_file():
            cell = match.groupdict()
            cell.update(
                run=run,
                seed=int(cell["seed"]),
                c=float(cell["c"] or 0),
                metrics=json.loads((run / "metrics.json").read_text()),
            )
            cells.append(cell)
    return cells


def _mean_std(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    return f"{array.mean():.3f} ± {array.std(ddof=1) if array.size > 1 else 0.0:.3f}"


def _paired(values: dict[int, float], reference: dict[int, float]) -> str:
    """Mean paired difference, seeds won and the Wilcoxon p over the seeds both have."""
    seeds = sorted(set(values) & set(reference))
    if not seeds:
        return "–"
    diff = np.array([values[s] - reference[s] for s in seeds])
    p = wilcoxon(diff).pvalue if len(seeds) > 1 and np.any(diff != 0) else float("nan")
    return f"{diff.mean():+.3f} ({int((diff > 0).sum())}/{len(seeds)}, p {p:.2f})"


def _unseen_auc(run: Path, score: str, unseen: set[str]) -> float:
    table = read_score_table(run / "scores.csv")
    keep = (table.labels == 0) | np.isin(np.asarray(table.subtypes), list(unseen))
    return ranking_metrics(table.labels[keep], table.scores[score][keep])["auc"]


def subtypes_table(folder: Path) -> str:
    by_setting: dict[str, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for cell in _cells(folder):
        if cell["only"]:
            by_setting[cell["only"]][cell["variant"]][cell["seed"]] = cell
    lines = [f"# Anomaly types no label covered ({folder})", ""]
    for setting, variants in sorted(by_setting.items()):
        lines += [
            f"## Labels from {setting} only",
            "",
            f"| method | seeds | seen AUC | unseen AUC | unseen Δ vs {REFERENCE} (won, p) | all-test AUC |",
            "|---|---|---|---|---|---|",
        ]
        unseen = {
            v: {s: c["metrics"]["subtypes"]["unseen"]["auc"] for s, c in runs.items()}
            for v, runs in variants.items()
        }
        for variant, runs in sorted(variants.items(), key=lambda item: item[0] != "gmm"):
            seen = [c["metrics"]["subtypes"]["seen"]["auc"] for c in runs.values()]
            test = [c["metrics"]["test"]["auc"] for c in runs.values()]
            delta = _paired(unseen[variant], unseen.get(REFERENCE, {})) if variant != REFERENCE else ""
            score = next(iter(runs.values()))["metrics"]["score"]
            unseen_text = _mean_std(list(unseen[variant].values()))
            lines.append(
                f"| {NAMES.get(variant, variant)} ({score}) | {len(runs)} | {_mean_std(seen)} "
                f"| {unseen_text} | {delta} | {_mean_std(test)} |"
            )
        if "gmm" in variants:
            first = next(iter(variants["gmm"].values()))
            kinds = first["metrics"]["subtypes"]
            names = {k for k, v in kinds.items() if isinstance(v, dict) and v.get("seen") is False}
            lines += [
                "",
                "flowgmm-ae's unseen AUC under each of its scores (diagnostic: no run chose by it):",
                "",
            ]
            scores = list(read_score_table(first["run"] / "scores.csv").scores)
            for score in scores:
                values = {s: _unseen_auc(c["run"], score, names) for s, c in variants["gmm"].items()}
                lines.append(
                    f"- {score}: {_mean_std(list(values.values()))}; vs {REFERENCE} "
                    f"{_paired(values, unseen.get(REFERENCE, {}))}"
                )
        lines.append("")
    return "\n".join(lines)


def contamination_table(folder: Path, budget: float = 0.05, also: dict[str, Path] | None = None) -> str:
    """``also`` adds flowgmm-ae's cells of other folders (say, other --pool objectives) as rows
    named by its keys, paired seed by seed with this folder's CNN cells."""
    auc: dict[str, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    sources = [(folder, None), *((path, name) for name, path in (also or {}).items())]
    for source, name in sources:
        for cell in _cells(source):
            if float(cell["f"]) != budget or (name and cell["variant"] != "gmm"):
                continue
            auc[name or cell["variant"]][cell["c"]][cell["seed"]] = cell["metrics"]["test"]["auc"]
    levels = sorted({c for per in auc.values() for c in per})
    dirty_levels = [c for c in levels if c > 0]
    header = " | ".join(f"test AUC, c = {c:g}" for c in levels)
    falls = " | ".join(f"fall at c = {c:g} (paired)" for c in dirty_levels)
    lines = [
        f"# Unlabeled pools that hold anomalies ({folder})",
        "",
        f"| method | {header} | {falls} | fall / {REFERENCE}'s fall at c = {levels[-1]:g} |",
        "|---|" + "---|" * (len(levels) + len(dirty_levels) + 1),
    ]

    def clean_auc(variant: str) -> dict[int, float]:
        """A variant's clean-pool AUC; an ``also`` row without clean cells falls from flowgmm-ae's
        (on a clean pool the pool objectives are one objective, unless an ε is assumed)."""
        if auc[variant].get(0.0) or variant not in (also or {}):
            return auc[variant].get(0.0, {})
        return auc["gmm"].get(0.0, {})

    def fall(variant: str, level: float) -> dict[int, float]:
        clean, dirty = clean_auc(variant), auc[variant].get(level, {})
        return {s: clean[s] - dirty[s] for s in set(clean) & set(dirty)}

    order = sorted(auc, key=lambda v: (v != "gmm", v not in (also or {}), v))
    reference_fall = fall(REFERENCE, levels[-1]) if REFERENCE in auc else {}
    for variant in order:
        cells = [_mean_std(list(auc[variant][c].values())) if auc[variant].get(c) else "–" for c in levels]
        if not auc[variant].get(0.0) and clean_auc(variant):
            cells[0] = "(flowgmm-ae's)"
        drops = [fall(variant, c) for c in dirty_levels]
        last = drops[-1] if drops else {}
        ratio = (
            f"{np.mean(list(last.values())) / np.mean(list(reference_fall.values())):.2f}"
            if last and reference_fall and np.mean(list(reference_fall.values())) != 0
            else "–"
        )
        fall_texts = [_mean_std(list(d.values())) if d else "–" for d in drops]
        row = [NAMES.get(variant, variant), *cells, *fall_texts, ratio]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"Paired against {REFERENCE} at each contamination (Δ test AUC, seeds won, Wilcoxon p):",
        "",
    ]
    for c in levels:
        parts = [
            f"{NAMES.get(v, v)} {_paired(auc[v][c], auc[REFERENCE].get(c, {}))}"
            for v in order
            if v != REFERENCE and auc[v].get(c)
        ]
        lines.append(f"- c = {c:g}: " + "; ".join(parts))
    if also:
        lines += ["", "The other pool objectives paired against flowgmm-ae's default (trim):", ""]
        for c in dirty_levels:
            parts = [
                f"{name} {_paired(auc[name][c], auc['gmm'].get(c, {}))}" for name in also if auc[name].get(c)
            ]
            if parts:
                lines.append(f"- c = {c:g}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["subtypes", "contamination"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--budget", type=float, default=0.05, help="Label budget (contamination).")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="contamination: add flowgmm-ae's cells of FOLDER as the row NAME (repeatable).",
    )
    args = parser.parse_args()
    also = {}
    for item in args.also:
        name, _, path = item.rpartition("=")  # a name may hold "=", a path rarely
        if not path:
            parser.error(f"--also {item!r} is not NAME=FOLDER")
        also[name] = Path(path)
    if args.kind == "subtypes":
        text = subtypes_table(args.folder)
    else:
        text = contamination_table(args.folder, args.budget, also)
    (args.folder / f"robustness_{args.kind}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
