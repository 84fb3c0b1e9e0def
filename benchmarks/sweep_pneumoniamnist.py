"""Hyper-parameter sweep on PneumoniaMNIST, selected on VALIDATION AUC only.

Each setting trains one seed with ``--labeled-frac 0.05`` and records the validation AUC of every
score (used to choose) and the test AUC (recorded, never used to choose). Run by hand:

    FLOWGMM_AE_DATA=../shared/data python benchmarks/sweep_pneumoniamnist.py --epochs 12

Writes ``benchmarks/results/sweep_pneumoniamnist.{csv,md}``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from flowgmm_ae.runtime import keep_freed_memory
from flowgmm_ae.training import TrainConfig, train

SETTINGS: dict[str, dict] = {
    "default": {},
    "noise0.1": {"latent_noise": 0.1},
    "alpha0.8": {"alpha": 0.8},
    "lambda4": {"labeled_weight": 4.0},
    "wide": {"base_width": 64, "latent_channels": 32},
    "lr2e-3": {"lr": 2e-3},
    "no-augment": {"augment": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, help="names of settings to run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, overrides in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        run_dir = out / "sweep_runs" / f"{name}-s{args.seed}-e{args.epochs}"
        started = time.perf_counter()
        config = TrainConfig(
            dataset="pneumoniamnist",
            labeled_frac=0.05,
            epochs=args.epochs,
            seed=args.seed,
            out=str(run_dir),
            progress=False,
            **overrides,
        )
        result = train(config)
        row = {"setting": name, "overrides": overrides, "seconds": round(time.perf_counter() - started, 1)}
        for score, metrics in result.metrics["scores"].items():
            row[f"val_auc_{score}"] = round(metrics["val"]["auc"], 4)
            row[f"test_auc_{score}"] = round(metrics["test"]["auc"], 4)
        rows.append(row)
        print(row, flush=True)
    fields = list(rows[0])
    with open(out / "sweep_pneumoniamnist.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(str(row[f]) for f in fields) + " |" for row in rows]
    (out / "sweep_pneumoniamnist.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    keep_freed_memory()  # as the flowgmm-ae command does (flowgmm_ae/runtime.py)
    main()
