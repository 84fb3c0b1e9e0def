#!/usr/bin/env bash
# The ChestXRay2017 (Kermany) detection table of the README (run by hand, never in CI): unsupervised
# AE-FLOW (gaussian prior, no labels), flowgmm-ae and the supervised classifier at labeled fractions
# 0.01/0.05/0.1, seeds 0-2, every run with the same options; checkpoints and thresholds chosen on
# validation (10 % of train, the same for every run). Resumable: rerun to finish an interrupted grid.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/detection_chestxray2017.sh
# IMAGE_SIZE (default 32, the package default, best in defaults_sweep_chestxray2017.sh) and EPOCHS
# (default 10) change the setting; the folder is named after them. FRACS (default 0.01,0.05,0.1) and
# PRIORS (default gaussian,gmm) narrow the grid; the supervised classifier is always included. On 2 CPU cores: about 12 minutes
# at 32 px, 45 at 64 px (IMAGE_SIZE=64); a 128 px run costs about 5x a 64 px one.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
size="${IMAGE_SIZE:-32}"
epochs="${EPOCHS:-10}"
fracs="${FRACS:-0.01,0.05,0.1}"
priors="${PRIORS:-gaussian,gmm}"
out="benchmarks/results/detection_chestxray2017_${size}px_e${epochs}"
mkdir -p "$out"
flowgmm-ae ablate --dataset chestxray2017 --data-root "$root" --image-size "$size" --epochs "$epochs" \
  --priors "$priors" --baselines supervised --labeled-fracs "$fracs" --seeds 0,1,2 \
  --plot-budget 0.05 --out "$out" 2>&1 | tee "$out.log"
