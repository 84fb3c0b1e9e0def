#!/usr/bin/env bash
# ChestXRay2017: flowgmm-ae at the package defaults (BatchNorm, posterior score) against
# the plain CNN and the other label users, 1 % and 5 % labels, five paired seeds, 32 px, 25 epochs,
# honest protocol (patient-disjoint validation, label budget). Resumable. About 45 minutes on 2 CPU
# cores. Then compare seed by seed:
#   python benchmarks/tables.py paired benchmarks/results/strong_classifier_chestxray2017 \
#     --reference method=cnn --by budget --show wall_s
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/strong_classifier_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/strong_classifier_chestxray2017
mkdir -p "$out"
flowgmm-ae ablate --dataset chestxray2017 --priors gmm --baselines cnn,supervised,deepsad \
  --labeled-fracs 0.01,0.05 --seeds 0,1,2,3,4 --plot-budget 0.05 \
  --out "$out" 2>&1 | tee "$out.log"
