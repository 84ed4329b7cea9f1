#!/usr/bin/env bash
# deepgen vs PyTorch on the same LibTorch build: seconds per training epoch of the character-level
# language model (`train charlm` defaults: 2-layer LSTM of 128 units, 128 streams x 64 characters per
# step, Adam, clipping) on TEXT (default: the fortunes' cookie file, 245 kB). Runs both alternately
# REPEATS times (EPOCHS epochs each), takes the median epoch time of each, and prints the ratio.
# With THREADS > 1 PyTorch runs twice per repeat: as it starts (THREADS ATen threads and THREADS
# OpenBLAS threads, oversubscribed) and with deepgen's split (1 ATen x THREADS OpenBLAS, its best here).
# Needs `make build` and Debian's python3-torch.
#   bench/compare_charlm_cpu.sh [THREADS] [REPEATS] [EPOCHS] [TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
THREADS=${1:-1}
REPEATS=${2:-3}
EPOCHS=${3:-2}
TEXT=${4:-/usr/share/games/fortunes/cookie}
need_python torch python3-torch
need_deepgen
[ -r "$TEXT" ] || { echo "needs $TEXT: apt-get install fortunes (or give a text file)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peer() {  # ATEN BLAS OUTFILE
  OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$2 "$PYTHON" bench/charlm_peer.py --text "$TEXT" --epochs "$EPOCHS" \
    --threads "$1" | tee "$work/peer.jsonl" | peer_seconds >>"$3"
}
: >"$work/deepgen.txt"
: >"$work/pytorch.txt"
: >"$work/pytorch-split.txt"
for r in $(seq "$REPEATS"); do
  OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$DEEPGEN" train charlm --text "$TEXT" --epochs "$EPOCHS" \
    --threads "$THREADS" --progress none --out "$work/run$r" >/dev/null 2>&1
  epoch_seconds "$work/run$r" >>"$work/deepgen.txt"
  peer "$THREADS" "$THREADS" "$work/pytorch.txt"
  [ "$THREADS" -eq 1 ] || peer 1 "$THREADS" "$work/pytorch-split.txt"
done
d=$(median "$work/deepgen.txt")
ratio() { echo "$1 / $d" | bc -l; }
echo "machine: $(nproc --all) cores, $(cpu_model)"
echo "text: $TEXT; $(sed 's/.*"steps": \([0-9]*\), "vocab": \([0-9]*\).*/\1 steps per epoch, vocabulary \2/' "$work/peer.jsonl" | head -1)"
echo "threads: $THREADS, $REPEATS runs x $EPOCHS epochs each, median seconds per epoch; ratio = pytorch / deepgen (>1: deepgen faster)"
printf 'deepgen                            %6.2f s/epoch\n' "$d"
p=$(median "$work/pytorch.txt")
printf 'pytorch (%s ATen x %s OpenBLAS)      %6.2f s/epoch  %.2fx\n' "$THREADS" "$THREADS" "$p" "$(ratio "$p")"
if [ "$THREADS" -ne 1 ]; then
  p=$(median "$work/pytorch-split.txt")
  printf 'pytorch (1 ATen x %s OpenBLAS)      %6.2f s/epoch  %.2fx\n' "$THREADS" "$p" "$(ratio "$p")"
fi
