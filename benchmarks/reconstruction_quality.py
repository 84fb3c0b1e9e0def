"""Does the decoder reconstruct, or only draw an average image? For each finished run folder,
validation normal images' reconstruction error (MSE and 1 − SSIM) against the same error of the
training normals' mean image, the baseline a decoder that ignores its input would reach, and the
per-pixel spread of the reconstructions across images against that of the inputs.

    python benchmarks/reconstruction_quality.py RUN_DIR [RUN_DIR ...] [--out FILE]

Reads each run's own validation split (the images it could use, from splits.json); an AE-FLOW or
``ae`` run only (the methods with a decoder). Prints one Markdown row per run,
then the mean error ratios per data set and method.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from flowgmm_ae.data.base import NORMAL_LABEL
from flowgmm_ae.objectives import structural_dissimilarity
from flowgmm_ae.runs import load_model, load_run_dataset


@torch.no_grad()
def reconstructions(model: torch.nn.Module, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """x̂ of every image, in eval mode (AE-FLOW's output, or an autoencoder's)."""
    parts = []
    for start in range(0, len(images), batch):
        out = model(images[start : start + batch].contiguous(memory_format=torch.channels_last))
        parts.append((out.x_hat if hasattr(out, "x_hat") else out).float())  # AE-FLOW, or the ae baseline
    return torch.cat(parts)


def quality(run_dir: Path) -> dict[str, float | str]:
    model, config = load_model(run_dir)
    data = load_run_dataset(config, run_dir=run_dir)
    train, val = data.train, data.val
    normal_train = torch.as_tensor(train.labels == NORMAL_LABEL)
    mean_image = train.images[normal_train.numpy()].mean(0, keepdim=True)
    x = val.images[torch.as_tensor(val.labels == NORMAL_LABEL).numpy()]
    x_hat = reconstructions(model, x).clamp(0, 1)
    template = mean_image.expand_as(x)
    return {
        "run": run_dir.name,
        "dataset": config["dataset"],
        "method": config["method"],
        "images": len(x),
        "mse": float(((x - x_hat) ** 2).mean()),
        "mse_mean_image": float(((x - template) ** 2).mean()),
        "dssim": float(structural_dissimilarity(x, x_hat).mean()),
        "dssim_mean_image": float(structural_dissimilarity(x, template).mean()),
        "spread_recon": float(x_hat.std(0).mean()),
        "spread_input": float(x.std(0).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    header = (
        "| data set | run | images | MSE | MSE of the mean image | ratio | 1 − SSIM | of the mean image "
        "| pixel spread: recon / input |"
    )
    lines = [header, "|" + "---|" * 9]
    ratios: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for run in args.runs:
        q = quality(run)
        ratios.setdefault((str(q["dataset"]), str(q["method"])), []).append(
            (q["mse"] / q["mse_mean_image"], q["dssim"] / q["dssim_mean_image"])
        )
        lines.append(
            f"| {q['dataset']} | {q['run']} | {q['images']} | {q['mse']:.4f} | {q['mse_mean_image']:.4f} | "
            f"{q['mse'] / q['mse_mean_image']:.2f} | {q['dssim']:.3f} | {q['dssim_mean_image']:.3f} | "
            f"{q['spread_recon']:.3f} / {q['spread_input']:.3f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "| data set | method | runs | MSE / mean image's | 1 − SSIM / mean image's |",
        "|---|---|---|---|---|",
    ]
    for (dataset, method), values in ratios.items():
        mse, dssim = np.mean(values, axis=0)
        lines.append(f"| {dataset} | {method} | {len(values)} | {mse:.2f} | {dssim:.2f} |")
    print("\n".join(lines[-len(ratios) - 2 :]))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
