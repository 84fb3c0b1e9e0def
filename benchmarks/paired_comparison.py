"""Paired comparison over seeds: each method's test AUC against a reference method's, cell by cell.

Runs trained with the same data set, label budget and seed share their labeled subset, so a seed
pairs two methods exactly. For every budget this prints mean ± std test AUC, validation AUC with
every validation label (a diagnostic), minutes per run, and for each method against the reference:
the mean paired difference, seeds won, a two-sided Wilcoxon signed-rank p (scipy; with five seeds
its smallest possible value is 0.0625, so it can never fall below 0.05) and a 95 % paired bootstrap
interval of the mean difference over seeds.

    python benchmarks/paired_comparison.py --reference "cnn=RUNS/cnn" \
        --method "flowgmm-ae=RUNS/gmm" --method "flowgmm-ae, BatchNorm=OTHER_RUNS/gmm" \
        --budgets 0.01,0.05 [--rule last] [--title TEXT] [--out FILE]

Each ``LABEL=PREFIX[,PREFIX...][@SCORE]`` names run folders ``PREFIX-f{budget}-s{seed}`` (the names
``ablate`` gives; several prefixes pool seeds from several grids), and optionally another score the
runs stored (e.g. ``@posterior``);
the test AUC is the kept checkpoint's (the last epoch under the default ``--select last``), or with
``--rule last`` the last epoch's from the run's ``selection`` record (for runs trained under
``--select best``).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon


def _runs(prefixes: list[Path], budget: float) -> dict[int, dict]:
    """Seed → metrics.json of the finished runs ``PREFIX-f{budget}-s{seed}``."""
    found = {}
    for prefix, run in ((p, r) for p in prefixes if p.parent.is_dir() for r in p.parent.iterdir()):
        pattern = re.compile(rf"^{re.escape(prefix.name)}-f{budget:g}-s(\d+)$")
        match = pattern.match(run.name)
        if match and (run / "metrics.json").is_file():
            metrics = json.loads((run / "metrics.json").read_text())
            extra = run / "val_all_labels.json"  # written by benchmarks/val_all_labels.py
            metrics["val_all_labels_file"] = json.loads(extra.read_text()) if extra.is_file() else {}
            metrics["val_nll_bpd"] = _last_val_nll(run / "train_log.csv")
            found[int(match.group(1))] = metrics
    return found


def _last_val_nll(train_log: Path) -> float:
    """The last epoch's flow NLL (bits/dim) of the validation normals, when the method has a flow."""
    with open(train_log, newline="") as handle:
        rows = list(csv.DictReader(handle))
    value = rows[-1].get("val_nll_bpd", "") if rows else ""
    return float(value) if value not in ("", None) else float("nan")


def _mean_std(values: np.ndarray) -> str:
    std = values.std(ddof=1) if values.size > 1 else 0.0
    return f"{values.mean():.3f} ± {std:.3f}"


def paired_bootstrap(diff: np.ndarray, n_resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``diff`` over seeds resampled with replacement."""
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(n_resamples, diff.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _last(metrics: dict) -> dict:
    return metrics.get("selection", {}).get("last", {})


def _aucs(metrics: dict, rule: str, score: str | None) -> tuple[float, float, float]:
    """(validation AUC on the run's own labels, validation AUC with every label, test AUC) of the
    kept checkpoint, or of the last epoch (``rule="last"``, for runs trained under ``--select
    best``). ``score`` reads another score the run stored (kept checkpoint only); its AUC with every
    validation label comes from the run's record or from benchmarks/val_all_labels.py."""
    last = _last(metrics)
    if score is not None:
        if rule == "last" and metrics["training"].get("selected_epoch") != metrics["training"]["epochs"]:
            raise SystemExit(f"--rule last with @{score}: this run kept an earlier epoch")
        per_score = metrics["scores"][score]
        by_score = last.get("val_auc_all_labels_by_score") or metrics["val_all_labels_file"]
        val_all = float(by_score.get(score, float("nan")))
        return float(per_score["val"]["auc"]), val_all, float(per_score["test"]["auc"])
    val_all = float(last.get("val_auc_all_labels", float("nan")))
    if rule == "last":
        return float(last.get("val_auc", float("nan"))), val_all, float(last["test_auc"])
    return float(metrics["val"]["auc"]), val_all, float(metrics["test"]["auc"])


def table(
    methods: dict[str, tuple[list[Path], str | None]],
    reference: str,
    budgets: list[float],
    title: str,
    rule: str = "kept",
) -> str:
    lines = [f"# {title}", ""]
    checkpoint = "the last epoch" if rule == "last" else "the kept checkpoint"
    lines.append(
        f"Test AUC at {checkpoint}; Δ = method − reference on the same seed (same labeled subset). "
        "Wilcoxon: two-sided signed-rank p over seeds (≥ 0.0625 with five seeds). Bootstrap: 95 % "
        "interval of the mean Δ over resampled seeds. Val AUC: the run's own validation labels (what "
        "selection may use); val AUC*: every validation label, a diagnostic. Val NLL: the flow's "
        "negative log-likelihood of the validation normals at the last epoch, in bits/dim (lower is "
        "better). Minutes: median "
        "training time per run."
    )
    for budget in budgets:
        runs = {label: _runs(prefix, budget) for label, (prefix, _) in methods.items()}
        lines += ["", f"## {budget:g} of the training anomalies labeled", ""]
        lines += [
            "| method | seeds | labels (train + val) | test AUC | val AUC | val AUC* | val NLL | minutes "
            f"| Δ vs {reference} | won | Wilcoxon p | bootstrap 95 % |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        reference_runs, reference_score = runs[reference], methods[reference][1]
        for label, found in runs.items():
            if not found:
                lines.append(f"| {label} | 0 |" + " – |" * 10)
                continue
            seeds = sorted(found)
            score = methods[label][1]
            val, val_all, auc = np.array([_aucs(found[s], rule, score) for s in seeds]).T
            minutes = np.median([found[s]["training"]["seconds"] for s in seeds]) / 60
            nll = np.array([found[s]["val_nll_bpd"] for s in seeds])
            labels = found[seeds[0]].get("labels", {})
            cells = [
                label,
                str(len(seeds)),
                f"{labels.get('train', '?')} + {labels.get('validation', '?')}",
                _mean_std(auc),
                _mean_std(val) if np.isfinite(val).all() else "–",
                _mean_std(val_all) if np.isfinite(val_all).all() else "–",
                _mean_std(nll) if np.isfinite(nll).all() else "–",
                f"{minutes:.1f}",
            ]
            shared = [s for s in seeds if s in reference_runs]
            if label == reference or len(shared) < 2:
                cells += ["–"] * 4
            else:
                diff = np.array(
                    [
                        _aucs(found[s], rule, score)[2] - _aucs(reference_runs[s], rule, reference_score)[2]
                        for s in shared
                    ]
                )
                p = wilcoxon(diff).pvalue if np.any(diff != 0) else 1.0
                low, high = paired_bootstrap(diff)
                cells += [
                    f"{diff.mean():+.3f} ± {diff.std(ddof=1):.3f}",
                    f"{int((diff > 0).sum())}/{diff.size}",
                    f"{p:.3f}",
                    f"[{low:+.3f}, {high:+.3f}]",
                ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _label_prefix(text: str) -> tuple[str, tuple[list[Path], str | None]]:
    label, sep, prefix = text.partition("=")
    prefix, _, score = prefix.partition("@")
    if not sep or not label or not prefix:
        raise argparse.ArgumentTypeError(f"{text!r} is not LABEL=RUNS_DIR/VARIANT[@SCORE]")
    return label, ([Path(p) for p in prefix.split(",")], score or None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=_label_prefix, required=True)
    parser.add_argument("--method", type=_label_prefix, action="append", default=[])
    parser.add_argument("--budgets", default="0.01,0.05")
    parser.add_argument("--title", default="Paired comparison over seeds")
    parser.add_argument("--rule", choices=("kept", "last"), default="kept")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    reference_label, reference_variant = args.reference
    methods = {reference_label: reference_variant, **dict(args.method)}
    budgets = [float(b) for b in args.budgets.split(",") if b.strip()]
    text = table(methods, reference_label, budgets, args.title, args.rule)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
