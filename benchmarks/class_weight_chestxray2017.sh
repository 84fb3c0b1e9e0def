#!/usr/bin/env bash
# --class-weight on ChestXRay2017 (run by hand, never in CI): flowgmm-ae at 64 px, 10 epochs, 5 %
# labels, seed 0, with γ = 0 (the default) and γ = 1. One seed only: a first look, not a verdict.
# About 6 minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/class_weight_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
out=benchmarks/results/class_weight_chestxray2017
mkdir -p "$out/runs"
for gamma in 0 1; do
  run="$out/runs/64px-e10-gamma$gamma-s0"
  [ -f "$run/metrics.json" ] && continue
  rm -rf "$run"
  /usr/bin/time -f "%e s wall, %M KiB peak" -o "$run.time" \
    flowgmm-ae train --dataset chestxray2017 --data-root "$root" --image-size 64 --labeled-frac 0.05 \
      --epochs 10 --seed 0 --class-weight "$gamma" --quiet --out "$run"
done
python benchmarks/summarise_runs.py "$out/runs" --title "--class-weight on ChestXRay2017" > "$out/results.md"
cat "$out/results.md"
