#!/usr/bin/env bash
# The property-based tests of tests/test_fuzz.py at volume: EXAMPLES (default 1000) fresh cases of
# each input kind (image files of every mode and format, truncated or not; random bytes; arrays of
# any shape, dtype and values given to a fitted detector; CSV manifests read by `flowgmm-ae data
# info`; option values for `flowgmm-ae train`, each a tiny training), instead of CI's fixed,
# derandomised set.
# Writes benchmarks/results/fuzz.md: cases run per test and every failure (hypothesis prints the
# failing case and a blob to reproduce it; each becomes a regression test). Run by hand, never in
# CI; the option cases dominate (about 1 s each on 2 CPU cores).
#   FLOWGMM_AE_DATA=../shared/data bash benchmarks/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/fuzz.md
log=$(mktemp)
start=$(date +%s)
FLOWGMM_AE_HYPOTHESIS_PROFILE=volume FLOWGMM_AE_FUZZ_EXAMPLES="${EXAMPLES:-1000}" \
  python -m pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics > "$log" 2>&1
status=$?
{
  echo "# Fuzzing at volume ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD))"
  echo
  echo "\`EXAMPLES=${EXAMPLES:-1000} bash benchmarks/fuzz.sh\`: pytest exit status $status, $(( $(date +%s) - start )) s."
  echo
  echo '```'
  # The statistics section (cases per test: passing, failing, invalid), then any failure and the tally.
  sed -n '/Hypothesis Statistics/,$p' "$log" \
    | grep -E "^tests/.*:$|passing, |^ +\* [0-9.]+%|Stopped because|Falsifying|Error|[0-9]+ (passed|failed)"
  echo '```'
} > "$out"
cat "$out"
rm -f "$log"
exit "$status"
