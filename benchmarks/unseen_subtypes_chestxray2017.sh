#!/usr/bin/env bash
# Anomaly types no label covered: ChestXRay2017 with labels drawn from bacterial
# pneumonia only (viral pneumonia unseen), and the reverse; every label-using method, 5 % of the
# named subtype's training images, five paired seeds, package defaults (32 px, 25 epochs, honest
# protocol). results.md shows seen and unseen AUC side by side and AUC per subtype. Resumable.
# About 70 minutes on 2 CPU cores. Then the unseen AUC seed by seed against the plain CNN:
#   python benchmarks/tables.py paired benchmarks/results/unseen_subtypes_chestxray2017 \
#     --reference method=cnn --by setting --metric auc_unseen --show auc_seen
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/unseen_subtypes_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/unseen_subtypes_chestxray2017
mkdir -p "$out"
flowgmm-ae ablate --dataset chestxray2017 --priors gmm --baselines cnn,supervised,deepsad,devnet \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 \
  --labeled-subtypes bacteria --labeled-subtypes virus \
  --out "$out" 2>&1 | tee "$out.log"
