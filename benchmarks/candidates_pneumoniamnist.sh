#!/usr/bin/env bash
# Issue 15's candidates on top of BatchNorm (--norm batch), one at a time, on PneumoniaMNIST at 5 %
# labels, seeds 0-2 (paired with benchmarks/norm_pneumoniamnist.sh's BatchNorm cells, the same
# labeled subsets): 40 epochs instead of 25, 32 labeled images per batch instead of 16, and the
# hybrid class term (--class-weight 1). The posterior score needs no run: every run stores it.
# Resumable (a finished run is kept). About 25 minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/candidates_pneumoniamnist.sh
# Then: python benchmarks/paired_comparison.py (the command is in benchmarks/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/candidates_pneumoniamnist/runs
mkdir -p "$out"
declare -A options=(
  [e40]="--epochs 40"
  [lb32]="--labeled-batch-size 32"
  [cw1]="--class-weight 1"
)
for variant in e40 lb32 cw1; do
  for seed in 0 1 2; do
    run="$out/$variant-f0.05-s$seed"
    [[ -f "$run/metrics.json" ]] && continue
    rm -rf "$run"
    # shellcheck disable=SC2086
    flowgmm-ae train --dataset pneumoniamnist --labeled-frac 0.05 --norm batch --seed "$seed" \
      ${options[$variant]} --quiet --out "$run"
  done
done
