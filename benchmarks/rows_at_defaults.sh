#!/usr/bin/env bash
# flowgmm-ae at today's package defaults on the settings whose flowgmm-ae rows were measured before
# the 64-channel latent: labels from melanoma only on ISIC 2018 (five seeds), 1 % labels on the
# three development sets (three seeds), labels from bacterial pneumonia only on ChestXRay2017,
# ChestXRay2017 with 0 % and 10 % of the unlabeled pool replaced by hidden anomalies (five seeds),
# ISIC 2018 at 10 epochs (five seeds, the point benchmarks/auc_vs_minutes.py draws beside the
# 25-epoch default), and ISIC 2018 with 10 % of the pool replaced (five seeds; here the CNN and
# Deep SAD are trained too, since their earlier runs predate the flipped labels). The other
# baselines' runs of the same seeds (same labeled and hidden images) stand in the folders named
# below; the rows are paired against them with benchmarks/tables.py (commands in docs/results.md).
# Resumable; about 180 minutes on 2 CPU cores.
# ROWS picks a subset (default: all), e.g. ROWS="one_percent".
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/rows_at_defaults.sh
set -euo pipefail
cd "$(dirname "$0")/.."
results=benchmarks/results
rows="${ROWS:-unseen_isic one_percent unseen_chest contamination_chest epochs10_isic contamination_isic}"
for row in $rows; do
  case "$row" in
    unseen_isic)  # beside benchmarks/results/unseen_subtypes_isic2018_current (cnn, deepsad)
      OUT="$results/unseen_subtypes_isic2018_64ch" bash benchmarks/unseen_subtypes_isic2018.sh \
        --baselines "" ;;
    one_percent)  # beside benchmarks/results/one_percent_DATASET (cnn, deepsad)
      for dataset in pneumoniamnist chestxray2017 isic2018; do
        out="$results/one_percent_${dataset}_64ch"
        mkdir -p "$out"
        flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "" --labeled-fracs 0.01 \
          --seeds 0,1,2 --out "$out" 2>&1 | tee "$out.log"
      done ;;
    unseen_chest)  # beside benchmarks/results/unseen_subtypes_chestxray2017_rerun (cnn)
      out="$results/unseen_subtypes_chestxray2017_64ch"
      mkdir -p "$out"
      flowgmm-ae ablate --dataset chestxray2017 --priors gmm --baselines "" --labeled-fracs 0.05 \
        --seeds 0,1,2,3,4 --labeled-subtypes bacteria --out "$out" 2>&1 | tee "$out.log" ;;
    contamination_chest)  # beside benchmarks/results/contamination_chestxray2017_replace
      DATASET=chestxray2017 OUT="$results/contamination_chestxray2017_64ch" \
        bash benchmarks/contamination.sh --priors gmm --baselines "" --contaminations 0,0.1 ;;
    contamination_isic)  # clean pools: latent_channels_isic2018 and flip_rotate_labeled_isic2018
      # (the same images as contamination 0); the baselines' earlier runs had no flips, so they
      # are trained again here at today's defaults
      DATASET=isic2018 OUT="$results/contamination_isic2018_64ch" \
        bash benchmarks/contamination.sh --baselines cnn,deepsad --contaminations 0.1 ;;
    epochs10_isic)  # beside benchmarks/results/epochs_isic2018 (cnn, deepsad at 10 epochs)
      out="$results/epochs_isic2018_64ch"
      mkdir -p "$out"
      flowgmm-ae ablate --dataset isic2018 --priors gmm --baselines "" --labeled-fracs 0.05 \
        --seeds 0,1,2,3,4 --grid epochs=10 --out "$out" 2>&1 | tee "$out.log" ;;
    *) echo "unknown row: $row" >&2; exit 2 ;;
  esac
done
