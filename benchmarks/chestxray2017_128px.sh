#!/usr/bin/env bash
# ChestXRay2017 at 128 px: flowgmm-ae (5 % labeled) and unsupervised AE-FLOW, seed 0, EPOCHS
# (default 10) epochs; the time and peak memory of the whole grid (run by hand, never in CI; about
# 55 minutes on 2 CPU cores). ablate writes the table (results.md); resumable.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/chestxray2017_128px.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/chestxray2017_128px
mkdir -p "$out"
/usr/bin/time -f "%e s wall, %M KiB peak" -o "$out/grid.time" \
  flowgmm-ae ablate --dataset chestxray2017 --image-size 128 --epochs "${EPOCHS:-10}" \
    --priors gaussian,gmm --labeled-fracs 0.05 --seeds 0 --out "$out"
