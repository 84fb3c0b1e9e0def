#!/usr/bin/env bash
# ChestXRay2017 (Kermany) at 128 px, seed 0: flowgmm-ae with 5 % labeled anomalies and unsupervised
# AE-FLOW (labeled fraction 0). 10 epochs each (~2.5 min per epoch on 2 CPU cores, ~45 min in all).
# The committed results.md also holds rows run with the earlier default stride 16 and by hand
# (--image-size 64; --stride 32); the config.json of each run folder records its options.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/chestxray2017_128px.sh
# Run folders go to benchmarks/results/chestxray2017_128px/runs/ (not committed); the summary to
# benchmarks/results/chestxray2017_128px/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
out=benchmarks/results/chestxray2017_128px
epochs="${EPOCHS:-10}"
mkdir -p "$out/runs"
for frac in 0.05 0; do
  run="$out/runs/frac$frac-e$epochs-s0"
  [ -f "$run/metrics.json" ] && continue
  rm -rf "$run"
  prior=gmm; [ "$frac" = 0 ] && prior=gaussian
  /usr/bin/time -f "%e s wall, %M KiB peak" -o "$run.time" \
    flowgmm-ae train --dataset chestxray2017 --data-root "$root" --image-size 128 \
      --prior "$prior" --labeled-frac "$frac" --epochs "$epochs" --seed 0 --quiet --out "$run"
done
python benchmarks/summarise_runs.py "$out/runs" --title "ChestXRay2017 at 128 px" > "$out/results.md"
cat "$out/results.md"
