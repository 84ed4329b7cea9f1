#!/usr/bin/env bash
# Interruption end to end, on real processes: SIGINT and SIGTERM stop after the current step with a
# checkpoint and exit 130 and 143; a second signal exits at once; kill -9 at random moments (with a
# checkpoint after every step, so some kills land inside a checkpoint write) never leaves a run that
# cannot resume; and every stopped run, resumed, ends exactly where the uninterrupted one does.
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"

TRAIN=(train vae --hidden 32 --latent-dim 4 --train-limit 20000 --test-limit 200 --batch-size 16 --epochs 2
       --progress lines --threads 1)
RESUME=(train vae --resume --epochs 2 --progress lines --threads 1)
# The test metrics of a run's final weights (without the run's path).
eval_of() { "$DEEPGEN" eval "$1" --json 2>&1 | grep -v '"run"'; }
# Waits (at most 60 s) until the run has written a checkpoint.
wait_for_checkpoint() {
  for _ in $(seq 600); do [ -s "$1/checkpoint.pt" ] && return 0; sleep 0.1; done
  fail "no checkpoint in $1 after 60 s"
}
# Resumes the run and checks that it ends at the uninterrupted run's weights.
resume_and_compare() {
  local what=$1 dir=$2
  if "$DEEPGEN" "${RESUME[@]}" --out "$dir" >"$WORK/out" 2>"$WORK/resume.err"; then pass; else
    fail "$what: resume exit $?"; cat "$WORK/resume.err"; return
  fi
  if [ "$(eval_of "$dir")" = "$REFERENCE" ]; then pass; else fail "$what: the resumed run ends elsewhere"; fi
}

"$DEEPGEN" "${TRAIN[@]}" --out "$WORK/straight" >/dev/null 2>"$WORK/err" && pass || { fail "straight run"; cat "$WORK/err"; }
REFERENCE=$(eval_of "$WORK/straight")
grep -q '"loss"' <<<"$REFERENCE" && pass || fail "eval of the straight run: $REFERENCE"

# One SIGINT, then one SIGTERM: a checkpoint at the step, one line saying where and how to resume.
for signal in INT TERM; do
  dir="$WORK/stop-$signal"
  "$DEEPGEN" "${TRAIN[@]}" --checkpoint-every 200 --out "$dir" >/dev/null 2>"$WORK/stop.err" &
  pid=$!
  wait_for_checkpoint "$dir"
  kill -$signal $pid
  wait $pid
  rc=$?
  expected=$([ $signal = INT ] && echo 130 || echo 143)
  [ $rc -eq "$expected" ] && pass || { fail "SIG$signal: exit $rc, expected $expected"; cat "$WORK/stop.err"; }
  grep -q "stopped by SIG$signal at epoch [12], step [0-9]* of 1250; $dir/checkpoint.pt holds that position. Resume with: deepgen train vae --resume --epochs 2 --out $dir" "$WORK/stop.err" \
    && pass || { fail "SIG$signal: message"; cat "$WORK/stop.err"; }
  resume_and_compare "SIG$signal" "$dir"
  grep -q "resumed inside epoch [12]: [0-9]* of its 1250 steps done, continuing at step" "$WORK/resume.err" \
    && pass || { fail "SIG$signal: the resumed run does not say where it continues"; cat "$WORK/resume.err"; }
done

# Two SIGINTs: out at once, with the last completed checkpoint, which resumes.
dir="$WORK/twice"
"$DEEPGEN" "${TRAIN[@]}" --checkpoint-every 100 --out "$dir" >/dev/null 2>"$WORK/twice.err" &
pid=$!
wait_for_checkpoint "$dir"
kill -INT $pid
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] && pass || { fail "two SIGINTs: exit $rc"; cat "$WORK/twice.err"; }
resume_and_compare "two SIGINTs" "$dir"

# kill -9 at random moments, resuming after each; a checkpoint after every step.
dir="$WORK/killed"
kills=0
inside_write=0
for round in $(seq 10); do
  if [ -s "$dir/checkpoint.pt" ]; then
    "$DEEPGEN" "${RESUME[@]}" --checkpoint-every 1 --out "$dir" >/dev/null 2>"$WORK/kill.err" &
  else
    "$DEEPGEN" "${TRAIN[@]}" --checkpoint-every 1 --out "$dir" >/dev/null 2>"$WORK/kill.err" &
  fi
  pid=$!
  # The first run is killed only once it has written a checkpoint (on a loaded machine, reading the data
  # can outlast any fixed delay, and a run killed before its first checkpoint has nothing to resume).
  # Then 0.5-1.9 s: short enough that at least 3 kills land before a fast engine finishes the run (with
  # 1-3.4 s, LibTorch 2.15 once finished it after 2), long enough to get past the start most rounds.
  [ "$round" -eq 1 ] && wait_for_checkpoint "$dir"
  sleep "$(( (RANDOM % 15) + 5 ))e-1"
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  rc=$?
  ls "$dir" | grep -q 'checkpoint.pt.tmp.' && inside_write=$((inside_write + 1))
  # Killed (137), or finished before the kill (0); an error (1) means the run could not resume, except
  # after a kill that landed once the last checkpoint was written: the run had finished, and this
  # round's --resume says so.
  if [ $rc -eq 1 ] && grep -q "has already completed 2 epochs" "$WORK/kill.err"; then break; fi
  if [ $rc -ne 137 ] && [ $rc -ne 0 ]; then fail "kill round $round: exit $rc"; cat "$WORK/kill.err"; fi
  [ $rc -eq 0 ] && break
done
[ $kills -ge 3 ] && pass || fail "only $kills kills landed"
if grep '"split":"test"' "$dir/metrics.jsonl" 2>/dev/null | grep -q '"epoch":2,'; then
  [ "$(eval_of "$dir")" = "$REFERENCE" ] && pass || fail "killed run: ends elsewhere"
else
  resume_and_compare "kill -9 x $kills" "$dir"
fi
grep -c '"split":"test"' "$dir/metrics.jsonl" | grep -qx 2 && pass || { fail "killed run: metrics.jsonl"; cat "$dir/metrics.jsonl"; }
ls "$dir" | grep -q '\.tmp\.' && { fail "temporary files left in $dir"; ls "$dir"; } || pass

# A full disk: a run directory on a 1 MB tmpfs holds one checkpoint of this model but not a second beside
# it while it is written; the error names the file, the epoch-1 checkpoint stays and resumes elsewhere.
dir="$WORK/full"
mkdir -p "$dir"
if mount -t tmpfs -o size=1m tmpfs "$dir" 2>/dev/null; then
  "$DEEPGEN" train vae --hidden 32 --latent-dim 4 --train-limit 512 --test-limit 64 --batch-size 64 --epochs 2 \
    --progress none --threads 1 --no-pictures --out "$dir" >/dev/null 2>"$WORK/full.err"
  rc=$?
  [ $rc -eq 1 ] && pass || fail "full disk: exit $rc"
  grep -q "error: cannot write $dir/checkpoint.pt: No space left on device; the previous version, if any, is kept" "$WORK/full.err" \
    && [ "$(grep -c . "$WORK/full.err")" -eq 2 ] && pass || { fail "full disk: message"; cat "$WORK/full.err"; }
  [ "$("$DEEPGEN" eval "$dir" --json 2>/dev/null | grep -c '"epoch": 1')" -eq 1 ] && pass || fail "full disk: the epoch-1 checkpoint is not intact"
  ls "$dir" | grep -q '\.tmp\.' && { fail "full disk: temporary file left"; ls "$dir"; } || pass
  umount "$dir"
else
  echo "skipped the full-disk check: cannot mount a tmpfs here (needs root)"
fi

echo "interrupt: $passes passed, $failures failed ($kills kills, $inside_write of them inside a checkpoint write)"
[ $failures -eq 0 ]
