#!/usr/bin/env bash
# examples/train_and_evaluate starts, resumes and evaluates a run through the library API; its run must
# end as the CLI's would (2 epochs, a checkpoint, a test loss that evaluate_run reproduces).
set -u
EXAMPLE=${1:?usage: example_test.sh path/to/train_and_evaluate}
if [ ! -e /usr/share/datasets/fashion-mnist ]; then echo "skipped: dataset-fashion-mnist is not installed"; exit 77; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OMP_NUM_THREADS=1 "$EXAMPLE" "$WORK/run" --quick >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
cat "$WORK/out"
failures=0
grep -q '^trained 1 epoch' "$WORK/out" || { echo "FAIL: no 'trained 1 epoch' line"; failures=$((failures + 1)); }
grep -q '^resumed to 2 epochs' "$WORK/out" || { echo "FAIL: no 'resumed to 2 epochs' line"; failures=$((failures + 1)); }
[ -s "$WORK/run/checkpoint.pt" ] || { echo "FAIL: no checkpoint"; failures=$((failures + 1)); }
[ "$(grep -c '"split":"test"' "$WORK/run/metrics.jsonl")" -eq 2 ] || { echo "FAIL: metrics.jsonl lacks 2 test lines"; failures=$((failures + 1)); }
# The evaluation's loss is the last test line's (the same data, the same seeded evaluation noise).
resumed=$(sed -n 's/^resumed to 2 epochs, test loss //p' "$WORK/out")
evaluated=$(sed -n 's/^evaluated on 128 test images: loss //p' "$WORK/out")
[ -n "$evaluated" ] && [ "$resumed" = "$evaluated" ] || { echo "FAIL: evaluate_run gave '$evaluated', the run's last test loss was '$resumed'"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "example: passed" || exit 1
