#!/usr/bin/env bash
# Installs a deepgen build tree into a temporary prefix, then configures, builds and runs a separate
# CMake project against it with find_package(deepgen), the way a C++ user would.
#
#   install_test.sh BUILD_DIR CONSUMER_SOURCE_DIR PROGRAM EXPECTED_REGEX [ARGS...]
#
# PROGRAM is the consumer's executable (relative to its build directory), run with ARGS (@WORK@ in an
# argument is this script's temporary folder); its standard output must match EXPECTED_REGEX (grep -E).
# The installed CLI must run too (bin/deepgen --help). Exits 77 (skipped) without Fashion-MNIST, which
# the examples train on.
# $CXX, when set, is the compiler for the consumer; ccache is used when installed.
set -eu
BUILD=${1:?usage: install_test.sh BUILD_DIR CONSUMER_SOURCE_DIR PROGRAM EXPECTED_REGEX [ARGS...]}
CONSUMER=${2:?consumer source directory}
PROGRAM=${3:?consumer program}
EXPECTED=${4:?expected output (regex)}
shift 4
if [ ! -e /usr/share/datasets/fashion-mnist ]; then echo "skipped: dataset-fashion-mnist is not installed"; exit 77; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix

step() { echo "== $*"; }
die() { echo "FAIL: $*"; exit 1; }

step "cmake --install $BUILD --prefix $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" || { cat "$WORK/install.log"; die "install"; }
[ -x "$PREFIX/bin/deepgen" ] || die "no bin/deepgen"
"$PREFIX/bin/deepgen" --help >/dev/null || die "installed deepgen --help"
config=$(find "$PREFIX" -name deepgenConfig.cmake)
[ -n "$config" ] || die "no deepgenConfig.cmake"
# The installed package must not point back into the source or build tree, nor carry the PCH.
if grep -rn -e "$(cd "$BUILD" && pwd)/" -e "$(cd "$(dirname "$0")/.." && pwd)/src" -e PRECOMPILE "$(dirname "$config")"; then
  die "the installed CMake files refer to the build tree, the sources or a precompiled header"
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Cache hits across runs although the prefix is a new temporary directory each time.
  export CCACHE_BASEDIR=$WORK CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
fi
compiler=()
if [ -n "${CXX:-}" ]; then compiler=(-DCMAKE_CXX_COMPILER="$CXX"); fi

step "configure $CONSUMER against $PREFIX"
cmake -S "$CONSUMER" -B "$WORK/build" -DCMAKE_PREFIX_PATH="$PREFIX" ${compiler[@]+"${compiler[@]}"} \
  ${launcher[@]+"${launcher[@]}"} >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log"; die "configure"; }
found=$(sed -n 's/^deepgen_DIR:PATH=//p' "$WORK/build/CMakeCache.txt")
case "$found" in "$PREFIX"/*) ;; *) die "find_package(deepgen) found '$found', not the one in $PREFIX" ;; esac

step "build"
cmake --build "$WORK/build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; die "build"; }

args=("${@//@WORK@/$WORK}")
step "run $PROGRAM ${args[*]}"
rc=0
OMP_NUM_THREADS=1 "$WORK/build/$PROGRAM" "${args[@]}" >"$WORK/out" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then cat "$WORK/out"; die "$PROGRAM exited $rc"; fi
cat "$WORK/out"
grep -Eq -- "$EXPECTED" "$WORK/out" || die "output does not match '$EXPECTED'"
echo "PASS"
