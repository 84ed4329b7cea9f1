#!/usr/bin/env bash
# deepgen vs PyTorch (bench/dncnn_peer.py, on the same LibTorch build) training the blind DnCNN in fp32
# and in bf16 (`--precision bf16`: bf16 autocast, channels-last weights; the peer does what PyTorch's
# documentation recommends for CPU bf16, the same) on the default natural images: seconds per training
# epoch. Runs the four alternately REPEATS times (EPOCHS epochs each, PATCHES patches of 40x40, batch
# 64, all cores as ATen threads, 1 OpenBLAS thread), takes the median epoch time of each and prints the
# ratios. bf16 pays off where the CPU has AMX or AVX512-BF16 (Xeon 4th gen and later) or on a GPU;
# elsewhere bf16 is emulated and slower. Needs `make build`, `make images` and Debian's python3-torch
# and python3-pil.
#   bench/dncnn_precision.sh [WIDTH] [REPEATS] [EPOCHS] [PATCHES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WIDTH=${1:-32}
REPEATS=${2:-3}
EPOCHS=${3:-2}
PATCHES=${4:-1536}
PYTHON=/usr/bin/python3
DEEPGEN=${DEEPGEN:-build/deepgen}
[ -x "$DEEPGEN" ] || { echo "needs $DEEPGEN: run make build" >&2; exit 1; }
[ -d data/natural/train ] || { echo "needs data/natural/train: run make images" >&2; exit 1; }
"$PYTHON" -c 'import torch, PIL' 2>/dev/null ||
  { echo "needs Debian's python3-torch and python3-pil: apt-get install python3-torch python3-pil" >&2; exit 1; }
THREADS=$(nproc)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in fp32 bf16; do : >"$work/deepgen-$p.txt"; : >"$work/pytorch-$p.txt"; done
for r in $(seq "$REPEATS"); do
  for p in fp32 bf16; do
    "$DEEPGEN" train dncnn --sigma-range 5 50 --width "$WIDTH" --patches "$PATCHES" --epochs "$EPOCHS" \
      --batch-size 64 --precision "$p" --threads "$THREADS" --progress none --no-pictures \
      --out "$work/$p-$r" >/dev/null 2>&1
    epoch_seconds "$work/$p-$r" >>"$work/deepgen-$p.txt"
    "$PYTHON" bench/dncnn_peer.py --width "$WIDTH" --patches "$PATCHES" --epochs "$EPOCHS" --precision "$p" \
      --threads "$THREADS" | sed 's/.*"seconds": \([0-9.e-]*\).*/\1/' >>"$work/pytorch-$p.txt"
  done
done
isa=$(grep -m1 -o -w -E 'amx_bf16' /proc/cpuinfo || grep -m1 -o -w 'avx512_bf16' /proc/cpuinfo || echo "no bf16 instructions")
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($isa)"
echo "blind DnCNN depth 20, width $WIDTH, $PATCHES patches/epoch, $THREADS ATen x 1 BLAS threads,"
echo "$REPEATS runs x $EPOCHS epochs each, median seconds per epoch"
printf '%-6s %8s %8s  %s\n' precision deepgen pytorch "pytorch / deepgen (>1: deepgen faster)"
for p in fp32 bf16; do
  d=$(median "$work/deepgen-$p.txt")
  t=$(median "$work/pytorch-$p.txt")
  printf '%-9s %8.2f %8.2f  %.2fx\n' "$p" "$d" "$t" "$(echo "$t / $d" | bc -l)"
done
printf 'bf16 speed-up: deepgen %.2fx, pytorch %.2fx (fp32 / bf16)\n' \
  "$(echo "$(median "$work/deepgen-fp32.txt") / $(median "$work/deepgen-bf16.txt")" | bc -l)" \
  "$(echo "$(median "$work/pytorch-fp32.txt") / $(median "$work/pytorch-bf16.txt")" | bc -l)"
