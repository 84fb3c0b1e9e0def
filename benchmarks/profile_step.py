"""Where one training step's time goes: torch.profiler over a step of the default model, run as
the training loop runs it (channels_last, glibc malloc keeping freed memory).

    python benchmarks/profile_step.py --image-size 128

Writes benchmarks/results/profile_step_<size>px.txt: the operators by self CPU time, then the same
grouped by input shape (which convolution, at which resolution).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import get_method
from flowgmm_ae.runtime import keep_freed_memory

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    keep_freed_memory()
    size, channels_last = args.image_size, torch.channels_last
    config = TrainConfig(image_size=size)
    method = get_method("aeflow")
    torch.manual_seed(0)
    model = method.build(config, in_channels=1).to(memory_format=channels_last)
    x_u = torch.rand(config.batch_size, 1, size, size).contiguous(memory_format=channels_last)
    x_l = torch.rand(config.labeled_batch_size, 1, size, size).contiguous(memory_format=channels_last)
    y_l = torch.ones(config.labeled_batch_size, dtype=torch.long)
    method.initialise(model, x_u, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    def step() -> None:
        terms = method.loss(model, x_u, x_l, y_l, config)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()

    for _ in range(args.warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        step()
    averages = profiler.key_averages()
    by_shape = profiler.key_averages(group_by_input_shape=True)
    text = "\n".join(
        [
            f"python benchmarks/profile_step.py --image-size {size} — {date.today().isoformat()}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads; one step, batch "
            f"{config.batch_size} + {config.labeled_batch_size}, default model.",
            "",
            averages.table(sort_by="self_cpu_time_total", row_limit=15),
            by_shape.table(
                sort_by="self_cpu_time_total",
                row_limit=20,
                max_name_column_width=30,
                max_shapes_column_width=80,
            ),
        ]
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"profile_step_{size}px.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
