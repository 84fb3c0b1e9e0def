"""Time per epoch against data-set size: the training loop at 1×, 2× and 4× the unlabeled images.

    python benchmarks/epoch_scaling.py --image-size 64 --base 640 --factors 1,2,4

Generated images (the synthetic data set, so that size is the only thing that changes) with
``base × factor`` normal training images; one epoch of the full loop (data feeding, augmentation,
forward, backward, Adam, and the epoch-end scoring of 128 validation images, the same at every
size). Linear cost shows as a constant time per image. Writes benchmarks/results/epoch_scaling.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from datetime import date
from pathlib import Path
from unittest import mock

import torch

from flowgmm_ae import training
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data.synthetic import make_synthetic
from flowgmm_ae.runtime import keep_freed_memory

RESULTS = Path(__file__).parent / "results"


def epoch_seconds(image_size: int, n_normal: int, repeats: int) -> list[float]:
    """Seconds of one training epoch over ``n_normal`` unlabeled images, ``repeats`` times."""
    dataset = make_synthetic(
        image_size, n_train=(n_normal, max(40, n_normal // 8)), n_val=(64, 64), n_test=(8, 8)
    )
    seconds = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(training, "load_dataset", return_value=dataset),
    ):
        for repeat in range(repeats):
            config = TrainConfig(
                dataset="synthetic", image_size=image_size, epochs=1, progress=False, out=f"{tmp}/run{repeat}"
            )
            seconds.append(training.train(config).history[0]["seconds"])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--base", type=int, default=640, help="Unlabeled images at 1×.")
    parser.add_argument("--factors", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    factors = [int(f) for f in args.factors.split(",")]
    rows = []
    for factor in factors:
        runs = epoch_seconds(args.image_size, args.base * factor, args.repeats)
        seconds = sorted(runs)[len(runs) // 2]
        rows.append({"factor": factor, "images": args.base * factor, "epoch_seconds": seconds, "runs": runs})
        print(f"{factor}×: {args.base * factor} images, {seconds:.1f} s/epoch", flush=True)
    per_image_1x = rows[0]["epoch_seconds"] / rows[0]["images"]
    lines = [
        f"# Time per epoch against data-set size ({args.image_size} px, {platform.machine()}, "
        f"{torch.get_num_threads()} threads)",
        "",
        f"`python benchmarks/epoch_scaling.py --image-size {args.image_size} --base {args.base} "
        f"--factors {args.factors} --repeats {args.repeats}` — {date.today().isoformat()}, torch "
        f"{torch.__version__}; default model and batch (64 unlabeled + 16 labeled), generated images.",
        "",
        "| size | unlabeled images | s / epoch | ms / image | relative to 1× per image |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        per_image = row["epoch_seconds"] / row["images"]
        lines.append(
            f"| {row['factor']}× | {row['images']} | {row['epoch_seconds']:.1f} | {1000 * per_image:.1f} "
            f"| {per_image / per_image_1x:.2f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "epoch_scaling.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "epoch_scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    keep_freed_memory()  # as the flowgmm-ae command does (flowgmm_ae/runtime.py)
    main()
