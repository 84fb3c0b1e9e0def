#!/usr/bin/env bash
# What fewer or more epochs buy on ISIC 2018, the development set whose runs take longest (55 steps an
# epoch against 19 on the chest X-rays): flowgmm-ae, the plain CNN and Deep SAD at 10 epochs, and the
# CNN at 50, 5 % labels, five paired seeds, package defaults otherwise. They pair seed by seed with
# the 25-epoch runs of benchmarks/colour_latent.sh (flowgmm-ae) and benchmarks/flip_rotate.sh (the
# CNN and Deep SAD); benchmarks/auc_vs_minutes.py draws all of them as test AUC against minutes.
# About 40 minutes on 2 CPU cores; OUT names another folder (the CNN's 50-epoch runs go to OUT_cnn50).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/epochs_isic2018.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/epochs_isic2018}"
mkdir -p "$out"
flowgmm-ae ablate --dataset isic2018 --priors gmm --baselines cnn,deepsad \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid epochs=10 --out "$out" "$@" 2>&1 | tee "$out.log"
flowgmm-ae ablate --dataset isic2018 --priors "" --baselines cnn \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid epochs=50 --out "${out}_cnn50" "$@" 2>&1 \
  | tee "${out}_cnn50.log"
