#!/usr/bin/env bash
# Does a wider latent let unsupervised AE-FLOW's decoder reconstruct lesions, and its maps localise
# them? The Gaussian prior's defaults (a pretrained encoder) with --stride 4, an 8 x 8 latent at
# 32 px instead of the default 4 x 4, three seeds, no labels; paired with the defaults' runs of
# benchmarks/pretraining_unsupervised.sh. DATASET picks the data set (isic2018 by default), OUT the
# folder; extra arguments go to ablate (`--priors gmm --labeled-fracs 0.05` for flowgmm-ae, paired
# with benchmarks/fused_score.sh's runs). Then:
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/latent_width.sh
#   python benchmarks/tables.py paired benchmarks/results/latent_width_isic2018/results.csv \
#     benchmarks/results/pretraining_unsupervised_isic2018/results.csv --reference stride= --by "" \
#     --show 'test_auc[flow],test_auc[recon],val_auc_all_labels,minutes'
#   python benchmarks/reconstruction_quality.py benchmarks/results/latent_width_isic2018/runs/*
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/latent_width_${DATASET:-isic2018}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-isic2018}" --priors gaussian --baselines "" \
  --labeled-fracs 0 --seeds 0,1,2 --grid stride=4 --out "$out" "$@" 2>&1 | tee "$out.log"
