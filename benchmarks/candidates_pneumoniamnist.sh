#!/usr/bin/env bash
# Candidate changes on top of the defaults, one at a time (--case): 40 epochs, 32 labeled anomalies
# per batch, --class-weight 1; flowgmm-ae on PneumoniaMNIST, 5 % labels, seeds 0-2, beside the
# defaults' own cells (run by hand, never in CI; about 30 minutes on 2 CPU cores). Resumable. Then:
#   python benchmarks/tables.py paired benchmarks/results/candidates_pneumoniamnist \
#     --reference epochs=25,labeled_batch_size=16,class_weight=0 --by labeled_frac --show val_auc_all_labels,wall_s
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/candidates_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/candidates_pneumoniamnist
flowgmm-ae ablate --dataset pneumoniamnist --priors gmm --labeled-fracs 0.05 --seeds 0,1,2 \
  --case epochs=40 --case labeled_batch_size=32 --case class_weight=1 --out "$out" 2>&1 | tee "$out.log"
