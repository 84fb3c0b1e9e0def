#!/usr/bin/env bash
# glibc malloc vs jemalloc for CPU training at 128 px, alternating runs (ABAB) so that both see the
# same machine load. glibc hands every tensor above 32 MB back to the kernel when it is freed, so
# each step page-faults its activations in again (visible as high system time); jemalloc keeps them.
#   apt-get install libjemalloc2 && bash benchmarks/allocator.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jemalloc=$(ls /usr/lib/*/libjemalloc.so.2 2>/dev/null | head -n 1)
[ -n "$jemalloc" ] || { echo "libjemalloc.so.2 not found (apt-get install libjemalloc2)"; exit 1; }
size="${SIZE:-128}"
log=benchmarks/results/allocator_${size}px.txt
echo "# glibc vs jemalloc, ${size} px, $(date -I); row: size | train img/s | inference img/s | GFLOP/img | GFLOP/s | share | RSS MiB | params" > "$log"
for round in 1 2; do
  /usr/bin/time -a -o "$log" -f "glibc round $round: %e s wall, %S s system" \
    python benchmarks/throughput.py --sizes "$size" --steps 5 --warmup 1 --tag "glibc$round" | tail -n 1 | tee -a "$log"
  LD_PRELOAD="$jemalloc" /usr/bin/time -a -o "$log" -f "jemalloc round $round: %e s wall, %S s system" \
    python benchmarks/throughput.py --sizes "$size" --steps 5 --warmup 1 --tag "jemalloc$round" | tail -n 1 | tee -a "$log"
done
rm -f benchmarks/results/throughput_cpu_glibc* benchmarks/results/throughput_cpu_jemalloc*
