#!/usr/bin/env bash
# The "ε learned" variant of the contamination study: the mixture marginal with learned weights
# (--pool marginal --learn-weights) on PneumoniaMNIST with 10 % hidden anomalies, 5 % labels,
# seeds 0 and 1 (a diagnostic, not a grid: the fixed-weight marginal already collapses). Prints
# each run's test AUC and its learned mixture weights. About 4 minutes on 2 CPU cores; resumable.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/learned_weights_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/contamination_pneumoniamnist_learned_weights
flowgmm-ae ablate --dataset pneumoniamnist --priors gmm --labeled-fracs 0.05 --seeds 0,1 \
  --contaminations 0.1 --pool marginal --learn-weights --out "$out"
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
