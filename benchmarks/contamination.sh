#!/usr/bin/env bash
# Issue 16, unlabeled pools that hold anomalies: every method at 5 % labels with 0 %, 5 % and 10 %
# hidden anomalies in the unlabeled pool (--contaminations), five paired seeds, package defaults.
# The classifiers and DevNet take the pool as normal; Deep SAD uses its unlabeled term; flowgmm-ae
# explains the pool by its mixture marginal with weights (1 - c, c). DATASET picks the data set
# (default pneumoniamnist; chestxray2017 too). Resumable. About 80 minutes per data set on 2 CPU
# cores.
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/contamination.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="benchmarks/results/contamination_${dataset}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines ae,cnn,supervised,deepsad,devnet \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --contaminations 0,0.05,0.1 \
  --out "$out" 2>&1 | tee "$out.log"
