#!/usr/bin/env bash
# Does a latent with more channels let flowgmm-ae's decoder reconstruct grey images, without the
# cost to the density that a wider (8 x 8) latent had on the chest X-rays? --latent-channels 32 and
# 64 (16 was the default when this was measured; 64 is since), 5 % labels, three seeds.
# DATASET picks the data set (pneumoniamnist by default), OUT the folder; extra arguments go to
# ablate (a later --grid or --seeds replaces this one's). The calls that made the committed tables,
# the 16-channel runs beside them, and the table commands: benchmarks/results/latent_channels/README.md.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/latent_channels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results/latent_channels_${DATASET:-pneumoniamnist}}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "${DATASET:-pneumoniamnist}" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2 --grid latent_channels=32,64 --out "$out" "$@" 2>&1 | tee "$out.log"
