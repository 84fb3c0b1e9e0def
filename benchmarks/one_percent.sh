#!/usr/bin/env bash
# flowgmm-ae against the plain CNN and Deep SAD with 1 % of the training anomalies labeled (three
# paired seeds, package defaults) on DATASET; every run again with the fused score afterwards.
# About 10 (PneumoniaMNIST), 7 (ChestXRay2017) and 22 (ISIC 2018) minutes on 2 CPU cores; OUT
# names another folder.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/one_percent.sh
#   python benchmarks/tables.py paired benchmarks/results/one_percent_isic2018 --reference method=cnn
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="${OUT:-benchmarks/results/one_percent_$dataset}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines cnn,deepsad \
  --labeled-fracs 0.01 --seeds 0,1,2 --out "$out" "$@" 2>&1 | tee "$out.log"
python benchmarks/rescore.py "$out" --score fused
