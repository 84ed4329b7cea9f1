# Shared by the end-to-end test scripts: the deepgen binary from $1, a skip (exit 77, ctest's
# SKIP_RETURN_CODE) where Debian's Fashion-MNIST is missing, a scratch folder removed on exit, and the
# pass/fail counters.
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
