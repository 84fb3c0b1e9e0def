#!/usr/bin/env bash
# One option of flowgmm-ae at other values than its default, 5 % labels: FIELD names the option
# (any field `ablate --grid` takes), VALUES its values (comma-separated), DATASET the data set
# (isic2018 by default), SEEDS the seeds (0,1,2,3,4), OUT the folder
# (benchmarks/results/FIELD_DATASET); extra arguments go to ablate. Only the variant's cells
# train; they pair seed by seed with the defaults' runs of benchmarks/latent_channels.sh (same
# seeds, same labeled images):
#   FLOWGMM_AE_DATA=../shared/data FIELD=labeled_weight VALUES=2 SEEDS=0,1 bash benchmarks/one_axis.sh
#   python benchmarks/tables.py paired benchmarks/results/labeled_weight_isic2018/results.csv \
#     benchmarks/results/latent_channels_isic2018/results.csv --where threshold_policy=f1 \
#     --reference setting=latent_channels=64 --by method --show 'val_auc_all_labels,minutes'
# About 7 minutes a run on ISIC 2018 and 2.3 on each chest X-ray set, on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
field="${FIELD:?name the option: FIELD=labeled_weight, for example}"
values="${VALUES:?give its values: VALUES=0.25,2, for example}"
dataset="${DATASET:-isic2018}"
out="${OUT:-benchmarks/results/${field}_$dataset}"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds "${SEEDS:-0,1,2,3,4}" --grid "$field=$values" \
  --out "$out" "$@" 2>&1 | tee -a "$out.log"
