#!/usr/bin/env bash
# Is the fused score (posterior + flow + recon, each standardised on validation normals) the better
# default for flowgmm-ae? Trains the package defaults (5 % labels, five seeds) on DATASET with the
# run folders kept, recomputes the grid's tables with the fused score (score_fused/), and scores
# every candidate of benchmarks/score_rules.py on validation with every label and on test.
# About 8 (PneumoniaMNIST), 8 (ChestXRay2017) and 18 (ISIC 2018) minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/fused_score.sh
#   python benchmarks/tables.py summary benchmarks/results/fused_score_*/score_rules.csv \
#     --by dataset,candidate --metric val_auc_all,test_auc
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="benchmarks/results/fused_score_$dataset"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --out "$out" "$@" 2>&1 | tee "$out.log"
python benchmarks/rescore.py "$out" --score fused
python benchmarks/score_rules.py "$out"/runs/gmm-* --out "$out/score_rules.csv"
