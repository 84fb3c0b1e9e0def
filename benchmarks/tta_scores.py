"""Test-time views of the scores: does averaging each raw score over several views of an image
(shifts, a mirror, the eight symmetries of the square) rank anomalies better than one view?

Each trained run is scored again, no training: every raw score (flow, recon, posterior) is the
mean over the views of an image, the fused score is then formed as the package forms it
(standardised on the run's validation normals, which are the same under every view set). AUC on
validation with every validation anomaly label (val*, the development measure no run chooses
from) and on test, per view set and per score, seed by seed, with paired Δ against one view.

    python benchmarks/tta_scores.py \
        benchmarks/results/latent_channels_isic2018/runs/gmm-latent_channels=64-* \
        --out benchmarks/results/tta_scores_isic2018

About 1.5 (PneumoniaMNIST), 2 (ChestXRay2017) and 3.5 (ISIC 2018) seconds per view per run on 2
CPU cores (every view set: about 1, 1.5 and 2.5 minutes a run).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.stats import wilcoxon
from sklearn.metrics import roc_auc_score

from flowgmm_ae.data.transforms import translate
from flowgmm_ae.io import read_json, write_csv
from flowgmm_ae.methods import get_method
from flowgmm_ae.runs import load_model, load_run_dataset
from flowgmm_ae.scoring import ScoreCombiner

View = Callable[[torch.Tensor], torch.Tensor]


def shifted(dx: float, dy: float) -> View:
    """Content moved right by ``dx`` and down by ``dy`` pixels, edges repeated: the training
    augmentation's shift, fixed (every view set holds both signs, so the direction is moot)."""
    return lambda images: translate(
        images, torch.tensor([[-dx, -dy]], dtype=torch.float32).expand(len(images), 2)
    )


def symmetry(turns: int, mirror: bool) -> View:
    return lambda images: torch.rot90(images.flip(-1) if mirror else images, turns, dims=(-2, -1))


IDENTITY: View = lambda images: images  # noqa: E731
VIEW_SETS: dict[str, list[View]] = {
    "one": [IDENTITY],
    "shift1": [IDENTITY] + [shifted(dx, dy) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))],
    "shift2": [IDENTITY] + [shifted(dx, dy) for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2))],
    "shift2x8": [IDENTITY]
    + [shifted(dx, dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2) if (dx, dy) != (0, 0)],
    "mirror": [IDENTITY, symmetry(0, True)],
    "dihedral": [symmetry(k, m) for m in (False, True) for k in range(4)],
}
VIEW_SETS["dihedral_shift2"] = VIEW_SETS["dihedral"] + VIEW_SETS["shift2"][1:]
SCORES = ("posterior", "flow", "recon")  # the parts of the fused score, where a run has them


def view_scores(method, model, images: torch.Tensor, views: list[View]) -> dict[str, np.ndarray]:
    """Each raw score averaged over ``views`` of every image."""
    images = images if isinstance(images, torch.Tensor) else images.to_tensor()  # file data: ImageArray
    per_view = [method.raw_scores(model, view(images), "cpu") for view in views]
    return {name: np.mean([scores[name] for scores in per_view], axis=0) for name in per_view[0]}


def run_rows(run: Path, view_sets: list[str]) -> list[dict]:
    """One row per view set: val* and test AUC of every score of ``run`` (``main``: the run's own
    score, the fused one for flowgmm-ae)."""
    model, config = load_model(run, "model.safetensors")
    method = get_method(config.get("method", "aeflow"))
    data = load_run_dataset(config)  # every validation image: val* uses every anomaly label
    own = np.asarray(read_json(run / "splits.json")["validation"], dtype=np.int64)
    own_normals = own[data.val.labels[own] == 0]
    rows = []
    for name in view_sets:
        val = view_scores(method, model, data.val.images, VIEW_SETS[name])
        test = view_scores(method, model, data.test.images, VIEW_SETS[name])
        if {"flow", "recon"} <= set(val):
            combiner = ScoreCombiner.fit({k: v[own_normals] for k, v in val.items()})
            val, test = combiner.add_combined(val), combiner.add_combined(test)
        val["main"], test["main"] = val[config["score"]], test[config["score"]]
        row = {
            "run": run.name,
            "method": config["method"] if config["method"] != "aeflow" else f"aeflow-{config['prior']}",
            "dataset": config["dataset_used"],
            "seed": config["seed"],
            "views": name,
        }
        for score in ("main", *SCORES):
            if score in val:
                row[f"val_all_{score}"] = roc_auc_score(data.val.labels, val[score])
                row[f"test_{score}"] = roc_auc_score(data.test.labels, test[score])
        rows.append(row)
    return rows


def summary(rows: list[dict], view_sets: list[str]) -> str:
    """Markdown, per method and view set: mean ± sd of val* and test AUC of each score; for the
    main score, the paired Δ against one view (seeds ahead, Wilcoxon p)."""
    lines = []
    for method in dict.fromkeys(r["method"] for r in rows):
        ours = [r for r in rows if r["method"] == method]
        scores = [s for s in ("main", *SCORES) if f"test_{s}" in ours[0]]
        lines += [
            f"{method} ({len({r['seed'] for r in ours})} seeds)",
            "",
            "| views | "
            + " | ".join(f"val* {s} | test {s}" for s in scores)
            + " | Δ test main vs one (seeds ahead, p) |",
            "|---|" + "---|---|" * len(scores) + "---|",
        ]
        base = {r["seed"]: r["test_main"] for r in ours if r["views"] == "one"}
        for name in view_sets:
            chosen = [r for r in ours if r["views"] == name]
            cells = []
            for score in scores:
                for key in (f"val_all_{score}", f"test_{score}"):
                    values = np.array([r[key] for r in chosen])
                    sd = values.std(ddof=1) if len(values) > 1 else 0.0
                    cells.append(f"{values.mean():.3f} ± {sd:.3f}")
            if name == "one" or not base:
                delta = "–"
            else:
                diffs = np.array([r["test_main"] - base[r["seed"]] for r in chosen])
                p = wilcoxon(diffs).pvalue if len(diffs) > 1 and np.any(diffs) else float("nan")
                delta = f"{diffs.mean():+.4f} ({int((diffs > 0).sum())}/{len(diffs)}, p {p:.2f})"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {delta} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--views", default=",".join(VIEW_SETS), help="comma-separated view sets")
    args = parser.parse_args()
    view_sets = args.views.split(",")
    unknown = set(view_sets) - set(VIEW_SETS)
    if unknown:
        raise SystemExit(f"unknown view sets {sorted(unknown)}; choose from {list(VIEW_SETS)}")
    torch.set_num_threads(2)
    rows = []
    for run in sorted(args.runs):
        rows += run_rows(run, view_sets)
        print(run.name, "done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", rows, list(dict.fromkeys(k for r in rows for k in r)))
    table = summary(rows, view_sets)
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
