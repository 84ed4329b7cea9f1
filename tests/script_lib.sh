# Shared by the end-to-end test scripts: the deepgen binary from $1, a skip (exit 77, ctest's
# SKIP_RETURN_CODE) where Debian's Fashion-MNIST is missing, a scratch folder removed on exit, the pass/fail
# counters and the expect_ok / expect_error checks of a command.
DEEPGEN=${1:?usage: $0 path/to/deepgen}
if [ ! -e /usr/share/datasets/fashion-mnist ]; then
  echo "skipped: the runs train on Debian's dataset-fashion-mnist, which is not installed"
  exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "what" "message fragment" command...: non-zero exit (not a signal), one line naming it.
expect_error() {
  local what=$1 fragment=$2
  shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [ $rc -eq 0 ]; then fail "$what: exit 0"; return; fi
  if [ $rc -ge 128 ]; then fail "$what: killed by signal ($rc)"; return; fi
  if ! grep -q -- "$fragment" "$WORK/err"; then fail "$what: stderr lacks '$fragment':"; cat "$WORK/err"; return; fi
  if [ "$(grep -c . "$WORK/err")" -ne 1 ]; then fail "$what: expected one line:"; cat "$WORK/err"; return; fi
  pass
}
expect_ok() {
  local what=$1
  shift
  if "$@" >"$WORK/out" 2>"$WORK/err"; then pass; else fail "$what: exit $?"; cat "$WORK/err"; fi
}
