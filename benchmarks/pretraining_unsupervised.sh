#!/usr/bin/env bash
# Unsupervised AE-FLOW (no labels, standard Gaussian prior) on an encoder pretrained in-domain:
# --pretrain-fraction 0.25 (encoder and decoder first trained as an SSIM autoencoder on the
# unlabeled pool for a quarter of the run's steps), then the whole objective (--encoder-objective
# joint) with the encoder fine-tuned at a tenth of the learning rate, as AE-FLOW fits its flow on a
# pretrained trunk. Seeds 0-2, package defaults otherwise. DATASET picks the data set, OUT the folder.
# Its references, same seeds and options, are the cells of benchmarks/results/encoder_objective_${DATASET}
# (the plain autoencoder `ae`, and AE-FLOW from scratch with either objective); paired with them:
#   python benchmarks/tables.py paired benchmarks/results/pretraining_unsupervised_isic2018/results.csv \
#     benchmarks/results/encoder_objective_isic2018/results.csv --reference method=ae --by ""
#   python benchmarks/score_rules.py benchmarks/results/pretraining_unsupervised_isic2018/runs/gaussian-* \
#     --out benchmarks/results/pretraining_unsupervised_isic2018/score_rules.csv
# Resumable. About 15 minutes on 2 CPU cores for ISIC 2018 and ChestXRay2017, 8 for PneumoniaMNIST.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/pretraining_unsupervised.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/pretraining_unsupervised_${DATASET:-pneumoniamnist}}"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gaussian --baselines "" \
  --labeled-fracs 0 --seeds 0,1,2 --grid pretrain_fraction=0.25 --grid encoder_lr_scale=0.1 \
  --grid encoder_objective=joint --out "$out" "$@" 2>&1 | tee "$out.log"
