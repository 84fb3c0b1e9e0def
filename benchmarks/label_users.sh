#!/usr/bin/env bash
# The label users not yet run beside flowgmm-ae's default on DATASET: DevNet and the supervised
# classifier with 5 % (five seeds) and 1 % (three seeds) of the training anomalies labeled,
# package defaults, the same seeds and therefore the same labeled images as the flowgmm-ae runs of
# benchmarks/fused_score.sh and benchmarks/one_percent.sh, which it is paired with.
# About 8 (PneumoniaMNIST), 20 (ChestXRay2017) and 20 (ISIC 2018) minutes on 2 CPU cores.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/label_users.sh
#   python benchmarks/tables.py paired benchmarks/results/label_users_isic2018/results.csv \
#     benchmarks/results/fused_score_isic2018/score_fused_half_flow/results.csv \
#     --where threshold_policy=f1 --where labeled_frac=0.05 --reference method=flowgmm-ae --show wall_s
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="benchmarks/results/label_users_$dataset"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors "" --baselines devnet,supervised \
  --labeled-fracs 0.01,0.05 --seeds 0,1,2 --seeds-for 0.05=0,1,2,3,4 --out "$out" "$@" 2>&1 \
  | tee "$out.log"
