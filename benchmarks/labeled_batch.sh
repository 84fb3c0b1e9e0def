#!/usr/bin/env bash
# Does a larger labeled batch help flowgmm-ae at the current defaults? --labeled-batch-size 32
# (16 is the default), 5 % labels, five seeds. Only the variant's cells train; they pair seed by
# seed with the defaults' runs of benchmarks/latent_channels.sh (same seeds, same labeled images).
# DATASET picks the data set (isic2018 by default), OUT the folder; extra arguments go to ablate.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/labeled_batch.sh
#   python benchmarks/tables.py paired benchmarks/results/labeled_batch_isic2018/results.csv \
#     benchmarks/results/latent_channels_isic2018/results.csv --where threshold_policy=f1 \
#     --reference setting=latent_channels=64 --by method --show 'val_auc_all_labels,minutes'
# About 40 minutes on ISIC 2018 and 12 on each chest X-ray set, on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-isic2018}"
FIELD=labeled_batch_size VALUES=32 SEEDS=0,1,2,3,4 DATASET="$dataset" \
  OUT="${OUT:-benchmarks/results/labeled_batch_$dataset}" bash benchmarks/one_axis.sh "$@"
