#!/usr/bin/env bash
# The GPU check of issue 14, at most 8 minutes on one GPU (docs/benchmarks.md, "GPU"):
#   1. the CUDA subset of the tests (tests that take a device run on cuda: PSGAN_TEST_DEVICE=cuda),
#   2. images/s in bf16 autocast and fp32 at 64, 256, 1024 with the paper's batches,
#   3. a few minutes of training from 4x4 upwards with its sample grids,
#   4. the whole 4 -> 1024 schedule's time projected from the measured rates.
# Usage: scripts/gpu_check.sh [VENV] [OUT]      (DRY_RUN=1: the same on the CPU, tiny, to check the script)
set -euo pipefail
VENV=${1:-.venv}; OUT=${2:-out/gpu_check}
export PATH="$VENV/bin:$PATH"
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
if [ "${DRY_RUN:-0}" = 1 ]; then
  timeout 300 python scripts/gpu_check.py --dry-run --out "$OUT"
  exit
fi
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'Error: no CUDA device')"
echo "== 1. CUDA subset of the tests"
# test_psgan_train and test_psgan_generate train with --device auto (CUDA here); test_psgan_run reads
# PSGAN_TEST_DEVICE. The CUDA->CPU test fakes a CUDA checkpoint, so it is left to the CPU runs.
PSGAN_TEST_DEVICE=cuda timeout 150 python -m pytest -q -x tests/psgan/training/test_training_run.py tests/psgan/training/test_training_loop.py \
  tests/psgan/generation/test_generate.py -k "not cuda_checkpoint and not compile_static" 2>&1 | tail -5 || true
echo "== 2-4. rates, training, projection"
timeout 300 python scripts/gpu_check.py --out "$OUT" --train-seconds 90
ls "$OUT/run/samples"
