#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# (library included, in FUZZ_BUILD, default build-fuzz/) and runs each for SECONDS on its corpus
# (FUZZ_BUILD/corpus/<harness>, which grows from run to run, plus the seeds fuzz_seeds writes). Fails
# when any harness reports a crash, a leak, a timeout (10 s an input) or a sanitizer error; the input
# that did it is kept as FUZZ_BUILD/artifacts/<harness>-crash-... and the log as FUZZ_BUILD/logs/<harness>.log.
# Usage: scripts/fuzz.sh SECONDS [HARNESS...]   (harnesses: idx image cifar text checkpoint cli; default all)
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_JOBS (compile jobs, default the cores), CXX (clang++),
# FUZZ_RUNS and FUZZ_SEED (a fixed number of inputs from a fixed seed: the same inputs every time, as CI
# runs it; SECONDS then only caps the time).
set -euo pipefail
seconds=${1:?usage: scripts/fuzz.sh SECONDS [HARNESS...]}
shift
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build-fuzz}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(idx image cifar text checkpoint cli)

command -v "${CXX:-clang++}" >/dev/null || { echo "fuzz.sh: ${CXX:-clang++} not found (apt-get install clang)"; exit 2; }
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DDEEPGEN_FUZZ=ON -DDEEPGEN_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-$(nproc)}" --target fuzzers
rm -rf "$build/seeds"
"$build/fuzz/fuzz_seeds" "$build/seeds" tests/fixtures
mkdir -p "$build/artifacts" "$build/logs"

export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary="$build/logs/summary.txt"
: >"$summary"
for harness in "${harnesses[@]}"; do
  corpus="$build/corpus/$harness"
  mkdir -p "$corpus"
  log="$build/logs/$harness.log"
  # The inputs of past findings (fuzz/regressions/<harness>/) are read first, as part of the corpus.
  regressions=
  [ -d "fuzz/regressions/$harness" ] && regressions="fuzz/regressions/$harness"
  echo "fuzz.sh: $harness for $seconds s"
  status=0
  # FUZZ_RUNS and FUZZ_SEED make a run reproducible (CI): that many inputs from that seed, SECONDS only a cap.
  budget=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && budget+=(-runs="$FUZZ_RUNS")
  [ -n "${FUZZ_SEED:-}" ] && budget+=(-seed="$FUZZ_SEED")
  "$build/fuzz/fuzz_$harness" "${budget[@]}" -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$harness-" "$corpus" "$build/seeds/$harness" $regressions >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
  line="$harness: ${runs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus $(ls "$corpus" | wc -l) files, exit $status"
  echo "$line" | tee -a "$summary"
  if [ $status -ne 0 ]; then
    failed+=("$harness")
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal|uncaught' "$log" | head -20
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (logs in $build/logs, inputs in $build/artifacts)"
  exit 1
fi
echo "fuzz.sh: all ${#harnesses[@]} harnesses ran without a finding"
