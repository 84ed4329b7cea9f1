#!/usr/bin/env bash
# deepgen report end to end: the trainer's live report.html, `deepgen report` over two runs, checked in a
# real browser where Debian's chromium is installed (the page marks how many charts it drew and how many
# points; no JavaScript error; a screenshot), and bad input.
set -u
# shellcheck source=script_lib.sh
source "$(dirname "$0")/script_lib.sh"

TINY=(--train-limit 256 --test-limit 64 --batch-size 64 --epochs 2 --progress none --threads 1)
"$DEEPGEN" train vae "${TINY[@]}" --hidden 32 --out "$WORK/a" >/dev/null 2>&1 && pass || fail "train a"
"$DEEPGEN" train vae "${TINY[@]}" --hidden 16 --beta 2 --out "$WORK/b" >/dev/null 2>&1 && pass || fail "train b"
[ -s "$WORK/a/report.html" ] && pass || fail "no live report.html in the run"
"$DEEPGEN" train vae "${TINY[@]}" --hidden 16 --no-report --out "$WORK/quiet" >/dev/null 2>&1 && [ ! -e "$WORK/quiet/report.html" ] \
  && pass || fail "--no-report still wrote report.html"
"$DEEPGEN" eval "$WORK/a" >/dev/null 2>&1 && [ -s "$WORK/a/eval.json" ] && pass || fail "eval did not keep eval.json"
"$DEEPGEN" report "$WORK/a" "$WORK/b" --out "$WORK/both.html" >"$WORK/out" 2>"$WORK/err" && pass || { fail "report"; cat "$WORK/err"; }
grep -q '<tr class="differs"><td>model_options.hidden</td><td>32</td><td>16</td></tr>' "$WORK/both.html" && pass \
  || fail "the differing config row is not marked"
grep -q '<script src=\|<link ' "$WORK/both.html" && fail "the page loads something from outside" || pass
grep -q '<h2>Evaluation</h2>' "$WORK/both.html" && grep -q '<tr><td>reconstruction</td><td>[0-9.]*</td></tr>' "$WORK/both.html" \
  && pass || fail "the last eval of run a is not in the page"

# In the browser: vae logs loss, kl, reconstruction (train and test), lr (train) and seconds (both):
# 5 charts; 2 runs x 2 epochs x (2 + 2 + 2 + 1 + 2) = 36 points; and the loss per step, read once per
# epoch here (4 steps an epoch, --log-every 50): 1 chart, 2 runs x 2 points.
if command -v chromium >/dev/null; then
  browse() { timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 "$@"; }
  browse --enable-logging=stderr --v=0 --dump-dom "file://$WORK/both.html" >"$WORK/dom.html" 2>"$WORK/console"
  grep -q 'data-charts-drawn="6"' "$WORK/dom.html" && pass || fail "charts drawn: $(grep -o 'data-charts-drawn="[0-9]*"' "$WORK/dom.html")"
  grep -q 'data-points="40"' "$WORK/dom.html" && pass || fail "points drawn: $(grep -o 'data-points="[0-9]*"' "$WORK/dom.html")"
  grep -i 'uncaught\|console.*error' "$WORK/console" && fail "JavaScript errors" || pass
  browse --window-size=1280,1500 --screenshot="$WORK/report.png" "file://$WORK/both.html" >/dev/null 2>&1
  [ -s "$WORK/report.png" ] && pass || fail "no screenshot"
  [ -n "${REPORT_SCREENSHOT:-}" ] && cp "$WORK/report.png" "$REPORT_SCREENSHOT"
else
  echo "skipped the browser check: Debian's chromium is not installed"
fi

mkdir -p "$WORK/empty"
expect_one_line_error() {
  local what=$1 fragment=$2
  shift 2
  "$@" >/dev/null 2>"$WORK/err"
  local rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$fragment" "$WORK/err" && [ "$(grep -c . "$WORK/err")" -eq 1 ]; then pass; else
    fail "$what (exit $rc):"; cat "$WORK/err"
  fi
}
expect_one_line_error "not a run" "report: $WORK/empty is not a run directory: it has no config.json" "$DEEPGEN" report "$WORK/empty"
cp "$WORK/a/config.json" "$WORK/empty/"
expect_one_line_error "no metrics yet" "has no metrics yet" "$DEEPGEN" report "$WORK/empty"
expect_one_line_error "not html" "--out" "$DEEPGEN" report "$WORK/a" --out "$WORK/x.txt"

echo "report: $passes passed, $failures failed"
[ $failures -eq 0 ]
