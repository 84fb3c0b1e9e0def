"""Is data loading a bottleneck? Images/second of a file-based data set decoded from its files (cold,
an empty cache), loaded from the decoded cache (warm), and consumed by one training epoch.

    python benchmarks/data_loading.py --dataset chestxray2017 \
        --data-root ../shared/data/chestxray2017 --image-size 128

Writes benchmarks/results/data_loading_<dataset>_<size>px.{json,md}. The training figure comes from
a run folder's train_log.csv (pass --run DIR), so this script never trains itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from flowgmm_ae.data import load_dataset

RESULTS = Path(__file__).parent / "results"


def timed_load(dataset: str, data_root: str | None, size: int, cache_dir: str) -> tuple[float, int]:
    start = time.perf_counter()
    loaded = load_dataset(dataset, size, data_root=data_root, cache_dir=cache_dir)
    return time.perf_counter() - start, sum(len(getattr(loaded, s)) for s in ("train", "val", "test"))


def batch_read_ms(dataset: str, data_root: str | None, size: int, cache_dir: str, batch: int = 80) -> float:
    """Median milliseconds to read one random training batch (64 unlabeled + 16 labeled images by
    default) out of the memory-mapped cache, as the training loop does every step."""
    images = load_dataset(dataset, size, data_root=data_root, cache_dir=cache_dir).train.images
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(20):
        indices = torch.randperm(len(images), generator=generator)[:batch]
        start = time.perf_counter()
        images[indices]
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def training_rate(run_dir: Path) -> dict[str, float]:
    """Training images/second of each epoch of a finished run (unlabeled + labeled images seen)."""
    config = json.loads((run_dir / "config.json").read_text())
    with open(run_dir / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    seconds = [float(row["seconds"]) for row in rows]
    batches = -(-config["n_unlabeled"] // config["batch_size"])
    per_epoch = config["n_unlabeled"] + (batches * config["labeled_batch_size"] if config["n_labeled"] else 0)
    return {
        "epochs": len(rows),
        "median_epoch_seconds": statistics.median(seconds),
        "train_images_per_second": per_epoch / statistics.median(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="chestxray2017")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", type=Path, default=None, help="A finished run folder on the same data.")
    args = parser.parse_args()

    cold, warm, reads = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            seconds, count = timed_load(args.dataset, args.data_root, args.image_size, cache)
            cold.append(count / seconds)
            seconds, count = timed_load(args.dataset, args.data_root, args.image_size, cache)
            warm.append(count / seconds)
            reads.append(batch_read_ms(args.dataset, args.data_root, args.image_size, cache))
    read_ms = statistics.median(reads)
    result = {
        "dataset": args.dataset,
        "image_size": args.image_size,
        "images": count,
        "decode_images_per_second": statistics.median(cold),
        "cached_images_per_second": statistics.median(warm),
        "batch_read_ms": read_ms,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
        "date": date.today().isoformat(),
    }
    if args.run:
        result["training"] = training_rate(args.run)
    stem = f"data_loading_{args.dataset}_{args.image_size}px"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Data loading: {args.dataset} at {args.image_size} px ({count} images)",
        "",
        f"`python benchmarks/data_loading.py --dataset {args.dataset} --image-size {args.image_size}`"
        f" — {result['date']}, {result['machine']}, torch {result['torch']}; medians of {args.repeats}.",
        "",
        "| stage | images / s |",
        "|---|---|",
        f"| first load: decode + resize the files (empty cache) | {result['decode_images_per_second']:.0f} |",
        f"| later loads: memory-mapped decoded cache | {result['cached_images_per_second']:.0f} |",
    ]
    batch_line = f"Reading one training batch (80 random images) from the cache: {read_ms:.1f} ms (median)."
    if args.run:
        training = result["training"]
        lines.append(
            f"| training epoch (`{args.run.name}`, median of {training['epochs']} epochs) "
            f"| {training['train_images_per_second']:.0f} |"
        )
    lines += ["", batch_line]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
