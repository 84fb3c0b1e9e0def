#!/usr/bin/env bash
# The defaults sweep on ChestXRay2017 under the honest protocol (run by hand, never in CI):
# flowgmm-ae at the default 32 px with 5 % labeled anomalies, seeds 0-2, for 10 / 25 / 40 epochs and
# for 25 epochs without augmentation. Validation is carved by patient. Settings are compared on
# validation AUC: the run's own (label-budgeted, 19 anomalies) and with every validation anomaly
# label (388; a developer's tuning set, used for no run's checkpoint or threshold); the test column
# is recorded, not used. About 25 minutes on 2 CPU cores (17 with the grid's runs linked).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/defaults_sweep_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
out=benchmarks/results/defaults_sweep_chestxray2017
mkdir -p "$out/runs"
# The 25-epoch runs with augmentation are the detection grid's flowgmm-ae cells at 5 % (the same
# options); link them when that grid has run, instead of training them again.
grid=benchmarks/results/detection_chestxray2017_32px_e25_honest/runs
for seed in 0 1 2; do
  if [ -f "$grid/gmm-f0.05-s$seed/metrics.json" ] && [ ! -e "$out/runs/e25-s$seed" ]; then
    ln -s "../../detection_chestxray2017_32px_e25_honest/runs/gmm-f0.05-s$seed" "$out/runs/e25-s$seed"
  fi
done
for setting in "e25-noaug:--epochs 25 --no-augment" "e10:--epochs 10" "e25:--epochs 25" "e40:--epochs 40"; do
  for seed in 0 1 2; do
    name="${setting%%:*}"; options="${setting#*:}"
    run="$out/runs/$name-s$seed"
    [ -f "$run/metrics.json" ] && continue
    rm -rf "$run"
    # shellcheck disable=SC2086
    flowgmm-ae train --dataset chestxray2017 --data-root "$root" --image-size 32 \
      --labeled-frac 0.05 --seed "$seed" $options --quiet --out "$run"
  done
done
python benchmarks/group_runs.py "$out/runs" --rule last --title "Defaults sweep on ChestXRay2017 (32 px, 5 % labels)" \
  --out "$out/results.md"
