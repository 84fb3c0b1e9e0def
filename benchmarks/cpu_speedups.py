"""Before/after of each CPU speed-up, measured side by side: glibc malloc as it is vs kept freed
memory (flowgmm_ae.runtime.keep_freed_memory), and NCHW vs channels_last tensors, for a training
step of the default model at each image size.

    python benchmarks/cpu_speedups.py --sizes 32,64,128 --rounds 2

Every (variant, size) runs in a fresh process (malloc settings are per process), the variants
alternating within each round so that the machine's drift hits them alike. Reported: the median
step time over rounds (each round's value is itself a median of --steps steps), images/s, the
ratio to the baseline, the minor page faults and system CPU seconds per step, and peak RSS.
Writes benchmarks/results/cpu_speedups[_TAG].{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
VARIANTS = {  # name: (keep freed memory, channels_last)
    "baseline (glibc malloc, NCHW)": (False, False),
    "keep freed memory": (True, False),
    "channels_last": (False, True),
    "keep freed memory + channels_last": (True, True),
}


def worker(size: int, channels_last: bool, steps: int, warmup: int) -> dict[str, float]:
    """Median seconds of a training step (batch 64 unlabeled + 16 labeled) in this process."""
    import torch

    from flowgmm_ae.config import TrainConfig
    from flowgmm_ae.methods import get_method

    config = TrainConfig(image_size=size)
    method = get_method("aeflow")
    torch.manual_seed(0)
    model = method.build(config, in_channels=1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x_u = torch.rand(config.batch_size, 1, size, size).contiguous(memory_format=fmt)
    x_l = torch.rand(config.labeled_batch_size, 1, size, size).contiguous(memory_format=fmt)
    y_l = torch.ones(config.labeled_batch_size, dtype=torch.long)
    method.initialise(model, x_u, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    times = []
    usage_before = None
    for step in range(warmup + steps):
        if step == warmup:
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        terms = method.loss(model, x_u, x_l, y_l, config)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "step_seconds": statistics.median(times),
        "images_per_step": config.batch_size + config.labeled_batch_size,
        "minor_faults_per_step": (usage.ru_minflt - usage_before.ru_minflt) / steps,
        "system_seconds_per_step": (usage.ru_stime - usage_before.ru_stime) / steps,
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }


def run_variant(name: str, size: int, steps: int, warmup: int) -> dict[str, float]:
    keep, channels_last = VARIANTS[name]
    env = dict(os.environ, FLOWGMM_AE_MALLOC="keep" if keep else "default")
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import cpu_speedups as b; "
        "from flowgmm_ae.runtime import keep_freed_memory; keep_freed_memory(); "
        f"print(json.dumps(b.worker({size}, {channels_last!r}, {steps}, {warmup})))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64,128")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--tag", default="", help="Appended to the result file names.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    measured: dict[tuple[str, int], list[dict[str, float]]] = {}
    for round_index in range(args.rounds):
        names = list(VARIANTS) if round_index % 2 == 0 else list(reversed(VARIANTS))
        for size in sizes:
            for name in names:
                result = run_variant(name, size, args.steps, args.warmup)
                measured.setdefault((name, size), []).append(result)
                print(
                    f"round {round_index + 1} {size} px {name}: {result['step_seconds']:.3f} s/step",
                    flush=True,
                )

    import torch

    lines = [
        f"# CPU speed-ups of the training step ({platform.machine()}, {torch.get_num_threads()} threads)",
        "",
        f"`python benchmarks/cpu_speedups.py --sizes {args.sizes} --rounds {args.rounds}` — "
        f"{date.today().isoformat()}, torch {torch.__version__}. One fresh process per variant and size, "
        f"variants alternating; step = forward + backward + Adam on 64 unlabeled + 16 labeled images. "
        f"Seconds: median over {args.rounds} rounds of the median of {args.steps} steps.",
        "",
        "| image size | variant | s / step | train images/s | speed-up | minor page faults / step "
        "| system CPU s / step | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for size in sizes:
        base = statistics.median(r["step_seconds"] for r in measured[(next(iter(VARIANTS)), size)])
        for name in VARIANTS:
            runs = measured[(name, size)]
            seconds = statistics.median(r["step_seconds"] for r in runs)
            row = {
                "image_size": size,
                "variant": name,
                "step_seconds": seconds,
                "step_seconds_per_round": [r["step_seconds"] for r in runs],
                "images_per_second": runs[0]["images_per_step"] / seconds,
                "speedup": base / seconds,
                "minor_faults_per_step": statistics.median(r["minor_faults_per_step"] for r in runs),
                "system_seconds_per_step": statistics.median(r["system_seconds_per_step"] for r in runs),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            }
            rows.append(row)
            lines.append(
                f"| {size} | {name} | {seconds:.3f} | {row['images_per_second']:.1f} | {row['speedup']:.2f}× "
                f"| {row['minor_faults_per_step']:,.0f} | {row['system_seconds_per_step']:.2f} "
                f"| {row['peak_rss_mib']:.0f} |"
            )
    RESULTS.mkdir(exist_ok=True)
    stem = "cpu_speedups" + (f"_{args.tag}" if args.tag else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
