#!/usr/bin/env bash
# Data-parallel training on the CPU: seconds per training epoch of MODEL (vae, lenet5 or dncnn) as
#   deepgen, 1 process x 2 threads       (`--threads 2`)
#   deepgen, 2 ranks x 1 thread          (`--nproc 2 --threads 1`, Gloo over loopback)
#   PyTorch DistributedDataParallel, 2 ranks x 1 thread (bench/ddp_peer.py, Gloo, Debian's python3-torch:
#   the same LibTorch 1.13 build), the same model, global batch and slicing
# alternately REPEATS times, EPOCHS epochs each; medians and the ratio DDP / deepgen.
# Needs `make build`, Debian's python3-torch, and for dncnn `make images`.
#   bench/compare_ddp_cpu.sh MODEL [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
MODEL=${1:?usage: bench/compare_ddp_cpu.sh vae|lenet5|dncnn [REPEATS] [EPOCHS]}
REPEATS=${2:-3}
EPOCHS=${3:-2}
need_python torch python3-torch
need_deepgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $MODEL in
  vae) ARGS=(vae) ;;
  lenet5) ARGS=(classifier --arch lenet5) ;;
  dncnn) ARGS=(dncnn --sigma-range 5 50 --patches 1536) ;;
  *) echo "compare_ddp_cpu: MODEL is vae, lenet5 or dncnn, not $MODEL" >&2; exit 1 ;;
esac
export OPENBLAS_NUM_THREADS=1
: >"$work/one.txt"; : >"$work/two.txt"; : >"$work/ddp.txt"
for r in $(seq "$REPEATS"); do
  OMP_NUM_THREADS=2 "$DEEPGEN" --threads 2 train "${ARGS[@]}" --epochs "$EPOCHS" --progress none --no-pictures \
    --no-report --out "$work/one$r" >/dev/null 2>&1
  epoch_seconds "$work/one$r" >>"$work/one.txt"
  OMP_NUM_THREADS=1 "$DEEPGEN" --threads 1 train "${ARGS[@]}" --epochs "$EPOCHS" --nproc 2 --progress none \
    --no-pictures --no-report --out "$work/two$r" >/dev/null 2>&1
  epoch_seconds "$work/two$r" >>"$work/two.txt"
  port=$((29600 + r))
  for rank in 1 0; do
    OMP_NUM_THREADS=1 PYTHONPATH=bench RANK=$rank WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$PYTHON" bench/ddp_peer.py --model "$MODEL" --epochs "$EPOCHS" --threads 1 >"$work/ddp$rank.out" 2>"$work/ddp$rank.err" &
  done
  wait
  peer_seconds <"$work/ddp0.out" >>"$work/ddp.txt"
done
echo "machine: $(nproc --all) cores, $(cpu_model); $MODEL, $REPEATS runs x $EPOCHS epochs, median seconds per epoch"
printf 'deepgen 1 process x 2 threads   %.2f\n' "$(median "$work/one.txt")"
printf 'deepgen 2 ranks x 1 thread      %.2f\n' "$(median "$work/two.txt")"
printf 'PyTorch DDP 2 ranks x 1 thread  %.2f\n' "$(median "$work/ddp.txt")"
printf 'ratio DDP / deepgen 2 ranks     %.2fx (>1 means deepgen is faster)\n' \
  "$(echo "$(median "$work/ddp.txt") / $(median "$work/two.txt")" | bc -l)"
