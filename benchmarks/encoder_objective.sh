#!/usr/bin/env bash
# Features the flow cannot squeeze: unsupervised AE-FLOW with the encoder trained by the whole
# objective (--encoder-objective joint) or by reconstruction alone (reconstruction: the likelihood
# stops at the encoder), beside the plain SSIM autoencoder (--method ae), no labels, seeds 0-2,
# from scratch (no pretraining: these cells predate the Gaussian prior's pretraining default, see
# benchmarks/pretraining_unsupervised.sh), package defaults otherwise. DATASET picks the data set (pneumoniamnist,
# chestxray2017, isic2018), OUT the folder; extra arguments go to ablate (e.g. --priors gmm
# --labeled-fracs 0.05 --baselines cnn for flowgmm-ae with labels, beside the plain CNN).
# Resumable. About 15 minutes on 2 CPU cores for PneumoniaMNIST, 30 for ChestXRay2017, 40 for
# ISIC 2018. Then:
#   python benchmarks/tables.py paired benchmarks/results/encoder_objective_pneumoniamnist \
#     --reference method=ae --by "" --show 'test_auc[flow],test_auc[recon],test_auc_best_val_all'
#   python benchmarks/score_rules.py benchmarks/results/encoder_objective_pneumoniamnist/runs/gaussian-* \
#     --out benchmarks/results/encoder_objective_pneumoniamnist/score_rules.csv
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/encoder_objective.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/encoder_objective_${DATASET:-pneumoniamnist}}"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gaussian --baselines ae \
  --labeled-fracs 0 --seeds 0,1,2 --grid encoder_objective=joint,reconstruction \
  --pretrain-fraction 0 --encoder-lr-scale 1 --out "$out" "$@" \
  2>&1 | tee "$out.log"
