"""Scoring image files with a saved detector or a finished run folder (``flowgmm-ae score``).

Everything comes from the detector (:meth:`flowgmm_ae.estimators.Detector.load`): the combined
score's standardisation, the threshold and the map colour scale were fitted on its validation
images, so no data set is needed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowgmm_ae.data.images import list_images, read_image
from flowgmm_ae.estimators import Detector
from flowgmm_ae.io import read_json
from flowgmm_ae.plots import plot_anomaly_map


def score_images(
    run_dir: str | Path,
    paths: list[str | Path],
    score: str | None = None,
    maps_dir: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 64,
) -> list[dict[str, Any]]:
    """Score image files at the detector's threshold (one row per file: path, score, prediction);
    with ``maps_dir``, also write a PNG and an .npz of the pixel-level maps per image."""
    detector = Detector.load(run_dir, device=device)
    if maps_dir is not None and not detector.method_.has_maps:
        raise ValueError(f"maps need an AE-FLOW run; {detector.config_.method} has no anomaly maps")
    score = score or detector.score_
    threshold = detector.threshold_ if score == detector.score_ else _run_threshold(run_dir, score)
    files = list_images(paths)
    if maps_dir is not None:
        Path(maps_dir).mkdir(parents=True, exist_ok=True)
    size, channels = detector.config_.image_size, detector.in_channels_
    rows: list[dict[str, Any]] = []
    for start in range(0, len(files), batch_size):
        batch_files = files[start : start + batch_size]
        x = torch.stack([read_image(f, channels, size) for f in batch_files])
        values = detector.decision_function(x, score)
        maps = detector.anomaly_maps(x) if maps_dir is not None else None
        for i, (path, value) in enumerate(zip(batch_files, values, strict=True)):
            prediction = "anomaly" if value >= threshold else "normal"
            rows.append({"path": str(path), "score": float(value), "prediction": prediction})
            if maps is not None:
                stem = Path(maps_dir) / f"{start + i:05d}_{path.stem}"
                np.savez_compressed(
                    stem.with_suffix(".npz"), flow=maps["flow"][i], residual=maps["residual"][i]
                )
                plot_anomaly_map(
                    x[i].numpy(),
                    maps["x_hat"][i],
                    maps["flow"][i],
                    maps["residual"][i],
                    detector.map_scale_,
                    stem.with_suffix(".png"),
                    title=f"{path.name}: {score} {value:.3f} → {prediction} (threshold {threshold:.3f})",
                )
    return rows


def _run_threshold(run_dir: str | Path, score: str) -> float:
    """The validation-chosen threshold of another score than the detector's own, from the run's
    metrics.json (a saved detector keeps only its own score's)."""
    metrics_file = Path(run_dir) / "metrics.json"
    if not metrics_file.is_file():
        raise ValueError(f"{run_dir} keeps a threshold for its own score only ({score!r} has none)")
    metrics = read_json(metrics_file)
    if score not in metrics["scores"]:
        raise ValueError(
            f"score {score!r} is not available for this run; choose from {list(metrics['scores'])}"
        )
    return metrics["scores"][score]["val"]["threshold"]
