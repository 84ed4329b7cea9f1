#!/usr/bin/env bash
# The one-shot GPU check (docs/speed.md, "The GPU"). Two steps:
#
#   scripts/gpu_check.sh pack     here, on Debian 12 with network: writes build-gpu-carry/ (ignored, about
#                                 45 MB): the Debian packages of the build dependencies that a machine with
#                                 only PyTorch lacks (protobuf, libzip, nlohmann-json, OpenSSL, crcutil,
#                                 Gloo's headers, CLI11, stb, zlib), Fashion-MNIST, the fortunes' cookie file
#                                 and the natural images (make images first).
#   scripts/gpu_check.sh [STAGES] on the GPU machine (python3 with PyTorch 2.x and CUDA, CMake, g++, no
#                                 package registry), with build-gpu-carry/ carried beside the working tree.
#                                 STAGES (default: all of them, in this order):
#       build   unpack the packages into build-gpu-carry/root (no root file system touched), configure and
#               build deepgen against python3's LibTorch in build-gpu/
#       test    the unit tests (deepgen_tests; the device-parameterized cases run on CUDA there)
#       train   every model family one short epoch with --device cuda, then eval of each run
#       bench   the GPU benches side by side with PyTorch: bench/compare_gpu.sh
# PYTHON_GPU (default python3) is the Python whose torch to build against; DEVICE (default cuda) the
# device of the train stage: `PYTHON_GPU=build-venv/bin/python DEVICE=cpu scripts/gpu_check.sh build train`
# is the dry run of this script on a machine without a GPU (DEVELOPERS.md).
# Everything it prints goes to stdout and, when OUT is set (the device tool's result folder), to
# $OUT/gpu_check.log. It stops at the first failing stage. Sized for well under 10 minutes on an
# H100/H200 machine with 16 cores; the bench stage is the longest.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$0")/.."
CARRY=build-gpu-carry
BUILD=build-gpu
PY=${PYTHON_GPU:-python3}
DEVICE=${DEVICE:-cuda}
PACKAGES=(libprotobuf-dev libprotobuf32 protobuf-compiler libprotoc32 libzip-dev libzip4 nlohmann-json3-dev
          libssl-dev libssl3 libcrcutil-dev libcrcutil0 libgloo-dev libcli11-dev libstb-dev libstb0 zlib1g-dev zlib1g)

pack() {
  [ -d data/natural/train ] || { echo "gpu_check pack: needs data/natural: run make images first" >&2; exit 1; }
  rm -rf "$CARRY"
  mkdir -p "$CARRY/debs" "$CARRY/data"
  (cd "$CARRY/debs" && apt-get download "${PACKAGES[@]}" >/dev/null 2>&1) ||
    { echo "gpu_check pack: apt-get download failed (run apt-get update first)" >&2; exit 1; }
  cp -r /usr/share/datasets/fashion-mnist "$CARRY/data/fashion-mnist"
  cp /usr/share/games/fortunes/cookie "$CARRY/data/cookie"
  cp -r data/natural "$CARRY/data/natural"
  du -sh "$CARRY"
}

log() { if [ -n "${OUT:-}" ]; then tee -a "$OUT/gpu_check.log"; else cat; fi; }
stage() { echo "=== gpu_check: $1 ($(date -u +%H:%M:%S))"; }
# as_installed: the carried data where deepgen and its tests look for it (the default paths of a Debian
# install); root on the GPU machine.
as_installed() {
  mkdir -p /usr/share/datasets /usr/share/games/fortunes data
  [ -e /usr/share/datasets/fashion-mnist ] || cp -r "$CARRY/data/fashion-mnist" /usr/share/datasets/
  [ -e /usr/share/games/fortunes/cookie ] || cp "$CARRY/data/cookie" /usr/share/games/fortunes/
  [ -d data/natural ] || cp -r "$CARRY/data/natural" data/
}

build() {
  stage build
  local root=$PWD/$CARRY/root torch_prefix
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$CARRY"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  torch_prefix=$("$PY" -W ignore -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  "$PY" -W ignore -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda,
      "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
  ! command -v nvidia-smi >/dev/null || nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  # pkg-config (crcutil): the carried .pc files, their /usr paths read inside the carried root
  export PKG_CONFIG_PATH=$root/usr/lib/x86_64-linux-gnu/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
  rm -rf "$BUILD"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix;$root/usr" \
    -DProtobuf_PROTOC_EXECUTABLE="$root/usr/bin/protoc" -DProtobuf_INCLUDE_DIR="$root/usr/include" >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" 2>&1 | grep -E "error|warning: unused|Linking CXX executable" || true
  [ -x "$BUILD/deepgen" ] && [ -x "$BUILD/tests/deepgen_tests" ] || { echo "gpu_check: the build failed" >&2; exit 1; }
}

with_build_env() { export LD_LIBRARY_PATH=$PWD/$CARRY/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; }

unit_tests() {
  stage test
  with_build_env
  as_installed
  # The GoogleTest cases only: the shell tests of ctest need tools of a Debian install (chromium, ip, torchrun).
  (cd "$BUILD" && ctest -j"$(nproc)" --output-on-failure --timeout 300 -R '[.]' 2>&1 | tail -n 25)
  "$BUILD/tests/deepgen_tests" --gtest_filter='*Device*:*Cuda*:*CUDA*' 2>&1 | grep -E "^\[ +(OK|SKIPPED|FAILED|PASSED) " || true
}

train_each() {
  stage train
  with_build_env
  as_installed
  local d=$BUILD/gpu-runs
  rm -rf "$d" && mkdir -p "$d"
  local q=(--epochs 1 --train-limit 4096 --test-limit 512 --progress none --no-report)
  # NAME KIND FLAGS...: one short epoch on $DEVICE and its test metrics, then eval of the run
  one() {
    local name=$1 kind=$2; shift 2
    local start=$SECONDS
    "$BUILD/deepgen" --device "$DEVICE" train "$kind" "$@" --out "$d/$name" >"$d/$name.log" 2>&1 ||
      { echo "FAILED train $name:"; tail -n 5 "$d/$name.log"; return 1; }
    "$BUILD/deepgen" --device "$DEVICE" eval "$d/$name" >"$d/$name.eval" 2>&1 ||
      { echo "FAILED eval $name:"; tail -n 5 "$d/$name.eval"; return 1; }
    printf '%-14s %4ds  %s\n' "$name" $((SECONDS - start)) "$(grep -m1 '^run ' "$d/$name.log" | sed 's/^run [^:]*: //')"
  }
  local failed=0
  one vae vae "${q[@]}" || failed=1
  one vae-conv vae --arch conv "${q[@]}" || failed=1
  one ae-denoising ae --variant denoising "${q[@]}" || failed=1
  one pca pca "${q[@]}" || failed=1
  one dcgan gan --arch dcgan "${q[@]}" || failed=1
  one cgan gan --arch dcgan --conditional "${q[@]}" || failed=1
  one wgan-gp gan --arch dcgan --loss wgan-gp "${q[@]}" || failed=1
  one stylegan gan --arch stylegan --image-size 32 "${q[@]}" || failed=1
  one lenet5 classifier --arch lenet5 "${q[@]}" || failed=1
  one resnet20 classifier --arch resnet "${q[@]}" || failed=1
  one charlm charlm --text /usr/share/games/fortunes/cookie --epochs 1 --progress none --no-report || failed=1
  one seqclass seqclass --epochs 1 --progress none --no-report || failed=1
  local r=(--epochs 1 --patches 512 --test-patches 64 --progress none --no-report)
  one dncnn-bf16 dncnn --sigma-range 5 50 --precision bf16 "${r[@]}" || failed=1
  one sr sr --scale 2 "${r[@]}" || failed=1
  one inpaint-ae inpaint-ae "${r[@]}" || failed=1
  one colorize colorize "${r[@]}" || failed=1
  one pix2pix pix2pix --epochs 1 --train-limit 512 --test-limit 64 --progress none --no-report || failed=1
  one cyclegan cyclegan --epochs 1 --train-limit 256 --test-limit 64 --progress none --no-report || failed=1
  "$BUILD/deepgen" --device "$DEVICE" train vae --nproc 1 "${q[@]}" --out "$d/vae-nproc1" >"$d/nproc.log" 2>&1 &&
    echo "vae --nproc 1 on $DEVICE: ok" || { echo "FAILED vae --nproc 1:"; tail -n 3 "$d/nproc.log"; failed=1; }
  return $failed
}

gpu_bench() {
  stage bench
  with_build_env
  as_installed
  DEEPGEN=$BUILD/deepgen PYTHON_GPU=$PY bench/compare_gpu.sh
}

case "${1:-}" in
  pack) pack; exit 0 ;;
  --one)  # one stage, with set -e in force (the loop below runs each so, to log it and stop at a failure)
    case "$2" in
      build) build ;;
      test) unit_tests ;;
      train) train_each ;;
      bench) gpu_bench ;;
      *) echo "gpu_check: unknown stage '$2' (build, test, train, bench; or pack)" >&2; exit 2 ;;
    esac
    exit 0 ;;
esac
[ -d "$CARRY/debs" ] || { echo "gpu_check: needs $CARRY/ (scripts/gpu_check.sh pack, here, then carry it)" >&2; exit 1; }
[ -z "${OUT:-}" ] || : >"$OUT/gpu_check.log"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build test train bench)
for s in "${stages[@]}"; do
  set +e
  bash "$SELF" --one "$s" 2>&1 | log
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" -eq 0 ] || { echo "gpu_check: stage $s failed (exit $rc)" | log; exit 1; }
done
echo "gpu_check: all stages passed: ${stages[*]}" | log
