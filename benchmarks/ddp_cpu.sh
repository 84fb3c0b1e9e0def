#!/usr/bin/env bash
# One process vs two DDP processes (torchrun, gloo) on the CPU, same global batch, PneumoniaMNIST,
# seed 0, 10 epochs. Writes benchmarks/results/ddp_cpu/results.md.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/ddp_cpu.sh
# On a 2-core machine both use the two cores (one process with 2 threads, or 2 processes with
# 1 thread each): the comparison shows the cost of the collectives, not a speed-up.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/ddp_cpu
epochs="${EPOCHS:-10}"
common=(--dataset pneumoniamnist --labeled-frac 0.05 --epochs "$epochs" --seed 0 --quiet)
rm -rf "$out/runs" && mkdir -p "$out/runs"
/usr/bin/time -f "%e" -o "$out/runs/single.time" \
  flowgmm-ae train "${common[@]}" --out "$out/runs/single"
OMP_NUM_THREADS=1 /usr/bin/time -f "%e" -o "$out/runs/ddp2.time" \
  python -m torch.distributed.run --standalone --nproc-per-node 2 -m flowgmm_ae.cli train \
  "${common[@]}" --out "$out/runs/ddp2"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
lines = [
    "# One process vs two DDP processes on the CPU",
    "",
    f"PneumoniaMNIST, labeled fraction 0.05, seed 0, global batch 64 + 16; `bash benchmarks/ddp_cpu.sh`.",
    "",
    "| run | processes | test AUC | F1 | ACC | SEN | SPE | training s | wall s |",
    "|---|---|---|---|---|---|---|---|---|",
]
for name in ("single", "ddp2"):
    metrics = json.loads((out / "runs" / name / "metrics.json").read_text())
    test, training = metrics["test"], metrics["training"]
    wall = (out / "runs" / f"{name}.time").read_text().split()[-1]
    cells = " | ".join(f"{test[k]:.4f}" for k in ("auc", "f1", "acc", "sen", "spe"))
    lines.append(f"| {name} | {training['processes']} | {cells} | {training['seconds']:.0f} | {wall} |")
(out / "results.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
