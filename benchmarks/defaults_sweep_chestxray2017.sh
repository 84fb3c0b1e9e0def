#!/usr/bin/env bash
# The defaults sweep on ChestXRay2017 under the honest protocol (run by hand, never in CI):
# flowgmm-ae at the default 32 px with 5 % labeled anomalies, seeds 0-2, for 10 / 25 / 40 epochs,
# and for 25 epochs without augmentation. Validation is carved by patient. Settings are compared on
# validation AUC: the run's own (label-budgeted, 19 anomalies) and with every validation anomaly
# label (388; a developer's tuning set, used for no run's checkpoint or threshold); the test column
# is recorded, not used. About 30 minutes on 2 CPU cores; resumable. Then:
#   python benchmarks/tables.py summary benchmarks/results/defaults_sweep_chestxray2017 \
#     benchmarks/results/defaults_sweep_chestxray2017/no_augment --by epochs,augment \
#     --metric val_auc,val_auc_all_labels,auc
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/defaults_sweep_chestxray2017.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/defaults_sweep_chestxray2017
common=(--dataset chestxray2017 --image-size 32 --priors gmm --labeled-fracs 0.05 --seeds 0,1,2)
flowgmm-ae ablate "${common[@]}" --grid epochs=10,25,40 --out "$out"
flowgmm-ae ablate "${common[@]}" --epochs 25 --no-augment --out "$out/no_augment"
