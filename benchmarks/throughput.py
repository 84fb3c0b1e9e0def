"""Training and inference throughput (images/second) of the default AE-FLOW model with the mixture
prior, at several image sizes, on the CPU or a GPU, from random images (no data set needed); the
FLOPs of a training step (counted by torch.utils.flop_counter) and, measured in the same run, the
machine's float32 matrix-multiply throughput, so that the table shows which fraction of the
attainable FLOP/s the training step reaches.

    python benchmarks/throughput.py --sizes 64,128,256 [--device cuda] [--precision bf16]

Runs as the training loop does: channels_last tensors, glibc malloc keeping freed memory.
A training step here is the loop's model work: forward of 64 unlabeled + 16 labeled images, the
joint loss, backward, clipping, Adam; not its data reading and augmentation (measured apart by
data_loading.py). Medians over --steps timed steps after --warmup untimed ones.
Writes benchmarks/results/throughput_<device>[_bf16].{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from datetime import date
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.loop import StepModule, train_step
from flowgmm_ae.methods import get_method
from flowgmm_ae.runtime import keep_freed_memory

RESULTS = Path(__file__).parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Attainable float32 FLOP/s: the median of square n × n matrix products."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    times = []
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times[1:])


def measure(size: int, device: torch.device, precision: str, steps: int, warmup: int) -> dict[str, float]:
    config = TrainConfig(image_size=size, precision=precision)
    method = get_method("aeflow")
    model = method.build(config, in_channels=1).to(device, memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    x_u = torch.rand(config.batch_size, 1, size, size, device=device).contiguous(
        memory_format=torch.channels_last
    )
    x_l = torch.rand(config.labeled_batch_size, 1, size, size, device=device).contiguous(
        memory_format=torch.channels_last
    )
    y_l = torch.ones(config.labeled_batch_size, dtype=torch.long, device=device)
    method.initialise(model, x_u, config)
    optimizer, scheduler = method.make_optimizer(model, config, total_steps=warmup + steps)
    engine = StepModule(method, model, config)
    step_times = []
    model.train()
    for step in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        # The training loop's own step (flowgmm_ae/loop.py), so this measures what training runs.
        train_step(engine, model, optimizer, scheduler, x_u, x_l, y_l, config.grad_clip, precision)
        _sync(device)
        if step >= warmup:
            step_times.append(time.perf_counter() - start)
    batch = torch.rand(256, 1, size, size, device=device).contiguous(memory_format=torch.channels_last)
    infer_times = []
    for step in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        method.raw_scores(model, batch, device)
        _sync(device)
        if step >= warmup:
            infer_times.append(time.perf_counter() - start)
    per_step = len(x_u) + len(x_l)
    with FlopCounterMode(display=False) as counter:
        method.loss(model, x_u, x_l, y_l, config).total.backward()
    step_flops = counter.get_total_flops()
    peak = (
        torch.cuda.max_memory_allocated(device) / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "image_size": size,
        "train_images_per_second": per_step / statistics.median(step_times),
        "inference_images_per_second": len(batch) / statistics.median(infer_times),
        "peak_memory_mib": peak,
        "train_flops_per_image": step_flops / per_step,
        "train_flops_per_second": step_flops / statistics.median(step_times),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--tag", default="", help="Appended to the result file names (e.g. jemalloc).")
    args = parser.parse_args()
    device = torch.device(args.device)
    keep_freed_memory()  # as the training loop does (flowgmm_ae/runtime.py)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    rows = [measure(int(s), device, args.precision, args.steps, args.warmup) for s in args.sizes.split(",")]
    attainable = matmul_flops(device)
    memory = "peak GPU memory allocated" if device.type == "cuda" else "process peak RSS (cumulative)"
    lines = [
        f"# Throughput on {name} ({args.precision})",
        "",
        f"`python benchmarks/throughput.py --sizes {args.sizes} --device {args.device} "
        f"--precision {args.precision}` — {date.today().isoformat()}, torch {torch.__version__}; "
        f"medians of {args.steps} steps after {args.warmup} warm-up steps; default model, batch 64 + 16.",
        "",
        f"Attainable float32 matmul throughput measured in the same run: {attainable / 1e9:.1f} GFLOP/s.",
        "",
        f"| image size | train images/s | inference images/s | train GFLOP / image | train GFLOP/s "
        f"| share of matmul FLOP/s | {memory} (MiB) | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['image_size']} | {row['train_images_per_second']:.1f} "
            f"| {row['inference_images_per_second']:.1f} | {row['train_flops_per_image'] / 1e9:.2f} "
            f"| {row['train_flops_per_second'] / 1e9:.1f} "
            f"| {row['train_flops_per_second'] / attainable:.0%} | {row['peak_memory_mib']:.0f} "
            f"| {row['parameters']:,} |"
        )
    stem = f"throughput_{device.type}" + ("_bf16" if args.precision == "bf16" else "")
    stem += f"_{args.tag}" if args.tag else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(
            {"device": name, "precision": args.precision, "matmul_flops": attainable, "rows": rows}, indent=2
        )
        + "\n"
    )
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
