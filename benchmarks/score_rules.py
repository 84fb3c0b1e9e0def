"""Which score should an AE-FLOW run report? Every candidate scored on the whole validation split
(every anomaly label: the development set on which package defaults are chosen, never a run's own
choice) and on test, for finished run folders; no training.

Candidates: the combined score at β = 0, 0.1, …, 1 (flow and recon standardised on validation
normals, as the package does), the mixture posterior where the prior has one, and ``tightest``: the
β whose combined score, restandardised on the validation normals, has the lowest 95th percentile
there (the fewest normal images far out in the tail). That rule needs no anomaly label. A run
without flow and recon scores (the ``ae`` baseline, say) gives its own score under every candidate's
name, so that ``tables.py paired FILE --reference method=ae,encoder_objective=joint --by candidate
--metric test_auc`` pairs each candidate with it seed by seed.

    python benchmarks/score_rules.py RUN_DIR [RUN_DIR ...] --out benchmarks/results/NAME.csv

Writes one row per run and candidate (the run's recorded options beside it), for
``benchmarks/tables.py`` to pair and summarise, e.g. the β whose validation AUC is best on each
data set: ``tables.py summary FILE --by dataset,candidate --metric val_auc_all,test_auc``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from flowgmm_ae.io import write_csv
from flowgmm_ae.methods import get_method
from flowgmm_ae.runs import load_model, load_run_dataset
from flowgmm_ae.scoring import ScoreCombiner

BETAS = np.round(np.linspace(0.0, 1.0, 11), 1)
RECORDED = ("dataset", "method", "prior", "encoder_objective", "labeled_frac", "seed", "norm", "epochs")


def candidate_scores(scores: dict[str, np.ndarray], combiner: ScoreCombiner) -> dict[str, np.ndarray]:
    """Every candidate score of one split, from its raw scores and the validation-fitted combiner."""
    out = {f"beta={b:g}": ScoreCombiner(**{**vars(combiner), "beta": float(b)})(scores) for b in BETAS}
    if "posterior" in scores:
        out["posterior"] = scores["posterior"]
    return out


def tightest_beta(normal_scores: dict[str, np.ndarray], combiner: ScoreCombiner) -> float:
    """The β with the lightest upper tail on validation normals (no anomaly label used)."""

    def tail(beta: float) -> float:
        combined = ScoreCombiner(**{**vars(combiner), "beta": float(beta)})(normal_scores)
        return float(np.quantile((combined - combined.mean()) / max(combined.std(), 1e-12), 0.95))

    return float(min(BETAS, key=tail))


def run_rows(run_dir: Path) -> list[dict]:
    model, config = load_model(run_dir)
    method = get_method(config["method"])
    data = load_run_dataset(config)  # the whole validation split, every label
    val = method.raw_scores(model, data.val.images, "cpu")
    test = method.raw_scores(model, data.test.images, "cpu")
    normal = data.val.labels == 0
    if {"flow", "recon"} <= set(val):
        combiner = ScoreCombiner.fit({k: v[normal] for k, v in val.items()})
        val_c, test_c = candidate_scores(val, combiner), candidate_scores(test, combiner)
        chosen = f"beta={tightest_beta({k: v[normal] for k, v in val.items()}, combiner):g}"
        val_c["tightest"], test_c["tightest"] = val_c[chosen], test_c[chosen]
    else:  # a reference such as the autoencoder: its own score under every candidate's name
        own = config["score"] if config["score"] in val else next(iter(val))
        names = [f"beta={b:g}" for b in BETAS] + ["tightest"]
        val_c, test_c = ({name: scores[own] for name in names} for scores in (val, test))
    recorded = {k: config.get(k, "") for k in RECORDED}
    return [
        {
            **recorded,
            "run": str(run_dir),
            "candidate": name,
            "val_auc_all": roc_auc_score(data.val.labels, val_c[name]),
            "test_auc": roc_auc_score(data.test.labels, test_c[name]),
        }
        for name in val_c
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [row for run in tqdm(args.runs, desc="runs") for row in run_rows(run)]
    write_csv(args.out, rows, fieldnames=list(rows[0]))
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
