#!/usr/bin/env bash
# Is the comparison with Deep SAD fair now that flowgmm-ae's latent has 64 channels? Deep SAD runs
# on the same encoder, whose latent keeps 16 channels for every baseline; here it gets 64
# (--latent-channels 64), 5 % labels, five seeds, paired seed by seed with the 16-channel Deep SAD
# runs of the README's table (same seeds, same labeled images). DATASET picks the data set
# (pneumoniamnist by default), OUT the folder; extra arguments go to ablate.
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/deepsad_channels.sh
# The table commands: benchmarks/results/deepsad_channels/README.md. About 5 (PneumoniaMNIST),
# 5 (ChestXRay2017) and 15 (ISIC 2018) minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="${OUT:-benchmarks/results/deepsad_channels_$dataset}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors "" --baselines deepsad \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid latent_channels=64 --out "$out" "$@" 2>&1 \
  | tee "$out.log"
