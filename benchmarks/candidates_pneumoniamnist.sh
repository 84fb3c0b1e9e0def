#!/usr/bin/env bash
# Candidate changes on top of the BatchNorm default, one at a time: 40 epochs, 32 labeled anomalies
# per batch, --class-weight 1; flowgmm-ae on PneumoniaMNIST, 5 % labels, seeds 0-2 (run by hand,
# never in CI; about 25 minutes on 2 CPU cores). One ablate call per candidate, each in its folder;
# resumable. Then, for each candidate, against the default's cells of the PneumoniaMNIST grid:
#   python benchmarks/tables.py paired benchmarks/results/ablation_pneumoniamnist_honest/results.csv \
#     benchmarks/results/candidates_pneumoniamnist/epochs=40 --where method=flowgmm-ae \
#     --where labeled_frac=0.05 --reference setting= --by labeled_frac
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/candidates_pneumoniamnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for candidate in epochs=40 labeled_batch_size=32 class_weight=1; do
  flowgmm-ae ablate --dataset pneumoniamnist --priors gmm --labeled-fracs 0.05 --seeds 0,1,2 \
    --grid "$candidate" --out "benchmarks/results/candidates_pneumoniamnist/$candidate"
done 2>&1 | tee benchmarks/results/candidates_pneumoniamnist.log
