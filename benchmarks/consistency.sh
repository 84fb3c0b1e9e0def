#!/usr/bin/env bash
# FlowGMM's consistency regularisation as a candidate for flowgmm-ae: --consistency-weight W (each
# image's NLL under the class the mixture predicts for a second augmented view of it, ramped up over
# the first 20 % of the run), 5 % labels, five seeds. DATASET picks the data set (pneumoniamnist,
# chestxray2017, isic2018), WEIGHT the weight (0.5: the weight α of the other likelihood terms), OUT
# the folder; extra arguments go to ablate. Only the consistency cells train: they are paired seed by
# seed with the package defaults' clean-pool runs of the contamination grids (same seeds, labels and
# defaults), which also hold the cnn and Deep SAD rows:
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/consistency.sh
#   python benchmarks/tables.py paired benchmarks/results/consistency_pneumoniamnist/results.csv \
#     benchmarks/results/contamination_pneumoniamnist_replace/results.csv --where contamination=0 \
#     --reference method=flowgmm-ae,setting= --by "" --show 'test_auc[recon],minutes'
# (ChestXRay2017: contamination_chestxray2017_replace_rerun; ISIC 2018:
# contamination_isic2018_replace_five_seeds.)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/consistency_${DATASET:-pneumoniamnist}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid "consistency_weight=${WEIGHT:-0.5}" --out "$out" "$@" \
  2>&1 | tee "$out.log"
