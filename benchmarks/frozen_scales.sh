#!/usr/bin/env bash
# Does a mixture whose components keep unit scales (--freeze-scales, FlowGMM's identity
# covariances) stop the anomaly component from memorising its few labels? 5 % labels, five seeds,
# the package defaults otherwise (fused score); only the variant's cells train. They pair seed by
# seed with the defaults' runs of benchmarks/fused_score.sh (same seeds and labels), which score_rules
# reads beside them:
#   FLOWGMM_AE_DATA=../shared/data DATASET=isic2018 bash benchmarks/frozen_scales.sh
#   python benchmarks/tables.py paired benchmarks/results/frozen_scales_isic2018/results.csv \
#     benchmarks/results/fused_score_isic2018/score_fused/results.csv --where threshold_policy=f1 \
#     --reference method=flowgmm-ae,setting= --by "" --show 'test_auc[posterior],test_auc[recon],wall_s'
# About 40 minutes for the three data sets on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
out="benchmarks/results/frozen_scales_$dataset"
mkdir -p "$out"
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --grid freeze_scales=true --out "$out" "$@" 2>&1 | tee "$out.log"
python benchmarks/score_rules.py "$out"/runs/gmm-* --out "$out/score_rules.csv"
