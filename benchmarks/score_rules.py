"""Which score should an AE-FLOW run report? Every candidate scored on the whole validation split
(every anomaly label: the development set on which package defaults are chosen, never a run's own
choice) and on test, for finished run folders; no training.

Candidates: the combined score at β = 0, 0.1, …, 1 (flow and recon standardised on validation
normals, as the package does), the mixture posterior where the prior has one, and ``tightest``: the
β whose combined score, restandardised on the validation normals, has the lowest 95th percentile
there (the fewest normal images far out in the tail). That rule needs no anomaly label. Where the
prior is a mixture, fusions of the posterior with the other scores at the weightings of
``FUSION_WEIGHTS`` (``posterior+recon``, ``posterior+½flow+recon``, ...: sums of the scores, each
standardised on the validation normals, fixed weights that need no label; ``posterior+½flow+recon``
is the package's ``fused`` score, ``posterior+flow+recon`` its former equal-weight form).
``--tta K`` adds each candidate again as ``tta K:NAME``, every raw score averaged over K augmented
views of each image (the training augmentation, seeded). A run
without flow and recon scores (the ``ae`` baseline, say) gives its own score under every candidate's
name, so that ``tables.py paired FILE --reference method=ae,encoder_objective=joint --by candidate
--metric test_auc`` pairs each candidate with it seed by seed.

    python benchmarks/score_rules.py RUN_DIR [RUN_DIR ...] --out benchmarks/results/NAME.csv [--tta 8]

Writes one row per run and candidate (the run's recorded options beside it), for
``benchmarks/tables.py`` to pair and summarise, e.g. the β whose validation AUC is best on each
data set: ``tables.py summary FILE --by dataset,candidate --metric val_auc_all,test_auc``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from flowgmm_ae.data.transforms import augment
from flowgmm_ae.io import write_csv
from flowgmm_ae.methods import get_method
from flowgmm_ae.runs import load_model, load_run_dataset
from flowgmm_ae.scoring import FUSED_FLOW_WEIGHT, ScoreCombiner

BETAS = np.round(np.linspace(0.0, 1.0, 11), 1)
RECORDED = (
    "dataset", "method", "prior", "encoder_objective", "labeled_frac", "seed", "norm", "epochs",
    "contamination", "consistency_weight", "labeled_subtypes", "freeze_scales",
)  # fmt: skip


def candidate_scores(scores: dict[str, np.ndarray], combiner: ScoreCombiner) -> dict[str, np.ndarray]:
    """Every candidate score of one split, from its raw scores and the validation-fitted combiner."""
    out = {f"beta={b:g}": ScoreCombiner(**{**vars(combiner), "beta": float(b)})(scores) for b in BETAS}
    if "posterior" in scores:
        out["posterior"] = scores["posterior"]
    return out


FUSION_WEIGHTS = (  # (posterior, flow, recon); every weighting docs/results.md compares
    (1.0, 0.0, 1.0), (1.0, 1.0, 1.0), (1.0, FUSED_FLOW_WEIGHT, 1.0), (1.0, 1.0, 1.5), (1.0, 1.0, 2.0),
    (1.0, 0.5, 1.5), (1.0, 0.5, 2.0), (1.0, 0.0, 2.0),
)  # fmt: skip


def fusion_name(flow: float, recon: float) -> str:
    """``posterior+½flow+recon`` for (1, 0.5, 1): the posterior's weight is always 1."""

    def term(weight: float, name: str) -> str:
        return "" if weight == 0 else "+" + {1.0: "", 0.5: "½"}.get(weight, f"{weight:g}") + name

    return "posterior" + term(flow, "flow") + term(recon, "recon")


def fusions(scores: dict[str, np.ndarray], combiner: ScoreCombiner) -> dict[str, np.ndarray]:
    """The posterior summed with the other scores, each standardised on the validation normals by
    ``combiner``, at every weighting of ``FUSION_WEIGHTS`` (fixed weights: no label used).
    The weighting with ``FUSED_FLOW_WEIGHT`` (``posterior+½flow+recon``) is the package's ``fused``
    score."""
    z = combiner.standardised(scores)
    if "posterior" not in z:
        return {}
    return {
        fusion_name(flow, recon): posterior * z["posterior"] + flow * z["flow"] + recon * z["recon"]
        for posterior, flow, recon in FUSION_WEIGHTS
    }


def augmented_scores(method, model, images: torch.Tensor, views: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Every raw score averaged over ``views`` augmented copies of each image (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    images = images if isinstance(images, torch.Tensor) else images.to_tensor()
    total: dict[str, np.ndarray] = {}
    for _ in range(views):
        view = method.raw_scores(model, augment(images, generator), "cpu")
        total = {k: total.get(k, 0.0) + v for k, v in view.items()}
    return {k: v / views for k, v in total.items()}


def split_candidates(
    val: dict[str, np.ndarray], test: dict[str, np.ndarray], normal: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every candidate of the validation and the test split, standardised on validation normals."""
    normal_scores = {k: v[normal] for k, v in val.items()}
    combiner = ScoreCombiner.fit(normal_scores)
    val_c, test_c = candidate_scores(val, combiner), candidate_scores(test, combiner)
    chosen = f"beta={tightest_beta(normal_scores, combiner):g}"
    val_c["tightest"], test_c["tightest"] = val_c[chosen], test_c[chosen]
    val_c.update(fusions(val, combiner))
    test_c.update(fusions(test, combiner))
    return val_c, test_c


def tightest_beta(normal_scores: dict[str, np.ndarray], combiner: ScoreCombiner) -> float:
    """The β with the lightest upper tail on validation normals (no anomaly label used)."""

    def tail(beta: float) -> float:
        combined = ScoreCombiner(**{**vars(combiner), "beta": float(beta)})(normal_scores)
        return float(np.quantile((combined - combined.mean()) / max(combined.std(), 1e-12), 0.95))

    return float(min(BETAS, key=tail))


def run_rows(run_dir: Path, tta: int = 0) -> list[dict]:
    model, config = load_model(run_dir)
    method = get_method(config["method"])
    data = load_run_dataset(config)  # the whole validation split, every label
    val = method.raw_scores(model, data.val.images, "cpu")
    test = method.raw_scores(model, data.test.images, "cpu")
    normal = data.val.labels == 0
    if {"flow", "recon"} <= set(val):
        val_c, test_c = split_candidates(val, test, normal)
        if tta:
            val_t, test_t = split_candidates(
                augmented_scores(method, model, data.val.images, tta, seed=1),
                augmented_scores(method, model, data.test.images, tta, seed=2),
                normal,
            )
            val_c.update({f"tta{tta}:{k}": v for k, v in val_t.items()})
            test_c.update({f"tta{tta}:{k}": v for k, v in test_t.items()})
    else:  # a reference such as the autoencoder: its own score under every candidate's name
        own = config["score"] if config["score"] in val else next(iter(val))
        names = [f"beta={b:g}" for b in BETAS] + ["tightest"]
        val_c, test_c = ({name: scores[own] for name in names} for scores in (val, test))
    recorded = {k: config.get(k, "") for k in RECORDED}
    recorded["labeled_subtypes"] = "+".join(recorded["labeled_subtypes"] or [])
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
    parser.add_argument("--tta", type=int, default=0, metavar="K", help="also every candidate over K views")
    args = parser.parse_args()
    rows = [row for run in tqdm(args.runs, desc="runs") for row in run_rows(run, args.tta)]
    write_csv(args.out, rows, fieldnames=list(rows[0]))
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()
