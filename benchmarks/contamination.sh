#!/usr/bin/env bash
# Unlabeled pools that hold anomalies: flowgmm-ae, the plain CNN, Deep SAD and DevNet at
# 5 % labels with 0 %, 5 % and 10 % hidden anomalies in the unlabeled pool (--contaminations), five
# paired seeds, package defaults. The CNN and DevNet take the pool as normal; Deep SAD uses its
# unlabeled term; flowgmm-ae uses its pool objective (--pool): POOL=trim (default) leaves each
# batch's most anomalous fraction c out, POOL=marginal explains the pool by the mixture marginal
# with weights (1 - c, c) as FlowGMM does, POOL=normal takes it as normal. DATASET picks the data
# set (default pneumoniamnist; chestxray2017 too), CONTAMINATIONS the levels (default 0,0.05,0.1),
# METHODS the baselines (default cnn,deepsad,devnet; "" for flowgmm-ae alone), ASSUMED the
# contamination flowgmm-ae assumes when it differs from the true one (--assumed-contamination; e.g.
# ASSUMED=0.05 with CONTAMINATIONS=0,0.1). A POOL other than trim, or an ASSUMED, writes to its own
# folder (..._marginal, ..._normal, ..._assumed0.05) and copies no clean cells. Resumable: rerunning
# with more levels trains only the new cells.
#
# The clean-pool cells (c = 0) are the ones of the PneumoniaMNIST grid at the same defaults
# (benchmarks/ablation_pneumoniamnist.sh; CLEAN names another folder, e.g.
# benchmarks/results/strong_classifier_chestxray2017): when that folder exists they are copied, not
# retrained (ablate checks that their options match). About 35 minutes on 2 CPU cores then (about 55 without them).
#   FLOWGMM_AE_DATA=../shared/data DATASET=pneumoniamnist bash benchmarks/contamination.sh
# Then: python benchmarks/robustness_tables.py contamination benchmarks/results/contamination_pneumoniamnist
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${DATASET:-pneumoniamnist}"
pool="${POOL:-trim}"
out="benchmarks/results/contamination_${dataset}"
[ "$pool" = trim ] || out="${out}_${pool}"
assumed=()
if [ -n "${ASSUMED:-}" ]; then
  out="${out}_assumed${ASSUMED}"
  assumed=(--assumed-contamination "$ASSUMED")
fi
methods="${METHODS-cnn,deepsad,devnet}"  # the encoder-head classifier (supervised) left out to save CPU: cnn is the strong classifier
mkdir -p "$out/runs"
clean="${CLEAN:-benchmarks/results/ablation_${dataset}_honest}/runs"
if [ -d "$clean" ] && [ -z "${ASSUMED:-}" ]; then
  for variant in gmm ${methods//,/ }; do
    for seed in 0 1 2 3 4; do
      cell="$variant-f0.05-s$seed"
      [ -f "$clean/$cell/metrics.json" ] && [ ! -e "$out/runs/$cell" ] && cp -r "$clean/$cell" "$out/runs/$cell"
    done
  done
fi
flowgmm-ae ablate --dataset "$dataset" --priors gmm --baselines "$methods" \
  --labeled-fracs 0.05 --seeds 0,1,2,3,4 --contaminations "${CONTAMINATIONS:-0,0.05,0.1}" \
  --pool "$pool" "${assumed[@]}" --out "$out" 2>&1 | tee "$out.log"
