#!/usr/bin/env bash
# flowgmm-ae with BatchNorm + ReLU (--norm batch) against GroupNorm + SiLU (--norm group) in the
# encoder and decoder, on PneumoniaMNIST: the lead (a research prototype's gap to the
# package sat in this choice). Five paired seeds (same seed = same labeled subset) at 1 % and 5 %,
# package defaults otherwise (25 epochs, 32 px, honest protocol). Resumable. About 40 minutes on 2
# CPU cores. Compare with benchmarks/paired_comparison.py (see benchmarks/README.md).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/norm_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for norm in batch group; do
  out=benchmarks/results/norm_${norm}_pneumoniamnist
  mkdir -p "$out"
  flowgmm-ae ablate --dataset pneumoniamnist --priors gmm --norm "$norm" \
    --labeled-fracs 0.05,0.01 --seeds 0,1,2,3,4 --plot-budget 0.05 \
    --out "$out" 2>&1 | tee "$out.log"
done
