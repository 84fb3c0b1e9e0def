#!/usr/bin/env bash
# A new user's small folder: 253 ChestXRay2017 training images (100 normal, 153 pneumonia, whole
# patients) copied into folder:PATH/{normal,abnormal}/, so that the package carves a 20 % test and a
# 10 % validation part by patient (--group-pattern) and about 70 normal images are left to train on.
# flowgmm-ae with and without --min-steps (0 = the old schedule: 25 epochs of one 2-step pass)
# against the in-harness classifier, 5 % labels, seeds 0-2 (run by hand, never in CI; ~10 minutes).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/tiny_folder.sh
# OUT (results folder), DATA (the copied folder, default OUT/data) and VARIANTS ("name:options|...")
# rerun it elsewhere, e.g. at later defaults without the --min-steps 0 runs:
#   OUT=benchmarks/results/tiny_folder_batchnorm DATA=benchmarks/results/tiny_folder/data \
#   VARIANTS="gmm-minsteps400:--min-steps 400|supervised:--method supervised" bash benchmarks/tiny_folder.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017/train"
out="${OUT:-benchmarks/results/tiny_folder}"
data="${DATA:-$out/data}"
IFS='|' read -r -a variants <<< "${VARIANTS:-gmm-minsteps400:--min-steps 400|gmm-minsteps0:--min-steps 0|supervised:--method supervised}"
mkdir -p "$out"
pattern='^(person[0-9]+|[A-Z0-9-]*IM-[0-9]+)'
if [ ! -d "$data" ]; then
  mkdir -p "$data/normal" "$data/abnormal"
  # Whole patients, the first ones in name order, until the counts are reached.
  python - "$source" "$data" "$pattern" <<'EOF'
import re, shutil, sys
from collections import defaultdict
from pathlib import Path
source, data, pattern = Path(sys.argv[1]), Path(sys.argv[2]), re.compile(sys.argv[3])
for folder, target, wanted in (("NORMAL", "normal", 100), ("PNEUMONIA", "abnormal", 153)):
    patients = defaultdict(list)
    for file in sorted((source / folder).iterdir()):
        patients[pattern.search(file.name).group(1)].append(file)
    taken = 0
    for files in patients.values():
        for file in files[: wanted - taken]:
            shutil.copy(file, data / target / file.name)
            taken += 1
        if taken == wanted:
            break
EOF
fi
flowgmm-ae data info --dataset "folder:$data" --group-pattern "$pattern" --image-size 32 | tee "$out/data_info.txt"
for seed in 0 1 2; do
  for variant in "${variants[@]}"; do
    name="${variant%%:*}"; options="${variant#*:}"
    run="$out/runs/$name-s$seed"
    [ -f "$run/metrics.json" ] && continue
    rm -rf "$run"
    # shellcheck disable=SC2086
    flowgmm-ae train --dataset "folder:$data" --group-pattern "$pattern" --labeled-frac 0.05 \
      --seed "$seed" $options --out "$run" --quiet
  done
done
python benchmarks/group_runs.py "$out/runs" --title "A 253-image folder (ChestXRay2017 subset), 5 % labels" --out "$out/results.md"
