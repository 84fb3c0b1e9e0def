#!/usr/bin/env bash
# In-domain pretraining of AE-FLOW's encoder: --pretrain-fraction 0.25 (the encoder and decoder first
# trained as an SSIM autoencoder on the unlabeled pool for a quarter of the run's steps, as Deep
# SAD's encoder is) and the encoder then fine-tuned at the full learning rate or at a tenth of it
# (--encoder-lr-scale 1, 0.1; LR_SCALES picks others, e.g. 0.1,0.3). flowgmm-ae at 5 % labels,
# seeds 0-2, package defaults otherwise.
# DATASET picks the data set, OUT the folder; extra arguments go to ablate (e.g. --priors gaussian
# --labeled-fracs 0 for unsupervised AE-FLOW). The defaults' cells of the same seeds and labels are
# the clean-pool cells of benchmarks/results/contamination_${DATASET}_replace; paired with them:
#   python benchmarks/tables.py paired benchmarks/results/pretraining_isic2018/results.csv \
#     benchmarks/results/contamination_isic2018_replace/results.csv \
#     --where contamination=0 --reference method=flowgmm-ae,setting= --by ""
# Resumable. About 25 minutes on 2 CPU cores for ISIC 2018, 9 for PneumoniaMNIST.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/pretraining.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/pretraining_${DATASET:-pneumoniamnist}}"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2 --grid pretrain_fraction=0.25 --grid encoder_lr_scale="${LR_SCALES:-1,0.1}" \
  --out "$out" "$@" 2>&1 | tee "$out.log"
