#!/usr/bin/env bash
# Data-parallel training end to end, on real processes over loopback (Gloo): N ranks give what one
# process gives; a run resumes with another number of ranks; Ctrl-C stops every rank at one step; a
# killed rank makes the others exit with an error naming it and leaves the checkpoint intact; bad
# launches are one-line errors. Usage: distributed_test.sh DEEPGEN WEIGHT_DIFFERENCE
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"
DIFF=${2:?usage: $0 deepgen weight_difference}
export OMP_NUM_THREADS=1

# Largest weight difference between two runs' checkpoints, compared with a bound.
close() {  # close WHAT A B BOUND
  local d
  d=$("$DIFF" "$2/checkpoint.pt" "$3/checkpoint.pt") || { fail "$1: cannot compare"; return; }
  if awk -v d="$d" -v b="$4" 'BEGIN { exit !(d <= b) }'; then pass; else fail "$1: weights differ by $d (bound $4)"; fi
}
# The train loss of epoch E in a run's metrics.jsonl.
train_loss() { grep "\"epoch\":$2,\"split\":\"train\"" "$1/metrics.jsonl" | sed 's/.*"loss":\([^,}]*\).*/\1/'; }
relative_gap() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; print d / (a < 0 ? -a : a) }'; }
run() {  # run OUT ARGS...: trains, failing the test on a non-zero exit
  local out=$1
  shift
  "$DEEPGEN" --threads 1 train "$@" --progress none --no-report --no-pictures --out "$WORK/$out" >/dev/null 2>"$WORK/$out.err" ||
    { fail "$out: exit $?: $(tail -1 "$WORK/$out.err")"; return 1; }
  pass
}

# 1. A deterministic model with SGD: 2 ranks and 1 process end 50 steps at the same weights.
AE=(ae --optimizer sgd --lr 0.1 --epochs 1 --train-limit 6400 --test-limit 200 --batch-size 128)
run ae1 "${AE[@]}" && run ae2 "${AE[@]}" --nproc 2 && close "ae, 2 ranks vs 1" "$WORK/ae1" "$WORK/ae2" 1e-5
grep -q '"world_size": 2' "$WORK/ae2/config.json" && grep -q '"launcher": "deepgen --nproc"' "$WORK/ae2/config.json" &&
  pass || fail "config.json does not record the world"
# An uneven split (3 ranks over batches of 100 and a last batch of 40) is still the global mean.
AE100=(ae --optimizer sgd --lr 0.1 --epochs 1 --train-limit 6440 --test-limit 200 --batch-size 100)
run ae3 "${AE100[@]}" --nproc 3 && run ae3ref "${AE100[@]}" &&
  close "ae, 3 uneven ranks vs 1" "$WORK/ae3ref" "$WORK/ae3" 1e-5
# (lr 0.01: at 0.05 a ReLU or max-pool tie flips after about 30 steps in either run and the weights part
# by 6e-3, as they do between one process on 1 and on 2 threads)
LENET=(classifier --arch lenet5 --dropout 0 --optimizer sgd --lr 0.01 --epochs 1 --train-limit 6400 --test-limit 200)
run lenet1 "${LENET[@]}" && run lenet2 "${LENET[@]}" --nproc 2 && close "lenet5, 2 ranks vs 1" "$WORK/lenet1" "$WORK/lenet2" 1e-5

# 2. Noise drawn per example of the global batch: the VAE's loss curve does not depend on the ranks.
VAE=(vae --epochs 2 --train-limit 3200 --test-limit 200 --batch-size 64)
if run vae1 "${VAE[@]}" && run vae2 "${VAE[@]}" --nproc 2; then
  for e in 1 2; do
    gap=$(relative_gap "$(train_loss "$WORK/vae1" $e)" "$(train_loss "$WORK/vae2" $e)")
    awk -v g="$gap" 'BEGIN { exit !(g < 1e-4) }' && pass || fail "vae epoch $e: train loss differs by $gap (relative)"
  done
fi

# 3. Batch norm: --sync-bn normalizes over the global batch, so a DCGAN (both networks, both optimizers)
# and a ResNet follow the single process; without it each rank's statistics differ.
GAN=(gan --arch dcgan --epochs 1 --train-limit 1024 --test-limit 100 --batch-size 64 --sync-bn)
if run gan1 "${GAN[@]}" && run gan2 "${GAN[@]}" --nproc 2; then
  gap=$(relative_gap "$(train_loss "$WORK/gan1" 1)" "$(train_loss "$WORK/gan2" 1)")
  awk -v g="$gap" 'BEGIN { exit !(g < 1e-3) }' && pass || fail "dcgan --sync-bn: train loss differs by $gap (relative)"
fi
# One step of the ResNet: a few steps later float noise has grown to 0.2 in its weights, between one
# process on 1 and on 2 threads as well.
RESNET=(classifier --arch resnet --optimizer sgd --lr 0.05 --epochs 1 --train-limit 64 --test-limit 100 --batch-size 64)
if run res1 "${RESNET[@]}" --sync-bn && run res2 "${RESNET[@]}" --sync-bn --nproc 2 && run res2local "${RESNET[@]}" --nproc 2; then
  close "resnet --sync-bn, 2 ranks vs 1" "$WORK/res1" "$WORK/res2" 1e-4
  d=$("$DIFF" "$WORK/res1/checkpoint.pt" "$WORK/res2local/checkpoint.pt")
  awk -v d="$d" 'BEGIN { exit !(d > 1e-2) }' && pass || fail "resnet without --sync-bn should differ from one process (by $d)"
fi

# 4. Resume with another number of ranks: 1 epoch on 2 ranks, then the second on 1 (and the other way).
AE2=(ae --optimizer sgd --lr 0.1 --train-limit 3200 --test-limit 200 --batch-size 128)
run straight "${AE2[@]}" --epochs 2
run twothenone "${AE2[@]}" --epochs 1 --nproc 2 && run twothenone "${AE2[@]}" --epochs 2 --resume &&
  close "resumed on 1 rank after 2" "$WORK/straight" "$WORK/twothenone" 1e-5
run onethentwo "${AE2[@]}" --epochs 1 && run onethentwo "${AE2[@]}" --epochs 2 --resume --nproc 2 &&
  close "resumed on 2 ranks after 1" "$WORK/straight" "$WORK/onethentwo" 1e-5

# 5. Ctrl-C to the launcher: every rank stops at the same step, one checkpoint, exit 130; resumed, the
# run ends exactly where the uninterrupted run on 2 ranks does. (Not where one process does: over these
# 3750 steps float noise grows to 14 in the weights, as between any two summation orders.)
LONG=(ae --optimizer sgd --lr 0.1 --epochs 2 --train-limit 30000 --test-limit 200 --batch-size 16)
run longref "${LONG[@]}" --nproc 2
"$DEEPGEN" --threads 1 train "${LONG[@]}" --nproc 2 --progress lines --no-report --no-pictures --out "$WORK/stopped" \
  >/dev/null 2>"$WORK/stop.err" &
launcher=$!
for _ in $(seq 300); do grep -q "training ae" "$WORK/stop.err" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -INT $launcher
wait $launcher
status=$?
[ $status = 130 ] && pass || fail "SIGINT to --nproc 2: exit $status, expected 130: $(tail -2 "$WORK/stop.err")"
grep -q "every rank stopped there" "$WORK/stop.err" && pass || fail "SIGINT: no stop message: $(tail -2 "$WORK/stop.err")"
run stopped "${LONG[@]}" --resume --nproc 2 && close "stopped on 2 ranks and resumed" "$WORK/longref" "$WORK/stopped" 0

# 6. A rank killed with SIGKILL: the other exits within moments with an error naming it, the launcher
# fails, the checkpoint is intact and the run resumes.
KILLED=(ae --optimizer sgd --lr 0.1 --epochs 3 --train-limit 20000 --test-limit 200 --batch-size 16)
"$DEEPGEN" --threads 1 train "${KILLED[@]}" --nproc 2 --checkpoint-every 20 --progress none --no-report \
  --no-pictures --out "$WORK/killed" >/dev/null 2>"$WORK/kill.err" &
launcher=$!
for _ in $(seq 300); do [ -s "$WORK/killed/checkpoint.pt" ] && break; sleep 0.1; done
victim=""
for pid in $(pgrep -P $launcher); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "RANK=1" && victim=$pid
done
[ -n "$victim" ] && kill -9 "$victim"
start=$SECONDS
wait $launcher
status=$?
[ $status != 0 ] && [ $((SECONDS - start)) -lt 30 ] && pass || fail "kill -9 of rank 1: launcher exit $status after $((SECONDS - start)) s"
grep -q "rank 0 of 2: lost contact during .*rank 1 exited" "$WORK/kill.err" && pass ||
  fail "kill -9 of rank 1: rank 0 did not name it: $(grep -v '^\s*$' "$WORK/kill.err" | tail -2)"
"$DEEPGEN" eval "$WORK/killed" --json >/dev/null 2>&1 && pass || fail "the checkpoint left by the killed run does not load"
run killed "${KILLED[@]}" --resume --nproc 2

# 7. Every other model family trains on 2 ranks (a few steps each; the restoration models when `make
# images` has made their default data).
TINY=(--epochs 1 --train-limit 256 --test-limit 64 --batch-size 64 --nproc 2)
run fam-vae vae "${TINY[@]}"
run fam-dae ae --variant denoising "${TINY[@]}"
run fam-cae ae --variant contractive "${TINY[@]}"
run fam-gan gan --arch dcgan --loss wgan-gp "${TINY[@]}"
run fam-stylegan gan --arch stylegan --image-size 16 --style-mixing 0.9 "${TINY[@]}"
run fam-resnet classifier --arch resnet --sync-bn "${TINY[@]}"
run fam-seqclass seqclass --epochs 1 --batch-size 64 --nproc 2
run fam-cyclegan cyclegan --pool-size 0 --g-features 4 --d-features 4 --blocks 1 --d-layers 2 --epochs 1 --train-limit 64 \
  --test-limit 16 --batch-size 16 --nproc 2
if [ -d data/natural ] || [ -d "$(dirname "$0")/../data/natural" ]; then
  NATURAL=$(cd "$(dirname "$0")/../data/natural" 2>/dev/null && pwd)
  run fam-dncnn dncnn --data "$NATURAL" --sigma-range 5 50 --depth 5 --width 16 --patches 256 --epochs 1 --batch-size 64 --nproc 2
  run fam-sr sr --data "$NATURAL" --depth 5 --width 16 --patches 256 --epochs 1 --batch-size 64 --nproc 2
  run fam-inpaint inpaint-ae --data "$NATURAL" --patches 256 --epochs 1 --batch-size 64 --nproc 2
else
  echo "note: data/natural is missing (make images): dncnn, sr and inpaint-ae were not trained on 2 ranks"
fi

# 8. Bad launches: one line each, non-zero exit.
bad() {  # bad WHAT PATTERN ENV... -- ARGS...
  local what=$1 pattern=$2
  shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$DEEPGEN" --threads 1 train "$@" >/dev/null 2>"$WORK/bad.err"
  local status=$?
  if [ $status != 0 ] && [ "$(wc -l <"$WORK/bad.err")" -ge 1 ] && grep -q "$pattern" "$WORK/bad.err"; then pass; else
    fail "$what: exit $status: $(cat "$WORK/bad.err")"
  fi
}
SMALL=(ae --epochs 1 --train-limit 256 --test-limit 64 --progress none --no-report --no-pictures)
bad "WORLD_SIZE without RANK" "WORLD_SIZE is set but RANK is not" WORLD_SIZE=2 -- "${SMALL[@]}" --out "$WORK/b1"
bad "RANK out of range" "RANK=2: expected an integer in \[0, 1\]" RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 -- \
  "${SMALL[@]}" --out "$WORK/b2"
bad "no MASTER_ADDR" "MASTER_ADDR is not set" RANK=0 WORLD_SIZE=2 -- "${SMALL[@]}" --out "$WORK/b3"
bad "--nproc under a launcher" "drop --nproc" RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 -- "${SMALL[@]}" --nproc 2 \
  --out "$WORK/b4"
bad "pca" "pca is fitted in closed form" -- pca --epochs 1 --train-limit 256 --progress none --nproc 2 --out "$WORK/b9"
bad "cyclegan's pools" "cyclegan's pools of past translations" -- cyclegan --epochs 1 --train-limit 64 --progress none \
  --nproc 2 --out "$WORK/b10"
bad "batch smaller than the ranks" "every global batch needs at least one example per rank" -- ae --epochs 1 \
  --train-limit 257 --test-limit 64 --batch-size 128 --progress none --nproc 2 --out "$WORK/b6"
# An unreachable master: rank 1 alone waits --dist-timeout, then says where it looked.
bad "unreachable master" "could not reach rank 0 at 127.0.0.1:1 .*within 2 s" RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
  MASTER_PORT=1 -- "${SMALL[@]}" --dist-timeout 2s --out "$WORK/b7"
# A port in use: rank 0's store cannot listen there.
# (the holder: a rank 0 of a world of 2 whose rank 1 never comes)
port=$(( (RANDOM % 20000) + 30000 ))
env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$DEEPGEN" --threads 1 train "${SMALL[@]}" \
  --dist-timeout 20s --out "$WORK/holder" >/dev/null 2>&1 &
holder=$!
sleep 2
bad "port in use" "MASTER_PORT $port: the port is in use" RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port -- \
  "${SMALL[@]}" --dist-timeout 5s --out "$WORK/b8"
kill $holder 2>/dev/null
wait $holder 2>/dev/null
# Ranks started with different options are refused, naming the option.
port=$((port + 1))
for r in 0 1; do
  env RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$DEEPGEN" --threads 1 train "${SMALL[@]}" \
    --lr 0.00$((r + 1)) --dist-timeout 30s --out "$WORK/mismatch" >/dev/null 2>"$WORK/mismatch$r.err" &
done
wait
grep -q "rank 1 was started with another configuration than rank 0: model_options.optimizer.lr is 0.002 there and 0.001" \
  "$WORK/mismatch0.err" && pass || fail "mismatched --lr: $(cat "$WORK/mismatch0.err")"
[ ! -e "$WORK/mismatch/checkpoint.pt" ] && pass || fail "mismatched ranks wrote a checkpoint"

# 9. torchrun starts the same ranks: the one of the PyTorch whose LibTorch deepgen is built against
# ($3: Debian's torchrun, or "VENV/bin/python -m torch.distributed.run"; Debian's 1.13 needs --redirects 1
# --tee 1 on Python 3.11, harmless elsewhere).
TORCHRUN=${3:-torchrun}
if [ -n "$TORCHRUN" ] && [[ $TORCHRUN != *NOTFOUND* ]] && command -v ${TORCHRUN%% *} >/dev/null; then
  port=$((port + 1))
  # shellcheck disable=SC2086  # TORCHRUN may be "python -m torch.distributed.run"
  if $TORCHRUN --no_python --redirects 1 --tee 1 --nproc_per_node 2 --master_port $port "$DEEPGEN" --threads 1 train \
    "${AE[@]}" --progress none --no-report --no-pictures --dist-timeout 60s --out "$WORK/torchrun" >/dev/null \
    2>"$WORK/torchrun.err"; then
    pass
    grep -q '"launcher": "torchrun"' "$WORK/torchrun/config.json" && pass || fail "torchrun: launcher not recorded"
    close "torchrun, 2 ranks vs 1" "$WORK/ae1" "$WORK/torchrun" 1e-5
  else
    fail "torchrun: $(tail -3 "$WORK/torchrun.err")"
  fi
else
  echo "note: torchrun not installed (python3-torch); its launch was not tested"
fi

echo "distributed: $passes passed, $failures failed"
[ $failures = 0 ]
