#!/usr/bin/env bash
# TensorBoard reads what deepgen writes: runs of two families, their event files read back by
# TensorBoard's own reader (PyPI's tensorboard in a virtual environment beside the build, made on first
# use) and compared with metrics.jsonl. Skipped, saying why, where PyPI cannot be reached.
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"
VENV=$(dirname "$DEEPGEN")/venv-tensorboard
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tensorboard" 2>/dev/null; then
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q tensorboard; } >"$WORK/pip.log" 2>&1; then
    echo "skipped: could not install tensorboard from PyPI into $VENV:"; tail -n 3 "$WORK/pip.log"
    exit 77
  fi
fi
TINY=(--train-limit 512 --test-limit 64 --batch-size 32 --epochs 2 --log-every 4 --progress none --threads 1)
"$DEEPGEN" train vae "${TINY[@]}" --hidden 32 --out "$WORK/vae" >/dev/null 2>"$WORK/err" && pass || { fail "train vae"; cat "$WORK/err"; }
"$DEEPGEN" train gan --arch mlp --hidden 16 "${TINY[@]}" --out "$WORK/gan" >/dev/null 2>"$WORK/err" && pass || { fail "train gan"; cat "$WORK/err"; }
for run in vae gan; do
  "$VENV/bin/python" "$(dirname "$0")/read_events.py" "$WORK/$run" && pass || fail "$run: TensorBoard read back something else"
done
echo "tensorboard: $passes passed, $failures failed"
[ $failures -eq 0 ]
