#!/usr/bin/env bash
# --class-weight 0 against 1 on ChestXRay2017 (64 px, 10 epochs, 5 % labels, seed 0; run by hand,
# never in CI; about 6 minutes on 2 CPU cores). ablate writes the table (results.md); resumable.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/class_weight_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
flowgmm-ae ablate --dataset chestxray2017 --image-size 64 --epochs 10 --priors gmm --labeled-fracs 0.05 \
  --seeds 0 --grid class_weight=0,1 --out benchmarks/results/class_weight_chestxray2017
