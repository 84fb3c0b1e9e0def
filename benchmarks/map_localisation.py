"""Do the pixel maps mark the lesion? For finished AE-FLOW runs on skin-lesion images (ISIC 2018),
how well each pixel map ranks a lesion's pixels above the skin around it, on the test anomalies.

    python benchmarks/map_localisation.py RUN_DIR [RUN_DIR ...] [--out DIR]

No lesion masks ship with the data, so the benchmark draws a proxy from each image: the darker
of two intensity clusters (k-means on the smoothed grey image, Otsu's criterion), its connected
part nearest the centre, holes filled. Dermoscopic lesions are darker than the skin and centred,
so the proxy is a rough outline, and a map that marks dark pixels is favoured by construction.
Images whose proxy covers under 5 % or over 80 % of the image are skipped (counted).

Maps compared (the first two are the package's, from ``flowgmm_ae.scoring.anomaly_maps``):
  flow      the normal component's NLL per latent location, upsampled
  residual  |x − x̂| averaged over colour channels
  residual_z  the residual standardised per pixel on the run's validation normals
  fused     flow and residual, each standardised over all validation-normal pixels, summed
  centre    minus the distance from the image centre: the reference any map must beat to be
            said to follow the lesion rather than the image's layout
  flow_mean   each image's mean flow-map value everywhere, the centre map breaking ties within
            the image: the reference for the pooled AUROC, which also rewards a map for being
            calm on normal images, i.e. the image-level score, without any localisation

Per image: the pixel AUROC of the map against the proxy (sklearn). Per run: the mean over test
anomalies, and the pooled pixel AUROC with every pixel of a test normal image counted negative
(a map that stays calm on normal images scores higher there). Writes results.csv (one row per
run and map) and a Markdown summary; prints the summary.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score

from flowgmm_ae.data.base import NORMAL_LABEL
from flowgmm_ae.runs import load_model, load_run_dataset
from flowgmm_ae.scoring import anomaly_maps

MIN_COVER, MAX_COVER = 0.05, 0.80
MAP_NAMES = ("flow", "residual", "residual_z", "fused", "centre", "flow_mean")


def centre_map(height: int, width: int) -> np.ndarray:
    """(H, W): minus each pixel's distance from the image centre (the centre ranks highest)."""
    rows, cols = np.indices((height, width))
    return -np.hypot(rows - (height - 1) / 2, cols - (width - 1) / 2)


def proxy_lesion_mask(image: np.ndarray) -> np.ndarray | None:
    """(H, W) bool: the darker intensity cluster's part nearest the centre, or None where the
    proxy covers too little or too much of the image to outline a lesion."""
    grey = ndimage.gaussian_filter(image.mean(0), sigma=1.0)
    clusters = KMeans(n_clusters=2, n_init=3, random_state=0).fit(grey.reshape(-1, 1))
    dark = clusters.labels_.reshape(grey.shape) == int(np.argmin(clusters.cluster_centers_.ravel()))
    parts, count = ndimage.label(dark)
    if count == 0:
        return None
    centre_distance = -centre_map(*grey.shape)
    nearest = min(range(1, count + 1), key=lambda part: centre_distance[parts == part].min())
    mask = ndimage.binary_fill_holes(parts == nearest)
    return mask if MIN_COVER <= mask.mean() <= MAX_COVER else None


def model_maps(model: torch.nn.Module, images: torch.Tensor, batch: int = 256) -> dict[str, np.ndarray]:
    """The package's flow and residual maps (N, H, W) of every image."""
    parts: dict[str, list[np.ndarray]] = {"flow": [], "residual": []}
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch].contiguous(memory_format=torch.channels_last)
        maps = anomaly_maps(model, chunk)
        for name in parts:
            parts[name].append(maps[name].numpy())
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def derived_maps(test: dict[str, np.ndarray], val_normal: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every map of MAP_NAMES for the test images, standardised on validation normals."""
    pixel_mean = val_normal["residual"].mean(0)
    pixel_std = val_normal["residual"].std(0) + 1e-6
    flow_z = (test["flow"] - val_normal["flow"].mean()) / val_normal["flow"].std()
    residual_z_all = (test["residual"] - val_normal["residual"].mean()) / val_normal["residual"].std()
    n, h, w = test["residual"].shape
    centre = centre_map(h, w)
    tie_break = 1e-6 * float(test["flow"].std()) * centre / np.abs(centre).max()
    return {
        "flow": test["flow"],
        "residual": test["residual"],
        "residual_z": (test["residual"] - pixel_mean) / pixel_std,
        "fused": flow_z + residual_z_all,
        "centre": np.broadcast_to(centre, (n, h, w)),
        "flow_mean": test["flow"].mean(axis=(1, 2), keepdims=True) + tie_break,
    }


def localisation(run_dir: Path) -> tuple[list[dict[str, object]], int, int]:
    """One row per map for one run; also the number of test anomalies used and skipped."""
    model, config = load_model(run_dir)
    data = load_run_dataset(config, run_dir=run_dir)
    val_normal = data.val.images[torch.as_tensor(data.val.labels == NORMAL_LABEL).numpy()]
    test_images, test_labels = data.test.images, np.asarray(data.test.labels)
    maps = derived_maps(model_maps(model, test_images), model_maps(model, val_normal))
    masks = [proxy_lesion_mask(image) for image in test_images[test_labels != NORMAL_LABEL].numpy()]
    anomalous = np.flatnonzero(test_labels != NORMAL_LABEL)
    used = [(index, mask) for index, mask in zip(anomalous, masks, strict=True) if mask is not None]
    normal = np.flatnonzero(test_labels == NORMAL_LABEL)
    rows = []
    for name in MAP_NAMES:
        values = maps[name]
        per_image = [roc_auc_score(mask.ravel(), values[index].ravel()) for index, mask in used]
        pooled_truth = np.concatenate(
            [mask.ravel() for _, mask in used] + [np.zeros(values[normal].size, dtype=bool)]
        )
        pooled_values = np.concatenate(
            [values[index].ravel() for index, _ in used] + [values[normal].ravel()]
        )
        rows.append(
            {
                "run": run_dir.name,
                "source": run_dir.parent.parent.name,
                "prior": config["prior"],
                "stride": config["stride"],
                "seed": config["seed"],
                "map": name,
                "auroc_anomalies": float(np.mean(per_image)),
                "auroc_pooled": float(roc_auc_score(pooled_truth, pooled_values)),
                "anomalies": len(used),
            }
        )
    return rows, len(used), len(anomalous) - len(used)


def summary(rows: list[dict[str, object]]) -> list[str]:
    """Mean ± std over runs of each (source, prior, map)."""
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for row in rows:
        key = (str(row["source"]), str(row["prior"]), str(row["map"]))
        groups.setdefault(key, []).append((float(row["auroc_anomalies"]), float(row["auroc_pooled"])))
    lines = [
        "| runs of | prior | map | runs | pixel AUROC on test anomalies | pooled, test normals negative |",
        "|---|---|---|---|---|---|",
    ]
    for (source, prior, name), values in groups.items():
        per_image, pooled = np.asarray(values).T
        lines.append(
            f"| {source} | {prior} | {name} | {len(values)} | {per_image.mean():.3f} ± {per_image.std():.3f} "
            f"| {pooled.mean():.3f} ± {pooled.std():.3f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="folder for results.csv and summary.md")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for run in args.runs:
        run_rows, used, skipped = localisation(run)
        rows += run_rows
        print(f"{run}: {used} test anomalies with a proxy lesion outline, {skipped} skipped", flush=True)
    lines = summary(rows)
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "results.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (args.out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
