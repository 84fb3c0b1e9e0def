#!/usr/bin/env bash
# The ChestXRay2017 (Kermany) detection table of the README (run by hand, never in CI), under the
# honest protocol: validation carved by patient (none shared with train), and validation keeps only
# the labeled fraction of its anomalies (--val-labels budget, counted in every cell's labels).
# Every method: unsupervised AE-FLOW (gaussian prior) and the autoencoder (no labels), flowgmm-ae and
# the label-using baselines at labeled fractions 0.01/0.05/0.1, seeds 0-2 and five seeds (0-4) at 5 %.
# Resumable: rerun to finish an interrupted grid.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/detection_chestxray2017.sh
# IMAGE_SIZE (default 32, the package default) and EPOCHS (default 25, the package default) change
# the setting; the folder is named after them. FRACS, PRIORS, BASELINES and SEEDS narrow the grid.
# About an hour on 2 CPU cores at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017"
size="${IMAGE_SIZE:-32}"
epochs="${EPOCHS:-25}"
fracs="${FRACS:-0.01,0.05,0.1}"
priors="${PRIORS:-gaussian,gmm}"
baselines="${BASELINES:-ae,deepsad,devnet,supervised}"
seeds="${SEEDS:-0,1,2}"
out="benchmarks/results/detection_chestxray2017_${size}px_e${epochs}_honest"
mkdir -p "$out"
flowgmm-ae ablate --dataset chestxray2017 --data-root "$root" --image-size "$size" --epochs "$epochs" \
  --priors "$priors" --baselines "$baselines" --labeled-fracs "$fracs" --seeds "$seeds" \
  --seeds-for 0.05=0,1,2,3,4 --plot-budget 0.05 --out "$out" 2>&1 | tee "$out.log"
