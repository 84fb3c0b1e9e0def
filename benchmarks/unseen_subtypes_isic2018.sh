#!/usr/bin/env bash
# Anomaly types no label covered, on colour dermoscopy: ISIC 2018 with labels drawn from melanoma
# (MEL) only, every other lesion type unseen at training (BCC, AKIEC, BKL, DF, VASC); flowgmm-ae,
# the plain CNN, Deep SAD and the unsupervised autoencoder, 5 % of the MEL training images, five
# paired seeds, package defaults. Resumable. About 60 minutes on 2 CPU cores; OUT names another
# folder, extra arguments go to `ablate` (`--baselines cnn,deepsad` to leave out the autoencoder, which
# sees no label). Runs before the fused score became the default were rescored with it, and the
# unseen AUC tabled seed by seed against each baseline:
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/unseen_subtypes_isic2018.sh
#   python benchmarks/rescore.py benchmarks/results/unseen_subtypes_isic2018 --score fused
#   python benchmarks/tables.py paired benchmarks/results/unseen_subtypes_isic2018 \
#     --reference method=cnn --metric auc_unseen --show auc_seen
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/unseen_subtypes_isic2018}"
mkdir -p "$out"
flowgmm-ae ablate --dataset isic2018 --priors gmm --baselines cnn,deepsad,ae \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --labeled-subtypes MEL \
  --out "$out" "$@" 2>&1 | tee "$out.log"
