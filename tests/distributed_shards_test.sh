#!/usr/bin/env bash
# What data-parallel ranks split besides the examples of a batch, on real processes over loopback:
# the test split (each rank evaluates its share, the sums are added over the ranks). Usage:
# distributed_shards_test.sh DEEPGEN WEIGHT_DIFFERENCE
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"
DIFF=${2:?usage: $0 deepgen weight_difference}
export OMP_NUM_THREADS=1

run() {  # run OUT ARGS...: trains, failing the test on a non-zero exit
  local out=$1
  shift
  "$DEEPGEN" --threads 1 train "$@" --progress none --no-report --no-pictures --out "$WORK/$out" >/dev/null 2>"$WORK/$out.err" ||
    { fail "$out: exit $?: $(tail -1 "$WORK/$out.err")"; return 1; }
  pass
}
# The metrics of a run's line of `split` (train | test) for `epoch`, as JSON without epoch, split and
# seconds; or of `deepgen eval --json` (split "eval").
metrics_of() {  # metrics_of RUN SPLIT EPOCH
  if [ "$2" = eval ]; then
    "$DEEPGEN" --threads 1 eval "$1" --json 2>"$WORK/eval.err" |
      python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["metrics"], sort_keys=True))'
  else
    python3 - "$1/metrics.jsonl" "$2" "$3" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["split"] == sys.argv[2] and m["epoch"] == int(sys.argv[3]):
        print(json.dumps({k: v for k, v in m.items() if k not in ("epoch", "split", "seconds")}, sort_keys=True))
EOF
  fi
}
# Every metric of A within BOUND (relative, absolute near 0) of B's, and the same names.
same_metrics() {  # same_metrics WHAT A_JSON B_JSON BOUND
  local verdict
  verdict=$(python3 - "$2" "$3" "$4" <<'EOF'
import json, sys
try:
    a, b, bound = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
except ValueError:
    print("no metrics to compare: '%s' and '%s'" % (sys.argv[1], sys.argv[2])); sys.exit()
if sorted(a) != sorted(b) or not a:
    print("names differ: %s and %s" % (sorted(a), sorted(b))); sys.exit()
worst = max(a, key=lambda k: abs(a[k] - b[k]) / max(abs(b[k]), 1e-3))
gap = abs(a[worst] - b[worst]) / max(abs(b[worst]), 1e-3)
if gap > bound: print("%s is %r and %r: %.3g apart (relative; bound %g)" % (worst, a[worst], b[worst], gap, bound))
EOF
)
  [ -z "$verdict" ] && pass || fail "$1: $verdict"
}

# 1. Sharded evaluation. The trainer's test line of a run on N ranks is what one process evaluating the
# same checkpoint reports (`deepgen eval`, the same batches and threads: only the order of the float64
# additions differs), for a deterministic model over 2 and 3 ranks (an uneven split of the batches; the
# autoencoder's Jacobian covers the first 1000 test images, so rank 1 of 2 adds no Jacobian sum), for
# models that draw noise in their evaluation (a GAN's z, a denoising autoencoder's corruption; per batch,
# the same on any rank) and for batch norm without --sync-bn (each rank's running statistics are its
# own; the evaluation uses rank 0's).
AE=(ae --optimizer sgd --lr 0.1 --epochs 2 --train-limit 3200 --test-limit 2000 --batch-size 128)
if run ae1 "${AE[@]}" && run ae2 "${AE[@]}" --nproc 2; then
  same_metrics "ae: 2 ranks' test line vs eval" "$(metrics_of "$WORK/ae2" test 2)" "$(metrics_of "$WORK/ae2" eval)" 1e-9
  # and against one process, whose weights differ by float noise (about 1e-7)
  for e in 1 2; do
    same_metrics "ae epoch $e: test, 2 ranks vs 1" "$(metrics_of "$WORK/ae2" test $e)" "$(metrics_of "$WORK/ae1" test $e)" 1e-5
  done
fi
run ae3 ae --optimizer sgd --lr 0.1 --epochs 1 --train-limit 1200 --test-limit 1000 --batch-size 100 --nproc 3 &&
  same_metrics "ae: 3 ranks' test line vs eval" "$(metrics_of "$WORK/ae3" test 1)" "$(metrics_of "$WORK/ae3" eval)" 1e-9
TINY=(--epochs 1 --train-limit 256 --test-limit 300 --batch-size 64 --nproc 2)
run gan gan --arch dcgan "${TINY[@]}" &&
  same_metrics "dcgan (noise, batch norm): test line vs eval" "$(metrics_of "$WORK/gan" test 1)" "$(metrics_of "$WORK/gan" eval)" 1e-9
run dae ae --variant denoising "${TINY[@]}" &&
  same_metrics "denoising ae: test line vs eval" "$(metrics_of "$WORK/dae" test 1)" "$(metrics_of "$WORK/dae" eval)" 1e-9
run resnet classifier --arch resnet "${TINY[@]}" &&
  same_metrics "resnet without --sync-bn: test line vs eval" "$(metrics_of "$WORK/resnet" test 1)" \
    "$(metrics_of "$WORK/resnet" eval)" 1e-9

echo "distributed shards: $passes passed, $failures failed"
[ $failures = 0 ]
