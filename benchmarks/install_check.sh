#!/usr/bin/env bash
# Installs flowgmm-ae two ways, each in a fresh virtual environment, and writes what happened to
# benchmarks/results/install_check.log:
#   1. beside a torch the user already has (the local CPU build of 2.13.0 here), without the
#      constraints file: pip must keep that torch, and the package must import and train;
#   2. the README's first command (pip install -c constraints.txt -e .): the tested, pinned set.
#     bash benchmarks/install_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log="$root/benchmarks/results/install_check.log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$log")"
exec > >(tee "$log") 2>&1

echo "# install_check.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(python3 --version), commit $(git rev-parse --short HEAD)"
quiet() { grep -v "^WARNING: Location" || true; }

echo
echo "## 1. Into an environment that already has torch, without constraints.txt"
python3 -m venv "$work/own"
"$work/own/bin/pip" install -q torch==2.13.0 2>&1 | quiet
before=$("$work/own/bin/python" -W ignore -c "import torch; print(torch.__version__, torch.__file__)")
echo "torch before: $before"
start=$(date +%s)
"$work/own/bin/pip" install -e "$root" 2>&1 | quiet | grep -iE "torch|Successfully installed" || true
echo "pip install -e . took $(( $(date +%s) - start )) s"
after=$("$work/own/bin/python" -W ignore -c "import torch; print(torch.__version__, torch.__file__)")
echo "torch after:  $after"
[ "$before" = "$after" ] && echo "OK: pip left the torch that was there untouched" || { echo "FAILED: torch changed"; exit 1; }
(cd "$work" && "$work/own/bin/python" - <<'EOF'
import numpy as np
from flowgmm_ae import FlowGMMAE

rng = np.random.default_rng(0)
x = rng.random((48, 16, 16), dtype=np.float32)
y = np.r_[np.zeros(40), np.ones(8)]
det = FlowGMMAE(epochs=1, min_steps=0, base_width=8, latent_channels=4, flow_steps=2, flow_hidden=16).fit(x, y)
print(f"OK: imported and trained a tiny model; decision_scores_ {det.decision_scores_.shape}, threshold {det.threshold_:.3f}")
EOF
)

echo
echo "## 2. The README's first command: pip install -c constraints.txt -e ."
python3 -m venv "$work/pinned"
start=$(date +%s)
"$work/pinned/bin/pip" install -q -c "$root/constraints.txt" -e "$root" 2>&1 | quiet
echo "pip install -c constraints.txt -e . took $(( $(date +%s) - start )) s"
"$work/pinned/bin/python" -c "import torch, normflows, pytorch_msssim; print('imports OK; torch', torch.__version__)"
"$work/pinned/bin/pip" freeze 2>/dev/null | grep -iE "^(torch|normflows|pytorch-msssim)==" | sed 's/^/  /'
"$work/pinned/bin/flowgmm-ae" --version
echo "du of the environment: $(du -sh "$work/pinned" | cut -f1)"
