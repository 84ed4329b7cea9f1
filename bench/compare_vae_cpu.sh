#!/usr/bin/env bash
# deepgen vs PyTorch on the same LibTorch build: seconds per training epoch of the dense 784-400-20 VAE
# on Fashion-MNIST. Runs both alternately REPEATS times (EPOCHS epochs each), takes the median epoch
# time of each, and prints the ratio. Needs `make build` and Debian's python3-torch.
#   bench/compare_vae_cpu.sh [THREADS] [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
THREADS=${1:-1}
REPEATS=${2:-3}
EPOCHS=${3:-3}
need_python torch python3-torch
need_deepgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CORES=$(nproc --all)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
: >"$work/deepgen.txt"
: >"$work/pytorch.txt"
for r in $(seq "$REPEATS"); do
  "$DEEPGEN" train vae --epochs "$EPOCHS" --threads "$THREADS" --progress none --no-pictures \
    --out "$work/run$r" >/dev/null 2>&1
  epoch_seconds "$work/run$r" >>"$work/deepgen.txt"
  "$PYTHON" bench/vae_peer.py --epochs "$EPOCHS" --threads "$THREADS" | peer_seconds >>"$work/pytorch.txt"
done
echo "machine: $CORES cores, $(cpu_model)"
echo "threads: $THREADS (ATen x OpenBLAS <= $THREADS), $REPEATS runs x $EPOCHS epochs each, median seconds per epoch"
print_ratio "$work/deepgen.txt" "$work/pytorch.txt"
