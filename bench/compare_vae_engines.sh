#!/usr/bin/env bash
# deepgen on both LibTorch engines against PyTorch on both, eager and compiled: seconds per training epoch
# of the dense 784-400-20 VAE on Fashion-MNIST (the model, loss and loop of bench/compare_vae_cpu.sh).
# Every program runs REPEATS times, in turn, EPOCHS epochs each, on THREADS threads; prints the median
# seconds per epoch of each and its ratio to each deepgen (>1: deepgen is faster). The programs:
#   deepgen 1.13      build/deepgen (make build; DEEPGEN_DEBIAN=... for another), Debian's LibTorch 1.13.1
#   deepgen 2.15      build-pip/deepgen (make build TORCH=pip; DEEPGEN_PIP=...), PyPI's LibTorch
#   pytorch 1.13      bench/vae_peer.py on Debian's python3-torch (skipped when it is not installed)
#   pytorch 2.15      bench/vae_peer.py in build-venv (TORCH_VENV=...), eager
#   compiled 2.15     the same with --compile (torch.compile, default mode; Inductor's C++/OpenMP kernels)
#   max-autotune 2.15 the same with --compile max-autotune, when MAX_AUTOTUNE=1
#   bench/compare_vae_engines.sh [THREADS] [REPEATS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
THREADS=${1:-1}
REPEATS=${2:-3}
EPOCHS=${3:-3}
DEEPGEN_DEBIAN=${DEEPGEN_DEBIAN:-build/deepgen}
DEEPGEN_PIP=${DEEPGEN_PIP:-build-pip/deepgen}
VENV_PYTHON=${TORCH_VENV:-build-venv}/bin/python
for program in "$DEEPGEN_DEBIAN" "$DEEPGEN_PIP" "$VENV_PYTHON"; do
  [ -x "$program" ] || { echo "compare_vae_engines: needs $program: run make build and make build TORCH=pip" >&2; exit 1; }
done
names=("deepgen 1.13" "deepgen 2.15")
"$PYTHON" -c 'import torch' 2>/dev/null && names+=("pytorch 1.13")
names+=("pytorch 2.15" "compiled 2.15")
[ "${MAX_AUTOTUNE:-0}" != 1 ] || names+=("max-autotune 2.15")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
# run NAME RUN: appends the seconds of each epoch of one run of program NAME to $work/NAME.txt
run() {
  local file="$work/${1// /_}.txt" out="$work/run$2"
  case "$1" in
    deepgen*)
      local binary=$DEEPGEN_DEBIAN
      [ "$1" = "deepgen 1.13" ] || binary=$DEEPGEN_PIP
      rm -rf "$out"
      "$binary" train vae --epochs "$EPOCHS" --threads "$THREADS" --progress none --no-pictures --out "$out" >/dev/null 2>&1
      epoch_seconds "$out" >>"$file" ;;
    "pytorch 1.13") "$PYTHON" bench/vae_peer.py --epochs "$EPOCHS" --threads "$THREADS" | peer_seconds >>"$file" ;;
    "pytorch 2.15") "$VENV_PYTHON" -W ignore bench/vae_peer.py --epochs "$EPOCHS" --threads "$THREADS" | peer_seconds >>"$file" ;;
    "compiled 2.15") "$VENV_PYTHON" -W ignore bench/vae_peer.py --epochs "$EPOCHS" --threads "$THREADS" --compile | peer_seconds >>"$file" ;;
    "max-autotune 2.15") "$VENV_PYTHON" -W ignore bench/vae_peer.py --epochs "$EPOCHS" --threads "$THREADS" --compile max-autotune | peer_seconds >>"$file" ;;
  esac
}
for r in $(seq "$REPEATS"); do
  for name in "${names[@]}"; do run "$name" "$r"; done
done
echo "machine: $(nproc --all) cores, $(cpu_model); $(date -u +%Y-%m-%d)"
echo "threads: $THREADS, $REPEATS runs x $EPOCHS epochs each, median seconds per epoch (a compiled run's first epoch includes the compilation)"
d113=$(median "$work/deepgen_1.13.txt")
d215=$(median "$work/deepgen_2.15.txt")
printf '| program | s/epoch | / deepgen 1.13 | / deepgen 2.15 |\n| --- | --- | --- | --- |\n'
for name in "${names[@]}"; do
  m=$(median "$work/${name// /_}.txt")
  printf '| %s | %.2f | %.2fx | %.2fx |\n' "$name" "$m" "$(echo "$m / $d113" | bc -l)" "$(echo "$m / $d215" | bc -l)"
done
