#!/usr/bin/env bash
# Sharded evaluation on the CPU: seconds of the trainer's per-epoch evaluation of the whole test split
# (the "seconds" of each test line; with --no-pictures and --no-report that is the evaluation, with the
# state broadcast before it) of MODEL (vae or lenet5; 10000 test images) as
#   deepgen, 1 process x 1 thread   (`--threads 1`: what rank 0 alone did before evaluation was sharded)
#   deepgen, 1 process x 2 threads  (`--threads 2`)
#   deepgen, 2 ranks x 1 thread     (`--nproc 2 --threads 1`: each rank evaluates half the batches)
# alternately REPEATS times, EPOCHS epochs each on the first 256 training images; medians.
#   bench/eval_shards_cpu.sh MODEL [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
MODEL=${1:?usage: bench/eval_shards_cpu.sh vae|lenet5 [REPEATS] [EPOCHS]}
REPEATS=${2:-3}
EPOCHS=${3:-3}
need_deepgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $MODEL in
  vae) ARGS=(vae) ;;
  lenet5) ARGS=(classifier --arch lenet5) ;;
  *) echo "eval_shards_cpu: MODEL is vae or lenet5, not $MODEL" >&2; exit 1 ;;
esac
ARGS+=(--epochs "$EPOCHS" --train-limit 256 --batch-size 128 --progress none --no-pictures --no-report)
test_seconds() { grep '"split":"test"' "$1/metrics.jsonl" | sed 's/.*"seconds":\([0-9.e-]*\).*/\1/'; }
export OPENBLAS_NUM_THREADS=1
: >"$work/one1.txt"; : >"$work/one2.txt"; : >"$work/two.txt"
for r in $(seq "$REPEATS"); do
  OMP_NUM_THREADS=1 "$DEEPGEN" --threads 1 train "${ARGS[@]}" --out "$work/one1-$r" >/dev/null 2>&1
  test_seconds "$work/one1-$r" >>"$work/one1.txt"
  OMP_NUM_THREADS=2 "$DEEPGEN" --threads 2 train "${ARGS[@]}" --out "$work/one2-$r" >/dev/null 2>&1
  test_seconds "$work/one2-$r" >>"$work/one2.txt"
  OMP_NUM_THREADS=1 "$DEEPGEN" --threads 1 train "${ARGS[@]}" --nproc 2 --out "$work/two-$r" >/dev/null 2>&1
  test_seconds "$work/two-$r" >>"$work/two.txt"
done
echo "machine: $(nproc --all) cores, $(cpu_model); $MODEL, $REPEATS runs x $EPOCHS epochs, median seconds per evaluation"
printf 'deepgen 1 process x 1 thread    %.3f\n' "$(median "$work/one1.txt")"
printf 'deepgen 1 process x 2 threads   %.3f\n' "$(median "$work/one2.txt")"
printf 'deepgen 2 ranks x 1 thread      %.3f\n' "$(median "$work/two.txt")"
