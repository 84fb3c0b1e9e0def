#!/usr/bin/env bash
# Which score should flowgmm-ae report? Trains the package defaults (5 % labels, seeds 0-2) on
# DATASET and keeps the run folders, then scores every candidate of benchmarks/score_rules.py on
# them (the posterior, the combined score at each beta, the label-free fusions of the posterior with
# the reconstruction and flow scores, and each again averaged over 8 augmented views), validation
# with every label and test. OUT picks the folder; extra arguments go to ablate.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/score_fusion.sh
#   python benchmarks/tables.py summary benchmarks/results/score_fusion_*/score_rules.csv \
#     --by dataset,candidate --metric val_auc_all,test_auc
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/score_fusion_${DATASET:-pneumoniamnist}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2 --out "$out" "$@" 2>&1 | tee "$out.log"
python benchmarks/score_rules.py "$out"/runs/gmm-* --tta 8 --out "$out/score_rules.csv"
