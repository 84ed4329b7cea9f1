#!/usr/bin/env bash
# deepgen's DnCNN training in fp32 and in bf16 (`--precision bf16`: bf16 autocast, channels-last
# weights) on the default natural images: seconds per training epoch. Runs both alternately REPEATS
# times (EPOCHS epochs each, PATCHES patches of 40x40, batch 64), takes the median epoch time of each
# and prints the ratio. bf16 pays off where the CPU has AMX or AVX512-BF16 (Xeon 4th gen and later) or
# on a GPU; elsewhere bf16 is emulated and slower. Needs `make build` and `make images`.
#   bench/dncnn_precision.sh [WIDTH] [REPEATS] [EPOCHS] [PATCHES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WIDTH=${1:-32}
REPEATS=${2:-3}
EPOCHS=${3:-2}
PATCHES=${4:-1536}
DEEPGEN=${DEEPGEN:-build/deepgen}
[ -x "$DEEPGEN" ] || { echo "needs $DEEPGEN: run make build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in fp32 bf16; do : >"$work/$p.txt"; done
for r in $(seq "$REPEATS"); do
  for p in fp32 bf16; do
    "$DEEPGEN" train dncnn --sigma-range 5 50 --width "$WIDTH" --patches "$PATCHES" --epochs "$EPOCHS" \
      --batch-size 64 --precision "$p" --progress none --no-pictures --out "$work/$p-$r" >/dev/null 2>&1
    epoch_seconds "$work/$p-$r" >>"$work/$p.txt"
  done
done
f=$(median "$work/fp32.txt")
b=$(median "$work/bf16.txt")
isa=$(grep -m1 -o -w -E 'amx_bf16' /proc/cpuinfo || grep -m1 -o -w 'avx512_bf16' /proc/cpuinfo || echo "no bf16 instructions")
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($isa)"
echo "blind DnCNN depth 20, width $WIDTH, $PATCHES patches/epoch, $REPEATS runs x $EPOCHS epochs each, median seconds per epoch"
printf 'fp32  %.2f s/epoch\nbf16  %.2f s/epoch\nratio %.2fx (fp32 / bf16; >1 means bf16 is faster)\n' \
  "$f" "$b" "$(echo "$f / $b" | bc -l)"
