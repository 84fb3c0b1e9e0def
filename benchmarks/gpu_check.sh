#!/usr/bin/env bash
# The prepared GPU check (run once on a machine with a CUDA GPU, e.g. through the device tool):
# the CUDA path end to end, throughput at 128 and 256 px in fp32 and bf16, and a short DDP run on
# every visible GPU. Results land in benchmarks/results/throughput_cuda*.md and gpu_check/.
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
python benchmarks/throughput.py --sizes 128,256 --device cuda --precision fp32 --steps 10
python benchmarks/throughput.py --sizes 128,256 --device cuda --precision bf16 --steps 10
out=benchmarks/results/gpu_check && rm -rf "$out" && mkdir -p "$out"
flowgmm-ae train --dataset synthetic --image-size 64 --epochs 2 --device cuda --precision bf16 \
  --quiet --out "$out/single"
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -gt 1 ]; then
  python -m torch.distributed.run --standalone --nproc-per-node "$gpus" -m flowgmm_ae.cli train \
    --dataset synthetic --image-size 64 --epochs 2 --device cuda --quiet --out "$out/ddp"
fi
