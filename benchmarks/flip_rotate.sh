#!/usr/bin/env bash
# Do more views of the few labeled anomalies keep the anomaly component from memorising them?
# flowgmm-ae with --flip-rotate FLIP (labeled: random flips and quarter turns of the labeled
# anomalies; all: of every training image), 5 % labels, five seeds, the package defaults otherwise
# (fused score). Only the variant's cells train; they pair seed by seed with the defaults' runs of
# benchmarks/fused_score.sh (same seeds, same labeled images):
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 FLIP=labeled bash benchmarks/flip_rotate.sh
#   python benchmarks/tables.py paired benchmarks/results/flip_rotate_labeled_isic2018/results.csv \
#     benchmarks/results/fused_score_isic2018/score_fused_half_flow/results.csv \
#     --where threshold_policy=f1 --reference method=flowgmm-ae,setting= --by "" \
#     --show 'val_auc_all_labels,wall_s'
# About 8 (PneumoniaMNIST), 9 (ChestXRay2017) and 22 (ISIC 2018) minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
flip="${FLIP:-labeled}"
out="benchmarks/results/flip_rotate_${flip}_$dataset"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid "flip_rotate=$flip" --out "$out" "$@" 2>&1 \
  | tee "$out.log"
