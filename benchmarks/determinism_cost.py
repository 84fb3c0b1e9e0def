"""What determinism costs on this machine: training-step time with and without
``torch.use_deterministic_algorithms(True)``, measured side by side, and whether two seeded runs
give bit-identical weights either way. Run by hand (CPU):

    python benchmarks/determinism_cost.py --steps 30

Writes ``benchmarks/results/determinism_cost.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import get_method


def run(steps: int, deterministic: bool, seed: int = 0) -> tuple[list[float], torch.Tensor]:
    """Step times (s) and the final flattened weights of a default AE-FLOW/GMM model."""
    torch.use_deterministic_algorithms(deterministic)
    torch.manual_seed(seed)
    config = TrainConfig()
    method = get_method("aeflow")
    model = method.build(config, 1)
    generator = torch.Generator().manual_seed(seed)
    x_u = torch.rand(config.batch_size, 1, 32, 32, generator=generator)
    x_l = torch.rand(config.labeled_batch_size, 1, 32, 32, generator=generator)
    y_l = torch.ones(config.labeled_batch_size, dtype=torch.long)
    method.initialise(model, x_u, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = method.loss(model, x_u, x_l, y_l, config).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    torch.use_deterministic_algorithms(False)
    return times, torch.cat([p.detach().flatten() for p in model.parameters()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "determinism_cost.md")
    args = parser.parse_args()
    results = {}
    for _repeat in range(2):  # interleaved, so machine noise hits both settings alike
        for deterministic in (False, True):
            times, weights = run(args.steps, deterministic)
            results.setdefault(deterministic, []).append((statistics.median(times[3:]), weights))
    lines = [
        f"Training step of the default model (batch 64 + 16, 32 px), median of {args.steps - 3} steps, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}.",
        "",
        "| setting | median step (s), run 1 | run 2 | two seeded runs bit-identical |",
        "|---|---|---|---|",
    ]
    for deterministic, pairs in results.items():
        identical = torch.equal(pairs[0][1], pairs[1][1])
        name = "use_deterministic_algorithms(True)" if deterministic else "default"
        lines.append(f"| {name} | {pairs[0][0]:.4f} | {pairs[1][0]:.4f} | {identical} |")
    off = statistics.mean(p[0] for p in results[False])
    on = statistics.mean(p[0] for p in results[True])
    lines.append(f"\nratio deterministic / default: {on / off:.3f}")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
