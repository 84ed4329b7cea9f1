#!/usr/bin/env bash
# What data-parallel ranks split besides the examples of a batch, on real processes over loopback:
# the test split (each rank evaluates its share, the sums are added over the ranks) and a char-LM's
# text streams (each rank trains its streams and carries their hidden state; checkpoints hold every
# stream's). Usage: distributed_shards_test.sh DEEPGEN WEIGHT_DIFFERENCE
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

# 2. charlm: the streams split over the ranks. 2 ranks follow one process's loss curve (the logged
# window losses, every 5 steps) and each epoch's metrics within float noise (measured: 2e-7 after the 88
# steps), and its sharded evaluation matches `deepgen eval`. (Longer runs part further: float noise grows
# about 8x every 20 steps once this model learns fast, as between any two summation orders.)
for i in $(seq 300); do echo "line $i: the quick brown fox jumps over the lazy dog $((i * 7 % 13)) times"; done >"$WORK/text.txt"
LM=(charlm --text "$WORK/text.txt" --hidden 64 --seq-len 32 --batch-size 12 --log-every 5)  # 44 steps per epoch
curve() { python3 -c 'import json, sys; print(" ".join("%.9g" % json.loads(l)["loss"] for l in open(sys.argv[1])))' "$1/steps.jsonl"; }
if run lm1 "${LM[@]}" --epochs 2 && run lm2 "${LM[@]}" --epochs 2 --nproc 2; then
  gap=$(python3 - "$(curve "$WORK/lm1")" "$(curve "$WORK/lm2")" <<'EOF'
import sys
a, b = [list(map(float, s.split())) for s in sys.argv[1:]]
print("lengths %d and %d" % (len(a), len(b)) if len(a) != len(b) or not a else max(abs(x - y) / abs(x) for x, y in zip(a, b)))
EOF
)
  awk -v g="$gap" 'BEGIN { exit !(g + 0 == g && g < 1e-5) }' && pass || fail "charlm loss curve, 2 ranks vs 1: $gap (relative)"
  for e in 1 2; do
    for split in train test; do
      same_metrics "charlm epoch $e $split, 2 ranks vs 1" "$(metrics_of "$WORK/lm2" $split $e)" "$(metrics_of "$WORK/lm1" $split $e)" 1e-5
    done
  done
  same_metrics "charlm: 2 ranks' test line vs eval" "$(metrics_of "$WORK/lm2" test 2)" "$(metrics_of "$WORK/lm2" eval)" 1e-6
fi

# 3. charlm stopped inside an epoch on N ranks and resumed on M: the checkpoint holds the hidden state of
# all 12 streams (the same tensors as one process's), the resumed steps go on from it (the loss of the
# stopped epoch is the uninterrupted run's: a state started afresh instead reads worse), and the run
# ends where one process ends, within float noise (2 ranks and 1 process part by about 5e-5 in the
# weights over these 88 steps, through Adam's scaling of tiny gradients).
stop_inside() {  # stop_inside OUT ARGS...: Ctrl-C after the first checkpoint inside an epoch
  local out=$1
  shift
  "$DEEPGEN" --threads 1 train "${LM[@]}" "$@" --checkpoint-every 3 --progress lines --no-report --no-pictures \
    --out "$WORK/$out" >/dev/null 2>"$WORK/$out.err" &
  local launcher=$!
  for _ in $(seq 600); do [ -s "$WORK/$out/checkpoint.pt" ] && break; sleep 0.05; done
  kill -INT $launcher
  wait $launcher
  local status=$?
  if [ $status = 130 ] && grep -q "stopped by SIGINT at epoch [12], step" "$WORK/$out.err"; then pass; else
    fail "$out: exit $status, expected 130 inside an epoch: $(grep -v '^\s*$' "$WORK/$out.err" | tail -1)"
    return 1
  fi
}
resumed_like_straight() {  # resumed_like_straight WHAT RUN: RUN against lm1
  local d
  for e in 1 2; do
    same_metrics "$1: epoch $e train" "$(metrics_of "$2" train $e)" "$(metrics_of "$WORK/lm1" train $e)" 1e-5
  done
  same_metrics "$1: epoch 2 test" "$(metrics_of "$2" test 2)" "$(metrics_of "$WORK/lm1" test 2)" 1e-5
  d=$("$DIFF" "$WORK/lm1/checkpoint.pt" "$2/checkpoint.pt") || { fail "$1: the checkpoints hold different tensors"; return; }
  awk -v d="$d" 'BEGIN { exit !(d <= 1e-3) }' && pass || fail "$1: weights differ from one process's by $d"
}
if stop_inside twothenone --epochs 2 --nproc 2; then
  "$DIFF" "$WORK/twothenone/checkpoint.pt" "$WORK/lm1/checkpoint.pt" >/dev/null 2>"$WORK/shapes.err" && pass ||
    fail "the checkpoint of 2 ranks does not hold the carried state of all streams: $(cat "$WORK/shapes.err")"
  run twothenone "${LM[@]}" --epochs 2 --resume && resumed_like_straight "charlm stopped on 2 ranks, resumed on 1" "$WORK/twothenone"
fi
if stop_inside onethentwo --epochs 2; then
  run onethentwo "${LM[@]}" --epochs 2 --resume --nproc 2 &&
    resumed_like_straight "charlm stopped in 1 process, resumed on 2" "$WORK/onethentwo"
fi

# 4. Fewer streams than ranks: refused before training, one line per rank (as distributed_test.sh's bad
# launches), nothing written.
"$DEEPGEN" --threads 1 train charlm --text "$WORK/text.txt" --batch-size 1 --epochs 1 --progress none --nproc 2 \
  --out "$WORK/bad" >/dev/null 2>"$WORK/bad.err"
status=$?
[ $status != 0 ] && [ $status -lt 128 ] && [ "$(grep -c "^deepgen: error (rank [01]): --batch-size 1: with 2 ranks every rank needs at least one of the parallel streams, but there are 1; choose at least 2$" "$WORK/bad.err")" = 2 ] &&
  [ ! -e "$WORK/bad/checkpoint.pt" ] && pass || fail "charlm, 1 stream on 2 ranks: exit $status: $(cat "$WORK/bad.err")"

echo "distributed shards: $passes passed, $failures failed"
[ $failures = 0 ]
