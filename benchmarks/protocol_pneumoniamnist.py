"""The core issue's protocol: seeds × {semi-supervised gmm at 5 % labels, unsupervised gaussian}.

Trains each setting with the package defaults (validation-chosen checkpoint and threshold) and
writes per-run rows and a mean ± std table of test AUC, F1, ACC, SEN, SPE and wall time. Run by hand:

    FLOWGMM_AE_DATA=../shared/data python benchmarks/protocol_pneumoniamnist.py --seeds 0 1 2

Writes ``benchmarks/results/protocol_pneumoniamnist.{csv,md}``.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from flowgmm_ae.training import TrainConfig, train

SETTINGS = {
    "flowgmm-ae (gmm, 5 % labels)": {"prior": "gmm", "labeled_frac": 0.05},
    "AE-FLOW (gaussian, no labels)": {"prior": "gaussian", "labeled_frac": 0.0},
}
METRICS = ("auc", "auprc", "f1", "acc", "sen", "spe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, overrides in SETTINGS.items():
        for seed in args.seeds:
            extra = {"epochs": args.epochs} if args.epochs else {}
            run_dir = out / "protocol_runs" / f"{overrides['prior']}-f{overrides['labeled_frac']}-s{seed}"
            config = TrainConfig(
                dataset="pneumoniamnist", seed=seed, out=str(run_dir), progress=False, **overrides, **extra
            )
            started = time.perf_counter()
            result = train(config)
            row = {
                "setting": name,
                "seed": seed,
                "score": result.metrics["score"],
                "wall_s": round(time.perf_counter() - started, 1),
            }
            row.update({m: round(result.metrics["test"][m], 4) for m in METRICS})
            row["val_auc"] = round(result.metrics["val"]["auc"], 4)
            row["run"] = str(run_dir)
            rows.append(row)
            print(row, flush=True)
    with open(out / "protocol_pneumoniamnist.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    header = ["method", "seeds", *[f"test {m.upper()}" for m in METRICS], "val AUC", "wall time (s)"]
    lines = [
        f"PneumoniaMNIST test split, mean ± std over seeds {args.seeds}; thresholds chosen on "
        f"validation. {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, {date.today()}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name in SETTINGS:
        sub = [r for r in rows if r["setting"] == name]

        def cell(key: str, digits: int = 3, rows_: list = sub) -> str:
            values = np.array([r[key] for r in rows_], dtype=float)
            return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"

        lines.append(
            "| "
            + " | ".join(
                [name, str(len(sub)), *[cell(m) for m in METRICS], cell("val_auc"), cell("wall_s", 0)]
            )
            + " |"
        )
    (out / "protocol_pneumoniamnist.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
