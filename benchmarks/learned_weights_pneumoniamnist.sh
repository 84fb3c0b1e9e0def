#!/usr/bin/env bash
# Issue 16, the issue's "ε learned" variant: the mixture marginal with learned weights
# (--pool marginal --learn-weights) on PneumoniaMNIST with 10 % hidden anomalies, 5 % labels,
# seeds 0 and 1 (a diagnostic, not a grid: the fixed-weight marginal already collapses). Prints
# each run's test AUC and its learned mixture weights. About 4 minutes on 2 CPU cores; resumable.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/learned_weights_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/contamination_pneumoniamnist_learned_weights
for seed in 0 1; do
  run="$out/runs/gmm-c0.1-f0.05-s$seed"
  [ -f "$run/metrics.json" ] || flowgmm-ae train --dataset pneumoniamnist --labeled-frac 0.05 \
    --contamination 0.1 --pool marginal --learn-weights --seed "$seed" --quiet --out "$run"
done
python - "$out" <<'PY' | tee "$out/learned_weights.md"
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

print("| run | test AUC | learned weights (normal, anomaly) |\n|---|---|---|")
for run in sorted(Path(sys.argv[1], "runs").iterdir()):
    auc = json.loads((run / "metrics.json").read_text())["test"]["auc"]
    weights = torch.softmax(load_file(run / "model.safetensors")["prior.weight_logits"], 0).tolist()
    print(f"| {run.name} | {auc:.3f} | {weights[0]:.3f}, {weights[1]:.3f} |")
PY
