#!/usr/bin/env bash
# The defaults sweep on ChestXRay2017 (run by hand, never in CI): flowgmm-ae with 5 % labeled
# anomalies, seed 0, at 32 and 64 px (stride = size / 4, the default) for 10 and 20 epochs, and at
# 128 px for 10. Settings are compared by validation AUC and by validation AUC per CPU-minute of
# training; the test column is recorded, not used. About 30 minutes on 2 CPU cores (128 px ~16).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/defaults_sweep_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
out=benchmarks/results/defaults_sweep_chestxray2017
mkdir -p "$out/runs"
for setting in "32 10" "32 20" "64 10" "64 20" "128 10"; do
  read -r size epochs <<<"$setting"
  run="$out/runs/${size}px-e${epochs}-s0"
  [ -f "$run/metrics.json" ] && continue
  rm -rf "$run"
  /usr/bin/time -f "%e s wall, %M KiB peak" -o "$run.time" \
    flowgmm-ae train --dataset chestxray2017 --data-root "$root" --image-size "$size" \
      --labeled-frac 0.05 --epochs "$epochs" --seed 0 --quiet --out "$run"
done
python benchmarks/summarise_runs.py "$out/runs" --title "Defaults sweep on ChestXRay2017" --efficiency > "$out/results.md"
cat "$out/results.md"
