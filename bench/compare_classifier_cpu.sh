#!/usr/bin/env bash
# deepgen vs PyTorch on the same LibTorch build: seconds per training epoch of `train classifier --arch
# ARCH` (lenet5, or resnet: width 16, 3 blocks per stage, batch norm) on Fashion-MNIST, the first LIMIT
# training images (0 = all 60000). Runs both alternately REPEATS times (EPOCHS epochs each), takes the
# median epoch time of each, and prints the ratio. Needs `make build` and Debian's python3-torch.
#   bench/compare_classifier_cpu.sh [ARCH] [THREADS] [REPEATS] [EPOCHS] [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ARCH=${1:-lenet5}
THREADS=${2:-1}
REPEATS=${3:-3}
EPOCHS=${4:-2}
LIMIT=${5:-0}
need_python torch python3-torch
need_deepgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1  # both programs: THREADS ATen x 1 OpenBLAS (convolutions)
: >"$work/deepgen.txt"
: >"$work/pytorch.txt"
limit=()
[ "$LIMIT" -eq 0 ] || limit=(--train-limit "$LIMIT")
for r in $(seq "$REPEATS"); do
  "$DEEPGEN" --threads "$THREADS" train classifier --arch "$ARCH" --epochs "$EPOCHS" "${limit[@]}" --test-limit 1000 \
    --progress none --out "$work/run$r" >/dev/null 2>&1
  epoch_seconds "$work/run$r" >>"$work/deepgen.txt"
  "$PYTHON" bench/classifier_peer.py --arch "$ARCH" --epochs "$EPOCHS" --threads "$THREADS" "${limit[@]}" \
    | peer_seconds >>"$work/pytorch.txt"
done
echo "machine: $(nproc --all) cores, $(cpu_model)"
echo "classifier $ARCH on Fashion-MNIST (${LIMIT/#0/60000} training images), $THREADS ATen x 1 OpenBLAS threads"
echo "$REPEATS runs x $EPOCHS epochs each, median seconds per epoch"
print_ratio "$work/deepgen.txt" "$work/pytorch.txt"
