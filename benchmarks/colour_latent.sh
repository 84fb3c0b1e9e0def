#!/usr/bin/env bash
# Does every method that uses flowgmm-ae's encoder gain from an 8 x 8 latent on colour images?
# ISIC 2018 at 32 px, --stride 4 (8 x 8) against the 4 x 4 latent grey images keep: flowgmm-ae at
# 5 % labels (five seeds, paired with benchmarks/flip_rotate.sh's FLIP=labeled runs, the defaults on
# ISIC 2018 then), unsupervised AE-FLOW seeds 3-4 (seeds 0-2 are benchmarks/latent_width.sh's),
# the plain autoencoder and Deep SAD (five seeds each, paired with the runs of
# benchmarks/pretraining_unsupervised.sh and benchmarks/flip_rotate.sh). The plain CNN has its own
# architecture and no latent. About 75 minutes on 2 CPU cores:
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/colour_latent.sh
# Tables: python benchmarks/tables.py paired on each folder's results.csv with its reference's
# (docs/results.md gives the calls).
set -euo pipefail
cd "$(dirname "$0")/.."
run() {  # run OUT ABLATE-ARGS...
  local out="benchmarks/results/$1"
  shift
  mkdir -p "$out"
  flowgmm-ae ablate --dataset isic2018 --grid stride=4 --out "$out" "$@" 2>&1 | tee "$out.log"
}
run latent_width_gmm_isic2018 --priors gmm --baselines "" --labeled-fracs 0.05 --seeds 0,1,2,3,4
run latent_width_isic2018_s34 --priors gaussian --baselines "" --labeled-fracs 0 --seeds 3,4
run latent_width_ae_isic2018 --priors "" --baselines ae --labeled-fracs 0 --seeds 0,1,2,3,4
run latent_width_baselines_isic2018 --priors "" --baselines deepsad --labeled-fracs 0.05 \
  --seeds 0,1,2,3,4
