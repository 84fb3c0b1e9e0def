#!/usr/bin/env bash
# 64 px instead of 32 px at today's defaults: flowgmm-ae (fused score, 64 latent channels, a 4 x 4
# latent, so one more encoder stage), the plain CNN and Deep SAD, 5 % labels, three seeds, so each
# method is paired with its own 32 px runs of the same seeds (same labeled images). DATASET picks the
# data set (chestxray2017 by default; PneumoniaMNIST's images are 28 px, so 64 px only upsamples
# them), OUT the folder; extra arguments go to ablate (e.g. --baselines "" for flowgmm-ae alone).
# Resumable. The 32 px runs it pairs with and the table commands: docs/results.md.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/image_size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/image_size_${DATASET:-chestxray2017}_64px}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-chestxray2017}" --priors gmm --baselines cnn,deepsad \
  --labeled-fracs 0.05 --seeds 0,1,2 --grid image_size=64 --out "$out" "$@" 2>&1 | tee "$out.log"
