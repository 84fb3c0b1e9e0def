#!/usr/bin/env bash
# The PneumoniaMNIST comparison behind the README's results table (run by hand, never in CI):
# AE-FLOW's two priors and the four baselines, label fractions 0/0.01/0.05/0.1, seeds 0-2, package
# defaults (25 epochs, 32 px), thresholds and checkpoints chosen on validation.
# Resumable: rerun to finish an interrupted grid. About 70 minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/ablation_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/ablation_pneumoniamnist
flowgmm-ae ablate --dataset pneumoniamnist \
  --priors gaussian,gmm --baselines ae,deepsad,devnet,supervised \
  --labeled-fracs 0,0.01,0.05,0.1 --seeds 0,1,2 --plot-budget 0.05 \
  --out "$out" 2>&1 | tee "$out.log"
