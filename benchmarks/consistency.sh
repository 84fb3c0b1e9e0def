#!/usr/bin/env bash
# FlowGMM's consistency regularisation as a candidate for flowgmm-ae: the package defaults beside
# --consistency-weight W (each image's NLL under the class the mixture predicts for a second
# augmented view of it, ramped up over the first 20 % of the run), 5 % labels, five paired seeds.
# DATASET picks the data set (pneumoniamnist, chestxray2017, isic2018), WEIGHT the weight (0.5: the
# weight α of the other likelihood terms), OUT the folder; extra arguments go to ablate. Resumable:
# a default cell whose run folder is already under OUT/runs (copied from another grid of the same
# defaults) is checked and reused. Not yet timed; ten PneumoniaMNIST runs of about 2 minutes each. Then:
#   python benchmarks/tables.py paired benchmarks/results/consistency_pneumoniamnist \
#     --reference setting= --by method --show 'test_auc[flow],test_auc[recon],val_auc_all[posterior]'
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/consistency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/consistency_${DATASET:-pneumoniamnist}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --case "consistency_weight=${WEIGHT:-0.5}" --out "$out" "$@" \
  2>&1 | tee "$out.log"
