#!/usr/bin/env bash
# Is 25 epochs enough for the plain CNN baseline? --method cnn with 40 epochs (the reference plain
# independently written CNN trained 40) on PneumoniaMNIST at 5 %, seeds 0-4, paired with the 25-epoch cells
# of benchmarks/ablation_pneumoniamnist.sh. Resumable. About 6 minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/cnn_epochs_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/cnn_epochs_pneumoniamnist
mkdir -p "$out"
flowgmm-ae ablate --dataset pneumoniamnist --priors "" --baselines cnn --epochs 40 \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --out "$out" 2>&1 | tee "$out.log"
