"""Nearest neighbours in the learned features: does a non-parametric score add to the fused one?

The posterior models each class with one Gaussian in the flow's latent; a k-nearest-neighbour
score makes no such assumption. Each trained run is scored again, no training: for every
validation and test image, the mean distance to its k nearest training images of the unlabeled
pool (``near_normal``, label-free) and that distance minus the mean distance to its k nearest
labeled anomalies (``contrast``, which uses the run's own labels and no other), in the encoder's
features z or the flow's output z'. Each is reported alone and added to the fused score after
standardising on the run's validation normals, as the fused score standardises its parts. AUC on
validation with every validation anomaly label (val*, the development measure no run chooses
from) and on test, seed by seed, with paired Δ against the fused score.

    python benchmarks/knn_scores.py \
        benchmarks/results/latent_channels_*/runs/gmm-latent_channels=64-* \
        --out benchmarks/results/knn_scores

About 8 seconds a run on 2 CPU cores (3,000 pool images at most, drawn with a fixed seed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.stats import wilcoxon
from sklearn.metrics import roc_auc_score

from flowgmm_ae.io import read_json, write_csv
from flowgmm_ae.methods import get_method
from flowgmm_ae.runs import load_model, load_run_dataset
from flowgmm_ae.scoring import ScoreCombiner

NEIGHBOURS = (1, 5, 10)
SPACES = ("z", "z_prime")
MAX_POOL = 3000


def as_tensor(images) -> torch.Tensor:
    return images if isinstance(images, torch.Tensor) else images.to_tensor()  # file data: ImageArray


@torch.no_grad()
def features(model, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The encoder's features z and the flow's output z' of every image, flattened, in eval mode."""
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {space: [] for space in SPACES}
    for start in range(0, len(images), batch_size):
        out = model(images[start : start + batch_size])
        parts["z"].append(out.z.flatten(1).float())
        parts["z_prime"].append(out.z_prime.flatten(1).float())
    return {space: torch.cat(values) for space, values in parts.items()}


def mean_knn_distance(queries: torch.Tensor, reference: torch.Tensor, k: int) -> np.ndarray:
    distances = torch.cdist(queries, reference)
    return distances.topk(min(k, len(reference)), largest=False).values.mean(1).double().numpy()


def run_row(run: Path) -> dict:
    """val* and test AUC of the fused score, its parts, every kNN score and fused + each."""
    model, config = load_model(run, "model.safetensors")
    method = get_method(config.get("method", "aeflow"))
    data = load_run_dataset(config)  # every validation image: val* uses every anomaly label
    splits = read_json(run / "splits.json")
    own = np.asarray(splits["validation"], dtype=np.int64)
    own_normals = own[data.val.labels[own] == 0]
    pool = np.asarray(splits["unlabeled"], dtype=np.int64)
    if len(pool) > MAX_POOL:
        pool = np.random.default_rng(0).choice(pool, MAX_POOL, replace=False)
    train = as_tensor(data.train.images)
    near_pool = features(model, train[torch.as_tensor(pool)])
    near_labeled = features(model, train[torch.as_tensor(np.asarray(splits["labeled"], dtype=np.int64))])
    scores = {}
    for name, split in (("val", data.val), ("test", data.test)):
        images = as_tensor(split.images)
        raw = method.raw_scores(model, images, "cpu")
        feats = features(model, images)
        for space in SPACES:
            for k in NEIGHBOURS:
                to_pool = mean_knn_distance(feats[space], near_pool[space], k)
                raw[f"near_normal{k}[{space}]"] = to_pool
                to_labeled = mean_knn_distance(feats[space], near_labeled[space], k)
                raw[f"contrast{k}[{space}]"] = to_pool - to_labeled
        scores[name] = raw
    combiner = ScoreCombiner.fit({k: v[own_normals] for k, v in scores["val"].items()})
    scores = {name: combiner.add_combined(values) for name, values in scores.items()}
    for key in [k for k in scores["val"] if k.startswith(("near_normal", "contrast"))]:
        mean, sd = scores["val"][key][own_normals].mean(), max(scores["val"][key][own_normals].std(), 1e-8)
        for values in scores.values():
            values[f"fused+{key}"] = values["fused"] + (values[key] - mean) / sd
    row = {"run": run.name, "dataset": config["dataset_used"], "seed": config["seed"]}
    for key in scores["val"]:
        row[f"val_all:{key}"] = roc_auc_score(data.val.labels, scores["val"][key])
        row[f"test:{key}"] = roc_auc_score(data.test.labels, scores["test"][key])
    return row


def summary(rows: list[dict]) -> str:
    """Markdown, per data set: mean val* and test AUC of every score, paired test Δ against the
    fused score (seeds ahead, Wilcoxon p), and the mean val* Δ over data sets (the ranking)."""
    keys = [k.split(":", 1)[1] for k in rows[0] if k.startswith("test:")]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    mean_val_gain = {
        key: np.mean(
            [
                np.mean([r[f"val_all:{key}"] - r["val_all:fused"] for r in rows if r["dataset"] == d])
                for d in datasets
            ]
        )
        for key in keys
    }
    lines = [
        "Scores ranked by their mean val* Δ against the fused score over the data sets "
        "(the development measure); test AUC beside it, paired with the fused score seed by seed.",
        "",
        "| score | mean val* Δ | "
        + " | ".join(f"{d}: val* | {d}: test | {d}: Δ test (seeds ahead, p)" for d in datasets)
        + " |",
        "|---|---|" + "---|---|---|" * len(datasets),
    ]
    for key in sorted(keys, key=lambda k: -mean_val_gain[k]):
        cells = []
        for d in datasets:
            ours = [r for r in rows if r["dataset"] == d]
            val = np.array([r[f"val_all:{key}"] for r in ours])
            test = np.array([r[f"test:{key}"] for r in ours])
            diffs = test - np.array([r["test:fused"] for r in ours])
            if key == "fused":
                delta = "–"
            else:
                p = wilcoxon(diffs).pvalue if len(diffs) > 1 and np.any(diffs) else float("nan")
                delta = f"{diffs.mean():+.4f} ({int((diffs > 0).sum())}/{len(diffs)}, p {p:.2f})"
            cells += [f"{val.mean():.4f}", f"{test.mean():.3f} ± {test.std(ddof=1):.3f}", delta]
        lines.append(f"| {key} | {mean_val_gain[key]:+.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    for run in args.runs:
        rows.append(run_row(run))
        print(run.name, "done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", rows, list(rows[0]))
    table = summary(rows)
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
