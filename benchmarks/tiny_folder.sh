#!/usr/bin/env bash
# A new user's small folder: 253 ChestXRay2017 training images (100 normal, 153 pneumonia, whole
# patients) copied into folder:PATH/{normal,abnormal}/, so that the package carves a 20 % test and a
# 10 % validation part by patient (--group-pattern) and about 70 normal images are left to train on.
# flowgmm-ae and the in-harness classifier with --min-steps 400 and 0 (0 = the old schedule: 25
# epochs of one 2-step pass), 5 % labels, seeds 0-2 (run by hand, never in CI; ~12 minutes); one
# ablate call, which writes the table (results.md); resumable.
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/tiny_folder.sh
# OUT (results folder), DATA (the copied folder, default OUT/data) and MIN_STEPS (default 400,0)
# rerun it elsewhere, e.g. at later defaults without the --min-steps 0 runs:
#   OUT=benchmarks/results/tiny_folder_batchnorm DATA=benchmarks/results/tiny_folder/data \
#   MIN_STEPS=400 bash benchmarks/tiny_folder.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source="${FLOWGMM_AE_DATA:?set FLOWGMM_AE_DATA to the folder holding chestxray2017/}/chestxray2017/train"
out="${OUT:-benchmarks/results/tiny_folder}"
data="${DATA:-$out/data}"
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
flowgmm-ae ablate --dataset "folder:$data" --group-pattern "$pattern" --priors gmm --baselines supervised \
  --labeled-fracs 0.05 --seeds 0,1,2 --grid "min_steps=${MIN_STEPS:-400,0}" --out "$out"
