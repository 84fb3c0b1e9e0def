#!/usr/bin/env bash
# flowgmm-ae with BatchNorm + ReLU (--norm batch) against GroupNorm + SiLU (--norm group) in the
# encoder and decoder, on PneumoniaMNIST: five paired seeds (same seed = same labeled subset) at
# 1 % and 5 %, package defaults otherwise (25 epochs, 32 px, honest protocol). Resumable. About 40
# minutes on 2 CPU cores. Then, seed by seed against GroupNorm:
#   python benchmarks/tables.py paired benchmarks/results/norm_pneumoniamnist --reference norm=group \
#     --by labeled_frac --show val_auc_all_labels
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/norm_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/norm_pneumoniamnist
flowgmm-ae ablate --dataset pneumoniamnist --priors gmm --grid norm=batch,group \
  --labeled-fracs 0.05,0.01 --seeds 0,1,2,3,4 --plot-budget 0.05 --out "$out" 2>&1 | tee "$out.log"
