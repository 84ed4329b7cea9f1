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
need_deepgen
[ -d data/natural/train ] || { echo "needs data/natural/train: run make images" >&2; exit 1; }
need_python "torch, PIL" python3-torch python3-pil
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
      --threads "$THREADS" | peer_seconds >>"$work/pytorch-$p.txt"
  done
done
isa=$(grep -m1 -o -w -E 'amx_bf16' /proc/cpuinfo || grep -m1 -o -w 'avx512_bf16' /proc/cpuinfo || echo "no bf16 instructions")
echo "machine: $(nproc --all) cores, $(cpu_model) ($isa)"
echo "blind DnCNN depth 20, width $WIDTH, $PATCHES patches/epoch, $THREADS ATen x 1 BLAS threads,"
echo "$REPEATS runs x $EPOCHS epochs each, median seconds per epoch"
declare -A m  # median seconds per epoch, by tool-precision
for t in deepgen pytorch; do for p in fp32 bf16; do m[$t-$p]=$(median "$work/$t-$p.txt"); done; done
printf '%-6s %8s %8s  %s\n' precision deepgen pytorch "pytorch / deepgen (>1: deepgen faster)"
for p in fp32 bf16; do
  printf '%-9s %8.2f %8.2f  %.2fx\n' "$p" "${m[deepgen-$p]}" "${m[pytorch-$p]}" "$(echo "${m[pytorch-$p]} / ${m[deepgen-$p]}" | bc -l)"
done
printf 'bf16 speed-up: deepgen %.2fx, pytorch %.2fx (fp32 / bf16)\n' \
  "$(echo "${m[deepgen-fp32]} / ${m[deepgen-bf16]}" | bc -l)" "$(echo "${m[pytorch-fp32]} / ${m[pytorch-bf16]}" | bc -l)"
