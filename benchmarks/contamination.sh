#!/usr/bin/env bash
# Unlabeled pools that hold anomalies: flowgmm-ae, the plain CNN, Deep SAD and DevNet at 5 % labels
# with 0 %, 5 % and 10 % of the unlabeled pool replaced by hidden anomalies (the pool keeps its
# size), five paired seeds (the same labeled and hidden images for every method of a seed), package
# defaults. The CNN and DevNet take the pool as normal; Deep SAD uses its unlabeled term; flowgmm-ae
# its pool objective (--pool trim). DATASET picks the data set (pneumoniamnist, chestxray2017,
# isic2018); extra arguments go to ablate (e.g. --grid pool=trim,normal, --priors gmm --baselines ""
# for flowgmm-ae alone); OUT names another results folder (its log is OUT.log). Resumable. About
# 50 minutes on 2 CPU cores for PneumoniaMNIST. Then each method's paired fall from its own clean
# pool:
#   python benchmarks/tables.py paired benchmarks/results/contamination_pneumoniamnist \
#     --reference contamination=0 --by method
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/contamination.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/contamination_${DATASET:-pneumoniamnist}}"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines cnn,deepsad,devnet \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --contaminations 0,0.05,0.1 --out "$out" "$@" 2>&1 | tee "$out.log"
