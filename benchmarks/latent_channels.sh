#!/usr/bin/env bash
# Does a latent with more channels let flowgmm-ae's decoder reconstruct grey images, without the
# cost to the density that a wider (8 x 8) latent had on the chest X-rays? --latent-channels 32 and
# 64 at the default 4 x 4 latent (16 channels is the default), 5 % labels, three seeds; paired with
# benchmarks/fused_score.sh's runs of the defaults. DATASET picks the data set (pneumoniamnist by
# default), OUT the folder; extra arguments go to ablate. Then:
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/latent_channels.sh
#   python benchmarks/tables.py paired benchmarks/results/latent_channels_pneumoniamnist/results.csv \
#     benchmarks/results/fused_score_pneumoniamnist/results.csv --where threshold_policy=f1 \
#     --where seed!=3 --where seed!=4 --reference setting= --by method \
#     --show 'val_auc_all_labels,minutes,test_auc[recon],test_auc[posterior],test_auc[flow]'
#   python benchmarks/reconstruction_quality.py benchmarks/results/latent_channels_pneumoniamnist/runs/*
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/latent_channels_${DATASET:-pneumoniamnist}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2 --grid latent_channels=32,64 --out "$out" "$@" 2>&1 | tee "$out.log"
